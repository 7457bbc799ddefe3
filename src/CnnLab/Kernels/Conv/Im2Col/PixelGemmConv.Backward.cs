using System.Buffers;

namespace CnnLab.Kernels;

internal sealed unsafe partial class PixelGemmConv
{
    /// <summary>
    /// The backward of a convolution whose plan gives dx or dW to the pixel GEMMs: those passes over the whole batch (dy gathered
    /// into pixel-major form once, each GEMM on every thread), db beside dW (summed as <see cref="ConvBackwardPass"/> sums it,
    /// the same bits), and the others by <see cref="ConvBackwardPass"/>. Returns the finishing of dx that pass did (none where
    /// the pixel GEMMs computed dx: its caller then does it, as for the depthwise kernel).
    /// </summary>
    public static DxFinish Backward(in Conv2dGeometry g, ConvPlan plan, ReadOnlySpan<float> x, ReadOnlySpan<float> w,
        ConvOutputGradient source, Span<float> dx, Span<float> dw, Span<float> db, bool overwriteDx, int winogradBlockColumns,
        bool maskDxByInput, ReadOnlySpan<float> dxAddend, BatchNormGradientSums? inputSums)
    {
        bool pixelDx = !dx.IsEmpty && plan.InputGradient == ConvAlgorithm.PixelGemm;
        bool pixelDw = !dw.IsEmpty && plan.WeightGradient == ConvAlgorithm.PixelGemm;
        bool pixelDb = !db.IsEmpty && plan.WeightGradient == ConvAlgorithm.PixelGemm;
        bool restDx = !dx.IsEmpty && !pixelDx, restDw = !dw.IsEmpty && !pixelDw, restDb = !db.IsEmpty && !pixelDb;
        DxFinish finish = default;
        if (restDx || restDw || restDb)
        {
            var rest = new ConvPlan(plan.Forward, pixelDx ? ConvAlgorithm.Im2ColGemm : plan.InputGradient,
                pixelDw ? ConvAlgorithm.Im2ColGemm : plan.WeightGradient);
            var pass = new ConvBackwardPass(g, w, source, rest, restDx, restDw, restDb, overwriteDx, winogradBlockColumns, maskDxByInput,
                addsToDx: restDx && !dxAddend.IsEmpty, inputSums);
            pass.Run(x, restDx ? dx : default, restDw ? dw : default, restDb ? db : default, restDx ? dxAddend : default);
            if (restDx) finish = new(pass.MasksDx, pass.AddsToDx, pass.SumsInput);
        }
        if (pixelDx || pixelDw || pixelDb) For(g).RunBackward(g.N, x, w, source, pixelDx ? dx : default, pixelDw ? dw : default,
            pixelDb ? db : default, overwriteDx);
        return finish;
    }

    // dx, dW and db of n images (where their spans are not empty).
    private void RunBackward(int n, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ConvOutputGradient source, Span<float> dx, Span<float> dw,
        Span<float> db, bool overwriteDx)
    {
        int oc = _g.OC;
        float[] dyts = Rent(OutputLength(n));
        float[]? rowSums = db.IsEmpty ? null : Rent((long)n * oc);
        float[]? dxts = dx.IsEmpty ? null : Rent(InputLength(n));
        float[]? xts = dw.IsEmpty ? null : Rent(InputLength(n)), partial = dw.IsEmpty ? null : Rent(PackedLength);
        var tapsT = dx.IsEmpty ? [] : PackTaps(w, transposed: true, n);
        try
        {
            fixed (float* dyt = dyts, sums = rowSums, dxt = dxts, xt = xts, pp = partial)
            fixed (float* px = x, pw = w, pdx = dx, pdw = dw)
            {
                Collect(n, source, dyt, sums);
                if (pdx != null)
                    InputGradient(dyt, n, tapsT, pdx, add: !overwriteDx, dxt);
                if (pdw != null)
                {
                    PixelMajor.Gather(px, n, _g.C, _inputPixels, xt);
                    WeightGradient(dyt, xt, n, pdw, pp);
                }
                if (sums != null) ConvBackwardPass.AddBias(new ReadOnlySpan<float>(sums, n * oc), n, oc, db);
            }
        }
        finally
        {
            foreach (var packed in tapsT) packed.Dispose();
            foreach (var array in new[] { dyts, rowSums, dxts, xts, partial })
                if (array is not null) ArrayPool<float>.Shared.Return(array);
        }
    }

    private static float[] Rent(long length) => ArrayPool<float>.Shared.Rent(checked((int)Math.Max(1, length)));

    // dy from the source into pixel-major form [P, OC, N] (16 images a step, steps in parallel), and each image's plane sums.
    private void Collect(int n, ConvOutputGradient source, float* dyt, float* sums)
    {
        int oc = _g.OC, p = _g.ColCols, block = oc * p;
        nint to = (nint)dyt, sumsAt = (nint)sums;
        int steps = (n + 15) / 16;
        Parallelism.For(steps, 1, (s0, s1) =>
        {
            float[] images = ArrayPool<float>.Shared.Rent(16 * block + 16);
            try
            {
                fixed (float* pi = images)
                    for (int s = s0; s < s1; s++)
                    {
                        int first = s * 16, count = Math.Min(16, n - first);
                        for (int i = 0; i < count; i++)
                        {
                            var dy = source.ForImage(first + i, 0, images.AsSpan(i * block, block + 16))[..block];
                            dy.CopyTo(images.AsSpan(i * block, block));
                            if (sumsAt != 0)
                                for (int o = 0; o < oc; o++)
                                    ((float*)sumsAt)[(long)(first + i) * oc + o] = TensorPrimitives.Sum(dy.Slice(o * p, p));
                        }
                        PixelMajor.Gather(pi, count, oc, p, (float*)to + first, columns: n);
                    }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(images);
            }
        });
    }
}
