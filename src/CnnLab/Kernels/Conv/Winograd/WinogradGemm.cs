using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

// Legend as in Winograd3x3.cs; I, O the inputs and outputs per group of the convolution this runs (a forward: Cg → OCg; an
// input gradient: OCg → Cg), B images per block, cols = B·T, ld = the rows' stride in V and M (cols rounded up to 16, plus 16).

/// <summary>
/// Winograd F(2x2, 3x3) and F(2x2, 5x5), the transforms of <see cref="Winograd3x3"/> and <see cref="Winograd5x5"/> (Lavin &amp; Gray,
/// CVPR 2016), with the products as GEMMs: for each position ξ (16 or 36) and group, M_ξ [O, cols] = U_ξ [O, I] · V_ξ [I, cols] by
/// <see cref="Gemm"/>, whose micro-kernels every vector width has; the input and output transforms run 8 tiles a 256-bit vector
/// (<see cref="WinogradGemmTiles"/>). This is the Winograd of machines without AVX-512 (the tuned kernels keep their products in
/// 32 registers of 16 lanes): 2.25x (3x3) or 2.8x (5x5) fewer multiplies than im2col + GEMM, on the same micro-kernel. The input
/// gradient of such a convolution is such a forward too, on dy with the kernels turned 180° and the channels swapped.
/// Written by hand: no .NET library has Winograd convolution.
/// </summary>
/// <remarks>PyTorch: what oneDNN's <c>convolution_winograd</c> computes; its AVX2 kernels likewise run the products as GEMMs.</remarks>
internal sealed unsafe class WinogradGemm : IDisposable
{
    /// <summary>
    /// The transformed planes (V and M) of a block, at most (one image's at least): 1 MB, twice the Zen 3's L2; 4 MB blocks were
    /// slower or tied on every shape timed (bench/RESULTS.md, "A host without AVX-512").
    /// </summary>
    internal const long BlockBytes = 1L << 20;

    /// <summary>True for 3x3 with padding 1 or 5x5 with padding 2, stride 1, dilation 1, where AVX2 runs (any group count).</summary>
    public static bool Supports(in Conv2dGeometry g) => Avx2.IsSupported && g is { SH: 1, SW: 1, DH: 1, DW: 1 }
        && (g is { KH: 3, KW: 3, PH: 1, PW: 1 } || g is { KH: 5, KW: 5, PH: 2, PW: 2 });

    private readonly int _h, _w, _inputs, _outputs, _groups, _ld, _positions;
    private readonly WinogradGemmTiles _tiles;
    private readonly Gemm.PackedA[] _u;   // [group·positions + ξ]: U_ξ [O, I]

    /// <summary>Tiles per plane, ⌈H/2⌉·⌈W/2⌉.</summary>
    public int Tiles { get; }

    /// <summary>Images a block takes at most.</summary>
    public int ImagesPerBlock { get; }

    /// <summary>
    /// The forward of <paramref name="g"/> (or, with <paramref name="inputGradient"/>, its dx as a forward on dy) with the weights
    /// w [OC, Cg, k, k] transformed and packed; blocks of <paramref name="blockColumns"/> tiles at most (0: by
    /// <see cref="BlockBytes"/>; at least one image).
    /// </summary>
    public WinogradGemm(in Conv2dGeometry g, ReadOnlySpan<float> w, bool inputGradient, int blockColumns = 0)
    {
        if (!Supports(g)) throw new ArgumentException($"Winograd by GEMMs cannot run {g}");
        (_h, _w, _groups) = (g.H, g.W, g.G);
        (_inputs, _outputs) = inputGradient ? (g.OCg, g.Cg) : (g.Cg, g.OCg);
        _tiles = new WinogradGemmTiles(g.H, g.W, g.KH);
        (Tiles, _positions) = (_tiles.Count, _tiles.Positions);
        ImagesPerBlock = BlockImages(Tiles, _positions * (_inputs + _outputs), blockColumns);
        _ld = RowStride(ImagesPerBlock * Tiles);
        _u = TransformWeights(g, w, inputGradient, ImagesPerBlock * Tiles);
    }

    /// <summary>Images a block takes: as many as <paramref name="blockColumns"/> tiles hold (0: as <see cref="BlockBytes"/> holds for
    /// <paramref name="rows"/> transformed rows, positions × channels), 1 to 16.</summary>
    internal static int BlockImages(int tiles, int rows, int blockColumns)
    {
        long columns = blockColumns > 0 ? blockColumns : BlockBytes / ((long)rows * sizeof(float));
        return (int)Math.Clamp(columns / tiles, 1, 16);
    }

    /// <summary>The rows' stride in V and M for blocks of <paramref name="columns"/> tiles: the GEMM reads B's rows up to a multiple
    /// of 16, and the transforms write up to 7 past a block's last tile.</summary>
    internal static int RowStride(int columns) => (columns + 15) / 16 * 16 + 16;

