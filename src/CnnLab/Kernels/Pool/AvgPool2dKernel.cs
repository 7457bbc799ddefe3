using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

// Legend: N batch, C channels, H, W input, OH, OW output; window KH x KW, stride SH, SW, padding PH, PW.
// x [N, C, H, W], y [N, C, OH, OW].

/// <summary>
/// Average pooling: y[n, c, i, j] = (1/divisor)·Σ x[n, c, h, w] over the window clipped to the input.
/// The divisor follows PyTorch exactly: with countIncludePad it is the window's size clipped to the
/// padded input (so in ceil mode a window hanging past the right padding counts fewer taps); without
/// it, the number of real input taps. A window holding no input gives 0.
/// Planes (n, c) run in parallel, each written by one thread, so results do not depend on the thread
/// count; the *Reference methods run the same per-plane loops on one thread (the twins).
/// </summary>
/// <remarks>PyTorch: <c>torch.nn.functional.avg_pool2d</c> (no <c>divisor_override</c>).</remarks>
public static partial class AvgPool2dKernel
{
    /// <summary>Overwrites y.</summary>
    public static unsafe void Forward(in Pool2dGeometry g, bool countIncludePad, ReadOnlySpan<float> x, Span<float> y)
    {
        int planes = g.N * g.C, ohw = g.OH * g.OW;
        CheckBuffers(g, x.Length, y.Length);
        var geo = g;
        fixed (float* px = x, py = y)
        {
            nint xs = (nint)px, ys = (nint)py;
            Parallelism.For(planes, Math.Max(1, 4096 / Math.Max(1, ohw)),
                (start, end) => PlaneRange(geo, countIncludePad, (float*)xs, (float*)ys, start, end));
        }
    }

    /// <summary>
    /// <see cref="Forward"/> on this thread, by the same per-plane loops (the same bits): for a fused kernel that pools each block of
    /// images as it is made.
    /// </summary>
    internal static unsafe void ForwardOnThisThread(in Pool2dGeometry g, bool countIncludePad, ReadOnlySpan<float> x, Span<float> y)
    {
        int planes = g.N * g.C;
        CheckBuffers(g, x.Length, y.Length);
        fixed (float* px = x, py = y) PlaneRange(g, countIncludePad, px, py, 0, planes);
    }

    // An input-shaped buffer (x or dx) of planes·H·W floats and an output-shaped one (y or dy) of planes·OH·OW, at least.
    private static void CheckBuffers(in Pool2dGeometry g, int inputLength, int outputLength)
    {
        int planes = g.N * g.C;
        if (inputLength < planes * g.H * g.W || outputLength < planes * g.OH * g.OW)
            throw new ArgumentException($"avg-pool buffers too small for {g}");
    }

    // Planes [start, end) of x into y: whole 2x2 windows 16 outputs at a time (AVX-512), any other geometry plane by plane.
    private static unsafe void PlaneRange(in Pool2dGeometry g, bool countIncludePad, float* x, float* y, int start, int end)
    {
        if (MaxPool2dKernel.IsWhole2x2(g) && Avx512F.IsSupported) ForwardPlanes2x2(g, x, y, start, end);
        else
        {
            int planes = g.N * g.C;
            ForwardPlanes(g, countIncludePad, new ReadOnlySpan<float>(x, planes * g.H * g.W), new Span<float>(y, planes * g.OH * g.OW), start, end);
        }
    }

    /// <summary>The single-threaded twin of <see cref="Forward"/>.</summary>
    public static void ForwardReference(in Pool2dGeometry g, bool countIncludePad, ReadOnlySpan<float> x, Span<float> y)
    {
        int planes = g.N * g.C;
        CheckBuffers(g, x.Length, y.Length);
        ForwardPlanes(g, countIncludePad, x, y, 0, planes);
    }

    private static void ForwardPlanes(in Pool2dGeometry g, bool countIncludePad, ReadOnlySpan<float> x, Span<float> y, int planeStart, int planeEnd)
    {
        // The sizes read once: OH and OW are each a division in double (PyTorch's rule).
        int oh = g.OH, ow = g.OW, width = g.W, hw = g.H * width, ohw = oh * ow;
        for (int plane = planeStart; plane < planeEnd; plane++)
        {
            var src = x.Slice(plane * hw, hw);
            var dst = y.Slice(plane * ohw, ohw);
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                {
                    var (h0, h1, w0, w1, divisor) = Window(g, countIncludePad, i, j);
                    float s = 0;
                    for (int h = h0; h < h1; h++)
                        for (int w = w0; w < w1; w++) s += src[h * width + w];
                    dst[i * ow + j] = divisor == 0 ? 0f : s / divisor;
                }
        }
    }

