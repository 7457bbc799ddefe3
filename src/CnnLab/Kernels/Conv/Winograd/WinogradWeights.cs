using System.Buffers;
using System.Runtime.Intrinsics;

namespace CnnLab.Kernels;

// Legend as in Winograd3x3.cs; R the rows of each U_ξ (the outputs: OCg forward, Cg for dx), K its columns (the
// channels summed), RB = ⌈R/8⌉ blocks of 8 rows.

/// <summary>
/// U_ξ = (G·g·Gᵀ)_ξ of each group's kernels (16 positions for F(2x2, 3x3), 36 for F(4x4, 3x3) and F(2x2, 5x5)), packed for
/// <see cref="WinogradBlock"/>'s multiply: the forward's
/// [OCg, Cg] from g = w[o, c], or the input gradient's [Cg, OCg] from the kernels turned by 180° (dx is the
/// convolution of dy with them). Layout [G][positions][RB][K][8]: for each position ξ and block of 8 rows, the 8 rows'
/// values for one column k side by side, so the multiply broadcasts them in turn; rows past R are zero.
/// The buffer is rented from the shared pool: dispose to return it.
/// </summary>
internal sealed unsafe class WinogradWeights : IDisposable
{
    /// <summary>Rows of a packed block: the multiply's register tile is 8 rows high.</summary>
    public const int BlockRows = 8;

    public readonly int Groups, Rows, K, RowBlocks, Positions;
    private float[]? _data;

    public WinogradWeights(in Conv2dGeometry g, ReadOnlySpan<float> w, bool inputGradient, int tileSide = 2)
    {
        int kernel = g.KH;
        if (g.KW != kernel) throw new ArgumentException($"a square kernel, not {g.KH}x{g.KW}", nameof(g));
        Positions = WinogradBlock.PositionsOf(tileSide, kernel);
        int cg = g.Cg, ocg = g.OCg;
        int taps = kernel * kernel;
        if (w.Length < g.OC * cg * taps) throw new ArgumentException($"w has {w.Length} elements, needs {g.OC * cg * taps}");
        (Groups, Rows, K) = (g.G, inputGradient ? cg : ocg, inputGradient ? ocg : cg);
        RowBlocks = (Rows + BlockRows - 1) / BlockRows;
        int length = Groups * GroupLength, positions = Positions, rowBlock = positions * BlockRows;
        _data = ArrayPool<float>.Shared.Rent(length);
        // One block of 8 rows at a time: its kernels transformed into a scratch [K][positions][8], then each position's
        // [K][8] copied out whole. Transformed straight into place, each kernel wrote one float to every position's matrix,
        // all a multiple of 4 KB apart, so they competed for one set of L1's lines.
        var scratch = ArrayPool<float>.Shared.Rent(K * rowBlock);
        bool inLanes = WinogradBlock.KernelsInLanes(tileSide, kernel);
        fixed (float* pw = w, pu = _data, ps = scratch)
            for (int grp = 0; grp < g.G; grp++)
                for (int rb = 0; rb < RowBlocks; rb++)
                {
                    if ((rb + 1) * BlockRows <= Rows && inLanes)
                    {
                        // A whole block: its 8 rows' kernels of each column transformed together, a lane each.
                        for (int col = 0; col < K; col++)
                        {
                            int o = inputGradient ? col : rb * BlockRows, c = inputGradient ? rb * BlockRows : col;
                            float* first = pw + ((grp * ocg + o) * cg + c) * taps, to = ps + (long)col * rowBlock;
                            long stride = inputGradient ? taps : (long)cg * taps;
                            if (kernel == 5) Winograd5x5.TransformKernels(first, stride, inputGradient, to);
                            else if (tileSide == 4) Winograd4x4.TransformKernels(first, stride, inputGradient, to);
                            else Winograd3x3.TransformKernels(first, stride, inputGradient, to);
                        }
                        CopyOut(grp, rb, pu, ps, positions, rowBlock);
                        continue;
                    }
                    for (int r = 0; r < BlockRows; r++)
                    {
                        int row = rb * BlockRows + r;
                        for (int col = 0; col < K; col++)
                        {
                            float* u = ps + (long)col * rowBlock + r;
                            if (row >= Rows)
                            {
                                for (int xi = 0; xi < positions; xi++) u[xi * BlockRows] = 0f;   // rows past R are zero
                                continue;
                            }
                            int o = inputGradient ? col : row, c = inputGradient ? row : col;
                            float* k = pw + ((grp * ocg + o) * cg + c) * taps;
                            if (kernel == 5) Winograd5x5.TransformKernel(k, inputGradient, u, BlockRows);
                            else if (tileSide == 2) Winograd3x3.TransformKernel(k, inputGradient, u, BlockRows);
                            else Winograd4x4.TransformKernel(k, inputGradient, u, BlockRows);
                        }
                    }
                    CopyOut(grp, rb, pu, ps, positions, rowBlock);
                }
        ArrayPool<float>.Shared.Return(scratch);
    }

    // Each position's [K][8] of block rb from the scratch [K][positions][8] into place.
    private void CopyOut(int grp, int rb, float* pu, float* ps, int positions, int rowBlock)
    {
        for (int xi = 0; xi < positions; xi++)
        {
            float* to = pu + Offset(grp, xi, rb), from = ps + xi * BlockRows;
            for (int col = 0; col < K; col++) Vector256.Load(from + (long)col * rowBlock).Store(to + col * BlockRows);
        }
    }

    /// <summary>Floats of one group's packed matrices, one per position.</summary>
    public int GroupLength => Positions * RowBlocks * K * BlockRows;

    /// <summary>Where group <paramref name="grp"/>'s block <paramref name="block"/> of U_ξ starts in <see cref="Data"/>.</summary>
    public long Offset(int grp, int xi, int block) => (long)grp * GroupLength + ((long)xi * RowBlocks + block) * K * BlockRows;

    public float[] Data => _data ?? throw new ObjectDisposedException(nameof(WinogradWeights));

    public void Dispose()
    {
        if (_data is not null) ArrayPool<float>.Shared.Return(_data);
        _data = null;
    }
}
