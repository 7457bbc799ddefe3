using System.Buffers;

namespace CnnLab.Kernels;

// Legend as in Winograd3x3.cs; R the rows of each U_ξ (the outputs: OCg forward, Cg for dx), K its columns (the
// channels summed), RB = ⌈R/8⌉ blocks of 8 rows.

/// <summary>
/// U_ξ = (G·g·Gᵀ)_ξ of each group's kernels, packed for <see cref="WinogradBlock"/>'s multiply: the forward's
/// [OCg, Cg] from g = w[o, c], or the input gradient's [Cg, OCg] from the kernels turned by 180° (dx is the
/// convolution of dy with them). Layout [G][16][RB][K][8]: for each position ξ and block of 8 rows, the 8 rows'
/// values for one column k side by side, so the multiply broadcasts them in turn; rows past R are zero.
/// The buffer is rented from the shared pool: dispose to return it.
/// </summary>
internal sealed unsafe class WinogradWeights : IDisposable
{
    /// <summary>Rows of a packed block: the multiply's register tile is 8 rows high.</summary>
    public const int BlockRows = 8;

    public readonly int Groups, Rows, K, RowBlocks;
    private float[]? _data;

    public WinogradWeights(in Conv2dGeometry g, ReadOnlySpan<float> w, bool inputGradient)
    {
        int cg = g.Cg, ocg = g.OCg;
        if (w.Length < g.OC * cg * 9) throw new ArgumentException($"w has {w.Length} elements, needs {g.OC * cg * 9}");
        (Groups, Rows, K) = (g.G, inputGradient ? cg : ocg, inputGradient ? ocg : cg);
        RowBlocks = (Rows + BlockRows - 1) / BlockRows;
        int length = Groups * GroupLength;
        _data = ArrayPool<float>.Shared.Rent(length);
        Array.Clear(_data, 0, length);
        long xiStride = (long)RowBlocks * K * BlockRows;
        fixed (float* pw = w, pu = _data)
            for (int grp = 0; grp < g.G; grp++)
                for (int o = 0; o < ocg; o++)
                    for (int c = 0; c < cg; c++)
                    {
                        int row = inputGradient ? c : o, col = inputGradient ? o : c;
                        float* u = pu + (long)grp * GroupLength + ((long)row / BlockRows * K + col) * BlockRows + row % BlockRows;
                        Winograd3x3.TransformKernel(pw + ((grp * ocg + o) * cg + c) * 9, inputGradient, u, (int)xiStride);
                    }
    }

    /// <summary>Floats of one group's 16 packed matrices.</summary>
    public int GroupLength => 16 * RowBlocks * K * BlockRows;

    /// <summary>Where group <paramref name="grp"/>'s block <paramref name="block"/> of U_ξ starts in <see cref="Data"/>.</summary>
    public long Offset(int grp, int xi, int block) => (long)grp * GroupLength + ((long)xi * RowBlocks + block) * K * BlockRows;

    public float[] Data => _data ?? throw new ObjectDisposedException(nameof(WinogradWeights));

    public void Dispose()
    {
        if (_data is not null) ArrayPool<float>.Shared.Return(_data);
        _data = null;
    }
}