    // U_ξ = G·k·Gᵀ of every kernel (turned 180° for dx, its channels swapped), packed for the GEMM: one A per group and position.
    private Gemm.PackedA[] TransformWeights(in Conv2dGeometry g, ReadOnlySpan<float> w, bool inputGradient, int cols)
    {
        int taps = g.KH * g.KW;
        long need = (long)g.OC * g.Cg * taps;
        if (w.Length < need) throw new ArgumentException($"w has {w.Length} elements, needs {need}");
        int matrix = _outputs * _inputs;
        var u = ArrayPool<float>.Shared.Rent(_positions * matrix);
        var packed = new Gemm.PackedA[_groups * _positions];
        fixed (float* pw = w, pu = u)
            for (int grp = 0; grp < _groups; grp++)
            {
                for (int o = 0; o < _outputs; o++)
                    for (int i = 0; i < _inputs; i++)
                    {
                        // Forward: w[grp·OCg + o, i]; dx: the kernel from input o of the convolution to its output i.
                        long k = (inputGradient ? (long)(grp * g.OCg + i) * g.Cg + o : (long)(grp * g.OCg + o) * g.Cg + i) * taps;
                        if (taps == 9) Winograd3x3.TransformKernel(pw + k, inputGradient, pu + (long)o * _inputs + i, matrix);
                        else Winograd5x5.TransformKernel(pw + k, inputGradient, pu + (long)o * _inputs + i, matrix);
                    }
                for (int xi = 0; xi < _positions; xi++)
                    packed[grp * _positions + xi] = Gemm.PackAOnce(false, _outputs, _inputs, u.AsSpan(xi * matrix, matrix), _inputs, cols);
            }
        ArrayPool<float>.Shared.Return(u);
        return packed;
    }

    /// <summary>One thread's V, M and split scratch; dispose to return them.</summary>
    public sealed class Buffers : IDisposable
    {
        internal float[] V = [], M = [], Split = [];

        // V and M of the given lengths and the split scratch, zeroed once: only a plane's rows and columns are ever written there.
        internal static Buffers Rent(long v, long m, int split)
        {
            var pool = ArrayPool<float>.Shared;
            var b = new Buffers { V = pool.Rent(checked((int)v)), M = pool.Rent(checked((int)m)), Split = pool.Rent(split) };
            Array.Clear(b.Split, 0, split);
            return b;
        }

        public void Dispose()
        {
            var pool = ArrayPool<float>.Shared;
            foreach (var array in (float[][])[V, M, Split])
                if (array.Length > 0) pool.Return(array);
            (V, M, Split) = ([], [], []);
        }
    }

    /// <summary>
    /// Buffers for blocks of every group's inputs (V holds all groups' channels, so that a backward that walks image by image and
    /// group by group can collect a block before it multiplies).
    /// </summary>
    public Buffers Rent() =>
        Buffers.Rent((long)_positions * _groups * _inputs * _ld, (long)_positions * _outputs * _ld, _tiles.SplitLength);

    /// <summary>
    /// y [count, O of each group, H, W] = act(conv(x) + bias), or y += conv(x) with <paramref name="accumulate"/> (no bias, no ReLU),
    /// for count ≤ <see cref="ImagesPerBlock"/> images: x's images <paramref name="xImage"/> floats apart, y's
    /// <paramref name="yImage"/> apart, each group's planes after the previous group's.
    /// </summary>
    public void Forward(Buffers b, float* x, long xImage, int count, float* bias, bool relu, bool accumulate, float* y, long yImage)
    {
        long plane = (long)_h * _w;
        for (int grp = 0; grp < _groups; grp++)
        {
            for (int s = 0; s < count; s++) TransformInputs(b, grp, x + s * xImage + grp * _inputs * plane, s);
            MultiplyAndTransformOutputs(b, grp, count, bias == null ? null : bias + grp * _outputs, relu, accumulate,
                y + grp * _outputs * plane, yImage);
        }
    }

    /// <summary>V of one image's planes of group <paramref name="grp"/> (its I planes, H·W floats apart) into the block's place
    /// <paramref name="slot"/>.</summary>
    public void TransformInputs(Buffers b, int grp, float* planes, int slot)
    {
        if (slot < 0 || slot >= ImagesPerBlock) throw new ArgumentOutOfRangeException(nameof(slot), slot, $"0 to {ImagesPerBlock - 1}");
        long xiStride = (long)_groups * _inputs * _ld, plane = (long)_h * _w;
        fixed (float* v = b.V, split = b.Split)
            for (int i = 0; i < _inputs; i++)
                _tiles.TransformInput(planes + i * plane, split, v + (long)(grp * _inputs + i) * _ld + (long)slot * Tiles, xiStride);
    }

    /// <summary>
    /// The products of group <paramref name="grp"/> for the block's first <paramref name="count"/> images, then their outputs:
    /// y's planes of that group (y: the first image's first plane of the group, images <paramref name="yImage"/> apart).
    /// </summary>
    public void MultiplyAndTransformOutputs(Buffers b, int grp, int count, float* bias, bool relu, bool accumulate, float* y, long yImage)
    {
        int cols = count * Tiles;
        long vXi = (long)_groups * _inputs * _ld, mXi = (long)_outputs * _ld, plane = (long)_h * _w;
        for (int xi = 0; xi < _positions; xi++)
        {
            var v = b.V.AsSpan(checked((int)(xi * vXi + (long)grp * _inputs * _ld)), _inputs * _ld);
            var m = b.M.AsSpan(checked((int)(xi * mXi)), _outputs * _ld);
            Gemm.SgemmPackedA(_u[grp * _positions + xi], cols, 1f, false, v, _ld, 0f, m, _ld, GemmEpilogue.None, bInPlace: true);
        }
        fixed (float* pm = b.M)
            for (int s = 0; s < count; s++)
                for (int o = 0; o < _outputs; o++)
                    _tiles.TransformOutput(pm + (long)o * _ld + (long)s * Tiles, mXi, y + s * yImage + o * plane,
                        bias == null ? 0f : bias[o], relu, accumulate);
    }

    public void Dispose()
    {
        foreach (var packed in _u) packed.Dispose();
    }
}
