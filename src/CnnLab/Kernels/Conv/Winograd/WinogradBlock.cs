using System.Buffers;

namespace CnnLab.Kernels;

// Legend as in Winograd3x3.cs; B images per block, cols = B·T GEMM columns, ldv ≥ cols + 16 floats between rows of V.

/// <summary>
/// A block of B images' planes (H x W) through Winograd F(2x2, 3x3), the layout the forward and the input
/// gradient share: V [K, 16, ldv] holds the transformed input tiles of K channels (a channel's 16 rows
/// together, so each plane's transform writes one contiguous region), the 16 GEMMs U_ξ [R, K] · V_ξ
/// [K, cols] write M [R, 16, cols], and each output plane is transformed back from its 16 rows. A
/// short last block multiplies zero columns for its missing images, so an image's result does not
/// depend on the block it lands in.
/// </summary>
internal sealed unsafe class WinogradBlock
{
    public readonly int H, W, Tiles, Images, Cols, Ldv;

    /// <summary>Blocks of H x W planes, as many images as fit in <paramref name="blockColumns"/> GEMM columns (0: the default).</summary>
    public WinogradBlock(int h, int w, int blockColumns = 0)
    {
        (H, W) = (h, w);
        Tiles = Winograd3x3.Tiles(h, w);
        Images = Winograd3x3.ImagesPerBlock(h, w, blockColumns);
        Cols = Images * Tiles;
        // Room for the 16-tile writes of the last image's last tile row, which run up to 15 floats past Cols.
        Ldv = (Cols + 15) / 16 * 16 + 16;
    }

    /// <summary>One thread's V, M and transform scratch; dispose to return them.</summary>
    public sealed class Buffers : IDisposable
    {
        internal float[]? V, M, Scratch;

        public void Dispose()
        {
            if (V is not null) ArrayPool<float>.Shared.Return(V);
            if (M is not null) ArrayPool<float>.Shared.Return(M);
            if (Scratch is not null) ArrayPool<float>.Shared.Return(Scratch);
            V = M = Scratch = null;
        }
    }

    /// <summary>Buffers for <paramref name="inputs"/> transformed input channels and <paramref name="outputs"/> output channels.</summary>
    public Buffers Rent(int inputs, int outputs)
    {
        // Each with the 16 floats the transforms' whole-vector reads and writes may reach past the last tile.
        var b = new Buffers
        {
            V = ArrayPool<float>.Shared.Rent(16 * inputs * Ldv + 16),
            M = ArrayPool<float>.Shared.Rent(16 * outputs * Cols + 16),
        };
        int scratch = Winograd3x3.ScratchLength(H, W);
        b.Scratch = ArrayPool<float>.Shared.Rent(scratch);
        Array.Clear(b.Scratch, 0, scratch);
        return b;
    }

    /// <summary>
    /// Transforms one image's <paramref name="channels"/> planes (consecutive, H·W floats each) into V's
    /// channels first … first + channels − 1, image slot <paramref name="slot"/>.
    /// </summary>
    public void TransformInput(Buffers b, float* planes, int channels, int first, int slot)
    {
        fixed (float* v = b.V, scratch = b.Scratch)
            for (int c = 0; c < channels; c++)
                Winograd3x3.TransformInput(planes + (long)c * H * W, H, W, scratch, v + 16L * (first + c) * Ldv + slot * Tiles, Ldv);
    }

    /// <summary>
    /// The block's <paramref name="count"/> images' output planes from V's channels first … first + k − 1:
    /// M [rows, 16, cols] = U_ξ · V_ξ with U_ξ = packed[ξ] [rows, k] (zero columns first for the slots past
    /// count), then plane r of slot s, y + s·<paramref name="imageStride"/> + r·H·W, (+)= act(Aᵀ·M·A + bias[r])
    /// (see <see cref="Winograd3x3.TransformOutput"/>; bias null: none).
    /// </summary>
    public void MultiplyAndTransformOutput(Buffers b, ReadOnlySpan<Gemm.PackedA> packed, int first, int k, int rows, int count,
        float* y, long imageStride, float* bias, bool relu, bool accumulate)
    {
        fixed (float* v0 = b.V, m = b.M)
        {
            float* v = v0 + 16L * first * Ldv;
            // A partial block multiplies its own tiles only (a batch of one image: 49 of 490 columns), and zeroes the
            // columns after them that the GEMM's last panel reads (any tile width up to 64, plus a vector).
            int used = count * Tiles;
            if (count < Images)
                for (int row = 0; row < 16 * k; row++)
                    new Span<float>(v + (long)row * Ldv + used, Math.Min(Ldv - used, 80)).Clear();
            for (int xi = 0; xi < 16; xi++)
                Gemm.SgemmPackedA(packed[xi], used, 1f, false, new ReadOnlySpan<float>(v + (long)xi * Ldv, 16 * k * Ldv - xi * Ldv), 16 * Ldv,
                    0f, new Span<float>(m + (long)xi * Cols, 16 * rows * Cols - xi * Cols), 16 * Cols, GemmEpilogue.None, bInPlace: true);
            for (int s = 0; s < count; s++)
                for (int r = 0; r < rows; r++)
                    Winograd3x3.TransformOutput(m + 16L * r * Cols + s * Tiles, Cols, H, W, bias != null ? bias + r : null, relu, accumulate,
                        y + s * imageStride + (long)r * H * W);
        }
    }
}
