namespace CnnLab.Tensors;

public partial class Tensor
{
    /// <summary>
    /// The same elements with a new shape, sharing storage (a view). One dimension may be -1 and is
    /// inferred. Gradients flow back through the view.
    /// </summary>
    public Tensor Reshape(params int[] shape)
    {
        var resolved = ResolveShape(shape);
        var y = ViewAs(resolved);
        y.Name = Name;
        var source = this;
        return Autograd.Record(y, "ViewBackward", [source], dy => [dy.ViewAs(source.Shape)]);
    }

    /// <summary>Alias of <see cref="Reshape"/> (every CnnLab tensor is contiguous, so views always succeed).</summary>
    public Tensor View(params int[] shape) => Reshape(shape);

    /// <summary>Flattens dims <paramref name="startDim"/>..<paramref name="endDim"/> into one, like <c>torch.flatten</c>.</summary>
    public Tensor Flatten(int startDim = 0, int endDim = -1)
    {
        if (Rank == 0) return Reshape(1);
        int s = Tensors.Shape.NormalizeAxis(startDim, Rank), e = Tensors.Shape.NormalizeAxis(endDim, Rank);
        if (s > e) throw new ArgumentException($"flatten startDim {startDim} is after endDim {endDim}");
        var shape = new List<int>();
        for (int i = 0; i < s; i++) shape.Add(Shape[i]);
        int merged = 1;
        for (int i = s; i <= e; i++) merged *= Shape[i];
        shape.Add(merged);
        for (int i = e + 1; i < Rank; i++) shape.Add(Shape[i]);
        return Reshape([.. shape]);
    }

    private int[] ResolveShape(int[] shape)
    {
        var resolved = (int[])shape.Clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < resolved.Length; i++)
        {
            if (resolved[i] == -1)
            {
                if (infer >= 0) throw new ArgumentException($"only one dimension can be -1 in {Tensors.Shape.Format(shape)}");
                infer = i;
            }
            else if (resolved[i] < 0) throw new ArgumentException($"invalid dimension {resolved[i]} in {Tensors.Shape.Format(shape)}");
            else known *= resolved[i];
        }
        if (infer >= 0)
        {
            if (known == 0 || Numel % known != 0)
                throw new ArgumentException($"shape {Tensors.Shape.Format(shape)} is invalid for a tensor of {Numel} elements");
            resolved[infer] = (int)(Numel / known);
        }
        else if (known != Numel)
            throw new ArgumentException(
                $"shape {Tensors.Shape.Format(shape)} is invalid for a tensor of {Numel} elements (shape {Tensors.Shape.Format(Shape)})");
        return resolved;
    }

    /// <summary>Rows [start, start+length) along the first (batch) axis, copied; differentiable.</summary>
    public Tensor Slice(int start, int length)
    {
        if (Rank == 0) throw new InvalidOperationException("cannot slice a scalar");
        if (start < 0 || length < 0 || start + length > Shape[0])
            throw new ArgumentOutOfRangeException(nameof(start), $"slice [{start}, {start + length}) is out of range for dim 0 of size {Shape[0]}");
        int row = Numel / Math.Max(1, Shape[0]);
        var shape = (int[])Shape.Clone();
        shape[0] = length;
        var y = new Tensor(shape);
        Elements.Slice(start * row, length * row).CopyTo(y.Elements);
        var source = this;
        return Autograd.Record(y, "SliceBackward", [source], dy =>
        {
            var dx = new Tensor(source.Shape);
            dy.Elements.CopyTo(dx.Elements.Slice(start * row, length * row));
            return [dx];
        });
    }

    /// <summary>Row <paramref name="index"/> of the first axis, with that axis removed (like <c>x[i]</c>).</summary>
    [System.Runtime.CompilerServices.IndexerName("At")]
    public Tensor this[int index]
    {
        get
        {
            if (Rank == 0) throw new InvalidOperationException("cannot index a scalar");
            int i = index < 0 ? index + Shape[0] : index;
            if (i < 0 || i >= Shape[0]) throw new IndexOutOfRangeException($"index {index} is out of range for dim 0 of size {Shape[0]}");
            return Slice(i, 1).Reshape(Shape[1..]);
        }
    }

    // Operators, for readable math in user code and tests.
    public static Tensor operator +(Tensor a, Tensor b) => TensorMath.Add(a, b);
    public static Tensor operator -(Tensor a, Tensor b) => TensorMath.Sub(a, b);
    public static Tensor operator *(Tensor a, Tensor b) => TensorMath.Mul(a, b);
    public static Tensor operator /(Tensor a, Tensor b) => TensorMath.Div(a, b);
    public static Tensor operator +(Tensor a, float s) => TensorMath.AddScalar(a, s);
    public static Tensor operator -(Tensor a, float s) => TensorMath.AddScalar(a, -s);
    public static Tensor operator *(Tensor a, float s) => TensorMath.MulScalar(a, s);
    public static Tensor operator *(float s, Tensor a) => TensorMath.MulScalar(a, s);
    public static Tensor operator /(Tensor a, float s) => TensorMath.MulScalar(a, 1f / s);
    public static Tensor operator -(Tensor a) => TensorMath.Neg(a);

    public Tensor Sum() => TensorMath.Sum(this);
    public Tensor Mean() => TensorMath.Mean(this);
    public Tensor Sum(int axis, bool keepDim = false) => TensorMath.Sum(this, axis, keepDim);
    public Tensor Mean(int axis, bool keepDim = false) => TensorMath.Mean(this, axis, keepDim);
    public Tensor Matmul(Tensor other) => TensorMath.Matmul(this, other);
    public Tensor Pow(float p) => TensorMath.Pow(this, p);
}