    /// <summary>Forward: y = (1/divisor)·Σ_window x. So every x in the window gets dx += dy / divisor.</summary>
    public static unsafe void Backward(in Pool2dGeometry g, bool countIncludePad, ReadOnlySpan<float> dy, Span<float> dx)
    {
        int planes = g.N * g.C, hw = g.H * g.W, ohw = g.OH * g.OW;
        CheckBuffers(g, dx.Length, dy.Length);
        var geo = g;
        fixed (float* pdy = dy, pdx = dx)
        {
            nint dys = (nint)pdy, dxs = (nint)pdx;
            bool whole2x2 = MaxPool2dKernel.IsWhole2x2(g) && Avx512F.IsSupported;
            Parallelism.For(planes, Math.Max(1, 4096 / Math.Max(1, ohw)), (start, end) =>
            {
                if (whole2x2) BackwardPlanes2x2(geo, (float*)dys, (float*)dxs, start, end);
                else BackwardPlanes(geo, countIncludePad, new ReadOnlySpan<float>((float*)dys, planes * ohw),
                    new Span<float>((float*)dxs, planes * hw), start, end);
            });
        }
    }

    /// <summary>
    /// <see cref="Backward"/> on this thread into <paramref name="dx"/> (zeroed by the caller, as the op's is), by the same
    /// per-plane loops (the same bits): for a fused op's backward, image by image.
    /// </summary>
    internal static unsafe void BackwardOnThisThread(in Pool2dGeometry g, bool countIncludePad, ReadOnlySpan<float> dy, Span<float> dx)
    {
        int planes = g.N * g.C;
        CheckBuffers(g, dx.Length, dy.Length);
        if (MaxPool2dKernel.IsWhole2x2(g) && Avx512F.IsSupported)
            fixed (float* pdy = dy, pdx = dx) BackwardPlanes2x2(g, pdy, pdx, 0, planes);
        else BackwardPlanes(g, countIncludePad, dy, dx, 0, planes);
    }

    /// <summary>The single-threaded twin of <see cref="Backward"/>.</summary>
    public static void BackwardReference(in Pool2dGeometry g, bool countIncludePad, ReadOnlySpan<float> dy, Span<float> dx)
    {
        int planes = g.N * g.C;
        CheckBuffers(g, dx.Length, dy.Length);
        BackwardPlanes(g, countIncludePad, dy, dx, 0, planes);
    }

    private static void BackwardPlanes(in Pool2dGeometry g, bool countIncludePad, ReadOnlySpan<float> dy, Span<float> dx,
        int planeStart, int planeEnd)
    {
        int oh = g.OH, ow = g.OW, width = g.W, hw = g.H * width, ohw = oh * ow;
        for (int plane = planeStart; plane < planeEnd; plane++)
        {
            var src = dy.Slice(plane * ohw, ohw);
            var dst = dx.Slice(plane * hw, hw);
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                {
                    var (h0, h1, w0, w1, divisor) = Window(g, countIncludePad, i, j);
                    if (divisor == 0) continue;
                    float d = src[i * ow + j] / divisor;
                    for (int h = h0; h < h1; h++)
                        for (int w = w0; w < w1; w++) dst[h * width + w] += d;
                }
        }
    }

    // The clipped window [h0, h1) x [w0, w1) of output (i, j) and its divisor, as ATen's AvgPoolKernel.
    private static (int H0, int H1, int W0, int W1, int Divisor) Window(in Pool2dGeometry g, bool countIncludePad, int i, int j)
    {
        int h0 = i * g.SH - g.PH, w0 = j * g.SW - g.PW;
        int h1 = Math.Min(h0 + g.KH, g.H + g.PH), w1 = Math.Min(w0 + g.KW, g.W + g.PW);
        int poolSize = (h1 - h0) * (w1 - w0);
        h0 = Math.Max(h0, 0); w0 = Math.Max(w0, 0);
        h1 = Math.Min(h1, g.H); w1 = Math.Min(w1, g.W);
        if (h0 >= h1 || w0 >= w1) return (0, 0, 0, 0, 0);
        return (h0, h1, w0, w1, countIncludePad ? poolSize : (h1 - h0) * (w1 - w0));
    }
}
