using CnnLab.Tensors;

namespace CnnLab.Nn;

// The tensor's arithmetic lives in Tensors (TensorMath) so that Tensors depends on nothing above it; Functional offers
// it under the same names so that every differentiable op can be called from one place, as torch.* does.
public static partial class Functional
{
    /// <summary>a + b with broadcasting (<see cref="TensorMath.Add"/>).</summary>
    public static Tensor Add(Tensor a, Tensor b) => TensorMath.Add(a, b);

    /// <summary>a - b with broadcasting (<see cref="TensorMath.Sub"/>).</summary>
    public static Tensor Sub(Tensor a, Tensor b) => TensorMath.Sub(a, b);

    /// <summary>a ⊙ b with broadcasting (<see cref="TensorMath.Mul"/>).</summary>
    public static Tensor Mul(Tensor a, Tensor b) => TensorMath.Mul(a, b);

    /// <summary>a / b with broadcasting (<see cref="TensorMath.Div"/>).</summary>
    public static Tensor Div(Tensor a, Tensor b) => TensorMath.Div(a, b);

    /// <summary>x + s.</summary>
    public static Tensor AddScalar(Tensor x, float s) => TensorMath.AddScalar(x, s);

    /// <summary>x · s.</summary>
    public static Tensor MulScalar(Tensor x, float s) => TensorMath.MulScalar(x, s);

    /// <summary>-x.</summary>
    public static Tensor Neg(Tensor x) => TensorMath.Neg(x);

    /// <summary>Matrix product of a [M, K] and b [K, N] (<see cref="TensorMath.Matmul"/>).</summary>
    public static Tensor Matmul(Tensor a, Tensor b) => TensorMath.Matmul(a, b);

    /// <summary>The transpose of a matrix.</summary>
    public static Tensor Transpose(Tensor x) => TensorMath.Transpose(x);

    /// <summary>Sum of all elements (a scalar).</summary>
    public static Tensor Sum(Tensor x) => TensorMath.Sum(x);

    /// <summary>Mean of all elements (a scalar).</summary>
    public static Tensor Mean(Tensor x) => TensorMath.Mean(x);

    /// <summary>Sum along <paramref name="axis"/>.</summary>
    public static Tensor Sum(Tensor x, int axis, bool keepDim = false) => TensorMath.Sum(x, axis, keepDim);

    /// <summary>Mean along <paramref name="axis"/>.</summary>
    public static Tensor Mean(Tensor x, int axis, bool keepDim = false) => TensorMath.Mean(x, axis, keepDim);

    /// <summary>xᵖ elementwise.</summary>
    public static Tensor Pow(Tensor x, float p) => TensorMath.Pow(x, p);

    /// <summary>eˣ elementwise.</summary>
    public static Tensor Exp(Tensor x) => TensorMath.Exp(x);

    /// <summary>ln x elementwise.</summary>
    public static Tensor Log(Tensor x) => TensorMath.Log(x);
}
