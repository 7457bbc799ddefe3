namespace CnnLab.Kernels;

// Legend as in WinogradGemm.cs; dU_ξ [OCg, Cg] the gradient of the transformed kernels U_ξ, per group.

/// <summary>
/// dW of a 3x3 (padding 1) or 5x5 (padding 2), stride-1 convolution by Winograd F(2x2, 3x3) or F(2x2, 5x5) with GEMMs
/// (<see cref="WinogradGemm"/>'s transforms): with
/// Y = Aᵀ·[Σ_c U ⊙ V]·A per tile, dU_ξ = Σ_tiles (A·dY·Aᵀ)_ξ · V_ξᵀ, a GEMM per position and group over a block's tiles
/// ([OCg, cols] · [cols, Cg], accumulated), and dW = Gᵀ·dU·G at the end. The backward collects a block's x and dY image by image
/// (<see cref="AddImage"/>), sums its products into the chunk's partial dU (<see cref="Accumulate"/>), and turns the sum of the
/// partials into dW (<see cref="AddToWeights"/>).
/// </summary>
/// <remarks>PyTorch: what oneDNN's <c>convolution_winograd</c> computes for the weights' gradient.</remarks>
internal sealed unsafe class WinogradGemmWeightGradient
{
    private readonly Conv2dGeometry _g;
    private readonly WinogradGemmTiles _tiles;
    private readonly int _ld, _positions;

    /// <summary>Tiles per plane.</summary>
    public int Tiles { get; }

    /// <summary>Images a block takes at most.</summary>
    public int ImagesPerBlock { get; }

    /// <summary>Floats of a partial dU: 16 or 36 positions of every group's [OCg, Cg].</summary>
    public int TransformedLength => _positions * _g.G * _g.OCg * _g.Cg;

    public WinogradGemmWeightGradient(in Conv2dGeometry g, int blockColumns = 0)
    {
        if (!WinogradGemm.Supports(g)) throw new ArgumentException($"Winograd by GEMMs cannot run {g}");
        _g = g;
        _tiles = new WinogradGemmTiles(g.H, g.W, g.KH);
        (Tiles, _positions) = (_tiles.Count, _tiles.Positions);
        ImagesPerBlock = WinogradGemm.BlockImages(Tiles, _positions * (g.Cg + g.OCg), blockColumns);
        _ld = WinogradGemm.RowStride(ImagesPerBlock * Tiles);
    }

    /// <summary>One thread's transformed x (V) and dY (D) of every group, and the split scratch; dispose to return them.</summary>
    public WinogradGemm.Buffers Rent() =>
        WinogradGemm.Buffers.Rent((long)_positions * _g.C * _ld, (long)_positions * _g.OC * _ld, _tiles.SplitLength);

    /// <summary>Image's group <paramref name="grp"/>: its x planes (Cg, H·W floats apart) and dY planes (OCg) into the block's place
    /// <paramref name="slot"/>.</summary>
    public void AddImage(WinogradGemm.Buffers b, int grp, float* xg, ReadOnlySpan<float> dyg, int slot)
    {
        if (slot < 0 || slot >= ImagesPerBlock) throw new ArgumentOutOfRangeException(nameof(slot), slot, $"0 to {ImagesPerBlock - 1}");
        long plane = (long)_g.H * _g.W, column = (long)slot * Tiles;
        long vXi = (long)_g.C * _ld, dXi = (long)_g.OC * _ld;
        fixed (float* v = b.V, d = b.M, split = b.Split, dy = dyg)
        {
            for (int i = 0; i < _g.Cg; i++)
                _tiles.TransformInput(xg + i * plane, split, v + (long)(grp * _g.Cg + i) * _ld + column, vXi);
            for (int o = 0; o < _g.OCg; o++)
                _tiles.TransformOutputGradient(dy + o * plane, split, d + (long)(grp * _g.OCg + o) * _ld + column, dXi);
        }
    }

    /// <summary>dU_ξ [OCg, Cg] += D_ξ [OCg, cols] · V_ξᵀ of group <paramref name="grp"/>, for the block's first
    /// <paramref name="count"/> images, into <paramref name="partial"/> (<see cref="TransformedLength"/> floats).</summary>
    public void Accumulate(WinogradGemm.Buffers b, int grp, int count, float[] partial)
    {
        int cols = count * Tiles, cg = _g.Cg, ocg = _g.OCg;
        long vXi = (long)_g.C * _ld, dXi = (long)_g.OC * _ld;
        for (int xi = 0; xi < _positions; xi++)
        {
            var d = b.M.AsSpan(checked((int)(xi * dXi + (long)grp * ocg * _ld)), ocg * _ld);
            var v = b.V.AsSpan(checked((int)(xi * vXi + (long)grp * cg * _ld)), cg * _ld);
            Gemm.Sgemm(false, true, ocg, cg, cols, 1f, d, _ld, v, _ld, 1f, partial.AsSpan((grp * _positions + xi) * ocg * cg, ocg * cg), cg);
        }
    }

    /// <summary>dW [OC, Cg, k, k] += Gᵀ·dU·G for every kernel, dU the partials' sum (<see cref="TransformedLength"/> floats), by the
    /// tuned Winograd's own adjoints of the kernel transforms (<see cref="WinogradWeightGradient.KernelGradient"/>,
    /// <see cref="Winograd5x5.KernelGradient"/>).</summary>
    public void AddToWeights(ReadOnlySpan<float> transformed, Span<float> dw)
    {
        int cg = _g.Cg, ocg = _g.OCg, matrix = ocg * cg, taps = _g.KH * _g.KW;
        Span<float> u = stackalloc float[_positions];
        for (int grp = 0; grp < _g.G; grp++)
            for (int o = 0; o < ocg; o++)
                for (int i = 0; i < cg; i++)
                {
                    for (int xi = 0; xi < _positions; xi++) u[xi] = transformed[(grp * _positions + xi) * matrix + o * cg + i];
                    var k = dw.Slice(((grp * ocg + o) * cg + i) * taps, taps);
                    if (taps == 9) WinogradWeightGradient.KernelGradient(u, k);
                    else Winograd5x5.KernelGradient(u, k);
                }
    }
}
