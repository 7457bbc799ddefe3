using System.Globalization;
using System.Text;

namespace CnnLab.Tensors;

/// <summary>
/// An n-dimensional array of float32, contiguous and row-major (NCHW for images), that can record
/// the operations applied to it so that <see cref="Backward"/> computes gradients.
/// </summary>
/// <remarks>PyTorch: <c>torch.Tensor</c> restricted to float32, contiguous memory and the CPU.
/// Views (<see cref="Reshape"/>) share storage with their source, as in PyTorch.</remarks>
public partial class Tensor
{
    private readonly int[] _shape;

    /// <summary>
    /// Wraps <paramref name="storage"/> (not copied) as a tensor of <paramref name="shape"/>. You keep the array, so the
    /// library cannot see your writes to it: what inference prepares from this tensor is compared with it on every call.
    /// </summary>
    public Tensor(float[] storage, params int[] shape) : this(storage, shape, lease: null) => _handedOut = true;

    // An op's output, or (with its owner) a view of a tensor: shares the lease of a buffer from the CachingAllocator.
    private Tensor(float[] storage, int[] shape, CachingAllocator.Lease? lease, Tensor? owner = null)
    {
        ArgumentNullException.ThrowIfNull(storage);
        _shape = (int[])shape.Clone();
        Numel = Tensors.Shape.Numel(_shape);
        if (storage.Length < Numel)
            throw new ArgumentException(
                $"storage of {storage.Length} floats is too small for shape {Tensors.Shape.Format(_shape)} ({Numel} elements)");
        _storage = storage;
        _lease = lease;
        _owner = owner?.Owner;
    }

    /// <summary>A zero-filled tensor of <paramref name="shape"/>.</summary>
    public Tensor(params int[] shape) : this(new float[Tensors.Shape.Numel(shape)], shape, lease: null) { }

    /// <summary>A tensor on <paramref name="source"/>'s storage, with its shape (a parameter made from a tensor).</summary>
    protected Tensor(Tensor source) : this(source._storage, source._shape, source._lease, source) =>
        source._lease?.Escape();   // never recycled while the new tensor may outlive the op that made it

    private readonly float[] _storage;
    // Keeps an op's buffer from being recycled while this tensor (or a view sharing it) is reachable.
    private readonly CachingAllocator.Lease? _lease;

    /// <summary>
    /// The backing array; may be longer than <see cref="Numel"/>. Shared by views. Taking it hands the array
    /// to you for good: the <see cref="CachingAllocator"/> never recycles it afterwards, and inference compares what it
    /// prepares from these values with them on every call (<see cref="Data"/>).
    /// </summary>
    public float[] Storage
    {
        get
        {
            _lease?.Escape();
            HandOut();
            return _storage;
        }
    }

    // The backing array for the library's own ops, which use it only while they hold this tensor.
    internal float[] Buffer => _storage;

    // Hands this tensor's buffer back to the CachingAllocator now (see CachingAllocator.Recycle); the tensor must not be read again.
    internal void RecycleStorage()
    {
        if (_lease is not null) CachingAllocator.Recycle(_lease);
    }

    // A view of this tensor's storage with another shape (the same lease, so the buffer lives while either does).
    internal Tensor ViewAs(int[] shape) => new(_storage, shape, _lease, this);

    /// <summary>The dimensions, outermost first. Do not modify the returned array.</summary>
    public int[] Shape => _shape;

    /// <summary>Number of dimensions.</summary>
    public int Rank => _shape.Length;

    /// <summary>Number of elements (product of the dimensions; 1 for a scalar of shape []).</summary>
    public int Numel { get; }

    /// <summary>
    /// The elements, row-major, to read and write. The span is valid while this tensor is reachable: an op's buffer is
    /// recycled once no tensor refers to it (<see cref="CachingAllocator"/>), so keep the tensor (or <c>GC.KeepAlive</c> it)
    /// while you use the span. Since the library cannot see writes through a span, taking it marks the storage (this tensor's
    /// and its views') as written by you: inference then compares what it prepares from these values (a convolution's packed
    /// weights, a batch norm folded into them) with them on every call, where it otherwise checks them once after each write
    /// it makes or sees. To only read, use <see cref="Values"/>.
    /// </summary>
    public Span<float> Data
    {
        get
        {
            HandOut();
            return _storage.AsSpan(0, Numel);
        }
    }

    /// <summary>The elements, row-major, read-only (valid as <see cref="Data"/>'s span is); taking them marks nothing.</summary>
    public ReadOnlySpan<float> Values => _storage.AsSpan(0, Numel);

    // The elements for the library's own ops, which report their writes to a module's parameters and buffers (NoteWrite).
    internal Span<float> Elements => _storage.AsSpan(0, Numel);

    /// <summary>Size of dimension <paramref name="axis"/> (negative counts from the end).</summary>
    public int Size(int axis) => _shape[Tensors.Shape.NormalizeAxis(axis, Rank)];

    /// <summary>An optional name used in error messages and reports (e.g. the parameter's state_dict key).</summary>
    public string? Name { get; set; }

    // ---- creation -------------------------------------------------------------------------

    public static Tensor Zeros(params int[] shape) => new(shape);

    // An op's output or gradient: storage from the open TensorArena scope if any, else from the
    // CachingAllocator (contents undefined unless zeroed: the op must write every element).
    internal static Tensor ForOp(int[] shape, bool zeroed = false)
    {
        int length = Tensors.Shape.Numel(shape);
        if (TensorArena.TryRent(length, zeroed, out var pooled)) return new Tensor(pooled, shape, lease: null);
        var buffer = CachingAllocator.Rent(length, zeroed, out var lease);
        return new Tensor(buffer, shape, lease);
    }

