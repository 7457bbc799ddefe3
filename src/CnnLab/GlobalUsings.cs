// System.Numerics.Tensors also defines a Tensor type; CnnLab uses only its TensorPrimitives.
global using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
