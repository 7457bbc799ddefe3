namespace CnnLab.Kernels;

/// <summary>
/// What <see cref="Gemm.Sgemm(bool, bool, int, int, int, float, ReadOnlySpan{float}, int, ReadOnlySpan{float}, int,
/// float, Span{float}, int, GemmEpilogue)"/> does to a tile of C while it is still in registers:
/// C = act(alpha·op(A)·op(B) + beta·C + bias), where bias is per row (length M, e.g. a conv's
/// per-output-channel bias when C is channels x pixels) or per column (length N, e.g. Linear's bias
/// when C is batch x features), and act is ReLU or the identity. Saves a pass over C per fused op.
/// </summary>
/// <remarks>PyTorch: no public equivalent (oneDNN's post-ops; <c>torch.addmm</c> covers the column bias).</remarks>
public readonly ref struct GemmEpilogue
{
    /// <summary>Per-row bias (length M), or empty.</summary>
    public ReadOnlySpan<float> RowBias { get; init; }

    /// <summary>Per-column bias (length N), or empty.</summary>
    public ReadOnlySpan<float> ColBias { get; init; }

    /// <summary>Apply ReLU, max(x, 0), after the bias.</summary>
    public bool Relu { get; init; }

    /// <summary>No epilogue: plain sgemm.</summary>
    public static GemmEpilogue None => default;

    /// <summary>Adds <paramref name="bias"/>[i] to row i of C, then ReLU if asked.</summary>
    public static GemmEpilogue WithRowBias(ReadOnlySpan<float> bias, bool relu = false) => new() { RowBias = bias, Relu = relu };

    /// <summary>Adds <paramref name="bias"/>[j] to column j of C, then ReLU if asked.</summary>
    public static GemmEpilogue WithColBias(ReadOnlySpan<float> bias, bool relu = false) => new() { ColBias = bias, Relu = relu };

    /// <summary>ReLU only.</summary>
    public static GemmEpilogue WithRelu() => new() { Relu = true };

    internal bool IsNone => RowBias.IsEmpty && ColBias.IsEmpty && !Relu;

    internal void Validate(int m, int n)
    {
        if (!RowBias.IsEmpty && !ColBias.IsEmpty) throw new ArgumentException("GEMM epilogue: give a row bias or a column bias, not both");
        if (!RowBias.IsEmpty && RowBias.Length != m)
            throw new ArgumentException($"GEMM epilogue: row bias has {RowBias.Length} elements, expected M = {m}");
        if (!ColBias.IsEmpty && ColBias.Length != n)
            throw new ArgumentException($"GEMM epilogue: column bias has {ColBias.Length} elements, expected N = {n}");
    }
}