    public static Tensor Ones(params int[] shape) => Full(1f, shape);

    public static Tensor Full(float value, params int[] shape)
    {
        var t = new Tensor(shape);
        t.Elements.Fill(value);
        return t;
    }

    /// <summary>A scalar (shape []) tensor.</summary>
    public static Tensor Scalar(float value) => new([value], [], lease: null);

    /// <summary>Copies <paramref name="values"/> into a new tensor of <paramref name="shape"/> (1-D when no shape is given).</summary>
    public static Tensor FromArray(float[] values, params int[] shape)
    {
        if (shape.Length == 0) shape = [values.Length];
        int n = Tensors.Shape.Numel(shape);
        if (n != values.Length)
            throw new ArgumentException($"{values.Length} values do not fill shape {Tensors.Shape.Format(shape)} ({n} elements)");
        return new Tensor((float[])values.Clone(), shape, lease: null);
    }

    /// <summary>[start, start+step, ...) below <paramref name="end"/>, like <c>torch.arange</c>.</summary>
    public static Tensor Arange(float start, float end, float step = 1f)
    {
        if (step == 0) throw new ArgumentException("step must be non-zero", nameof(step));
        int n = Math.Max(0, (int)Math.Ceiling((end - start) / step));
        var t = new Tensor(n);
        for (int i = 0; i < n; i++) t._storage[i] = start + i * step;
        return t;
    }

    public static Tensor Arange(int end) => Arange(0, end);

    /// <summary>U[0, 1), like <c>torch.rand</c>.</summary>
    public static Tensor Rand(Generator generator, params int[] shape)
    {
        var t = new Tensor(shape);
        generator.FillUniform(t.Elements, 0f, 1f);
        return t;
    }

    /// <summary>N(0, 1), like <c>torch.randn</c>.</summary>
    public static Tensor Randn(Generator generator, params int[] shape)
    {
        var t = new Tensor(shape);
        generator.FillNormal(t.Elements, 0f, 1f);
        return t;
    }

    /// <summary>A tensor of the same shape, zero-filled.</summary>
    public Tensor ZerosLike() => new(_shape);

    /// <summary>A copy with its own storage, not attached to the graph.</summary>
    public Tensor Clone()
    {
        var t = new Tensor(_shape);
        Elements.CopyTo(t.Elements);
        GC.KeepAlive(this);
        return t;
    }

    // A copy whose buffer the CachingAllocator recycles once it is unreferenced (never from a TensorArena:
    // a parameter's gradient outlives any scope).
    internal Tensor CloneRecycled()
    {
        var buffer = CachingAllocator.Rent(Numel, clear: false, out var lease);
        Elements.CopyTo(buffer);
        GC.KeepAlive(this);
        return new Tensor(buffer, _shape, lease);
    }

    /// <summary>The elements as a new array.</summary>
    public float[] ToArray()
    {
        var copy = Elements.ToArray();
        GC.KeepAlive(this);
        return copy;
    }

    /// <summary>The value of a one-element tensor.</summary>
    public float Item()
    {
        if (Numel != 1) throw new InvalidOperationException($"Item() needs a one-element tensor, this one has shape {Tensors.Shape.Format(_shape)}");
        return _storage[0];
    }

    /// <summary>Element at a full index (row-major).</summary>
    [System.Runtime.CompilerServices.IndexerName("At")]
    public float this[params int[] index]
    {
        get => _storage[FlatIndex(index)];
        set
        {
            _storage[FlatIndex(index)] = value;
            NoteWrite();
        }
    }

    private int FlatIndex(int[] index)
    {
        if (index.Length != Rank)
            throw new ArgumentException($"index of rank {index.Length} for a tensor of shape {Tensors.Shape.Format(_shape)}");
        int flat = 0;
        for (int i = 0; i < index.Length; i++)
        {
            int d = index[i] < 0 ? index[i] + _shape[i] : index[i];
            if (d < 0 || d >= _shape[i])
                throw new IndexOutOfRangeException($"index {index[i]} is out of range for dim {i} of size {_shape[i]}");
            flat = flat * _shape[i] + d;
        }
        return flat;
    }

    /// <summary>PyTorch-like text: values (summarized past 1000 elements), shape and grad status.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder("tensor(");
        if (Rank == 0) sb.Append(Format(_storage[0]));
        else AppendRows(sb, 0, 0, Numel > 1000);
        sb.Append(", shape=").Append(Tensors.Shape.Format(_shape));
        if (GradFn is not null) sb.Append(", grad_fn=").Append(GradFn.Name);
        else if (RequiresGrad) sb.Append(", requires_grad=True");
        return sb.Append(')').ToString();
    }

    private static string Format(float v) => v.ToString("0.0000", CultureInfo.InvariantCulture);

    private void AppendRows(StringBuilder sb, int axis, int offset, bool summarize)
    {
        int n = _shape[axis];
        int stride = 1;
        for (int i = axis + 1; i < Rank; i++) stride *= _shape[i];
        sb.Append('[');
        for (int i = 0; i < n; i++)
        {
            if (summarize && n > 6 && i == 3)
            {
                sb.Append("..., ");
                i = n - 3;
            }
            if (axis == Rank - 1) sb.Append(Format(_storage[offset + i]));
            else AppendRows(sb, axis + 1, offset + i * stride, summarize);
            if (i < n - 1) sb.Append(axis == Rank - 1 ? ", " : ",\n" + new string(' ', 8 + axis));
        }
        sb.Append(']');
    }
}
