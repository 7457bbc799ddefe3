using System.Buffers;

namespace CnnLab.Kernels;

// Legend: x [N, C, H, W], S = H·W floats per plane; pooled and argmax [N, C, PH, PW], Q = PH·PW per plane.

/// <summary>
/// The forward of maxpool(max(0, batchnorm(x))) one plane at a time: the normalized plane
/// (x·scale[c] + shift[c], the folded batch-norm affine) is clamped at 0 and pooled while it is in cache,
/// so the full-size batch-norm and ReLU outputs are never stored. Same values and indices as
/// <see cref="BatchNormKernel.ScaleShift"/>, <see cref="ReluKernel.Forward"/> and
/// <see cref="MaxPool2dKernel.Forward"/> in a row, bit for bit. The backward is batch norm's, fed plane by
/// plane by <see cref="MaxPoolReluPlanes"/>.
/// </summary>
/// <remarks>PyTorch: <c>F.max_pool2d(F.relu(F.batch_norm(x, ...)), ...)</c>, fused.</remarks>
public static class BatchNormReluMaxPoolKernel
{
    /// <summary>Overwrites <paramref name="pooled"/> and <paramref name="argmax"/> (index within the H·W plane).</summary>
    public static unsafe void Forward(ReadOnlySpan<float> x, in Pool2dGeometry pool, ReadOnlySpan<float> scale, ReadOnlySpan<float> shift,
        Span<float> pooled, Span<int> argmax)
    {
        int planes = pool.N * pool.C, s = pool.H * pool.W, q = pool.OH * pool.OW;
        if (x.Length < (long)planes * s) throw new ArgumentException($"x has {x.Length} elements, needs {planes * s}");
        if (pooled.Length < (long)planes * q || argmax.Length < (long)planes * q)
            throw new ArgumentException($"pooled and argmax need {planes * q} elements");
        if (scale.Length < pool.C || shift.Length < pool.C) throw new ArgumentException($"scale and shift need {pool.C} elements");
        // 2x2 windows: each plane pooled straight from x, normalized as it is loaded. Else one image at a
        // time: its C normalized planes go to a per-thread block, then one pooling call.
        var oneImage = pool with { N = 1 };
        int c = pool.C;
        bool direct = MaxPool2dKernel.IsWhole2x2(pool) && System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated;
        fixed (float* px = x, psc = scale, psh = shift, pp = pooled)
        fixed (int* pi = argmax)
        {
            nint xs = (nint)px, scs = (nint)psc, shs = (nint)psh, ps = (nint)pp, iss = (nint)pi;
            if (direct)
            {
                int oh = pool.OH, ow = pool.OW, w = pool.W;
                long total = (long)planes * s;
                Parallelism.For(planes, Math.Max(1, 4096 / Math.Max(1, q)), (p0, p1) =>
                {
                    for (long plane = p0; plane < p1; plane++)
                    {
                        int ch = (int)(plane % c);
                        MaxPool2dKernel.ForwardPlane2x2ScaleShiftRelu(oh, ow, w, (float*)xs + plane * s, ((float*)scs)[ch], ((float*)shs)[ch],
                            (float*)ps + plane * q, (int*)iss + plane * q, total - plane * s);
                    }
                });
                return;
            }
            Parallelism.For(pool.N, 1, (n0, n1) =>
            {
                float[] block = ArrayPool<float>.Shared.Rent(c * s);
                for (int n = n0; n < n1; n++)
                {
                    for (int ch = 0; ch < c; ch++)
                    {
                        // The values of ScaleShift then Relu, in one pass over the plane.
                        BatchNormPlanes.ScaleShiftRelu(new ReadOnlySpan<float>((float*)xs + ((long)n * c + ch) * s, s), ((float*)scs)[ch],
                            ((float*)shs)[ch], block.AsSpan(ch * s, s));
                    }
                    MaxPool2dKernel.ForwardOnThisThread(oneImage, block.AsSpan(0, c * s), new Span<float>((float*)ps + (long)n * c * q, c * q),
                        new Span<int>((int*)iss + (long)n * c * q, c * q));
                }
                ArrayPool<float>.Shared.Return(block);
            });
        }
    }
}
