using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

/// <summary>
/// The gradient of z where pooled = maxpool(max(0, z)): dz[argmax] += d pooled where pooled &gt; 0 (the
/// ReLU's output at the argmax is the pooled value itself), zero elsewhere: the same sums in the same
/// order as the max pool's backward followed by the ReLU's. <paramref name="pool"/> is the max pool's
/// geometry on z.
/// </summary>
internal sealed unsafe class MaxPoolReluPlanes(float* dPooled, float* pooled, int* argmax, Pool2dGeometry pool) : PlaneGradient(pool.H * pool.W)
{
    private readonly int _pooledPerPlane = pool.OH * pool.OW;
    // The geometry's sizes as plain fields: OH and OW are computed properties, and a call inside the
    // vector loop would make the JIT spill its vector registers around it.
    private readonly int _oh = pool.OH, _ow = pool.OW, _w = pool.W;

    // 2x2 windows at stride 2 that tile the plane exactly (the zoo's pools): every element of z lies in
    // one window, so the plane is written once, 32 columns at a time, instead of cleared and scattered into.
    private readonly bool _tiles2x2 = Avx512F.IsSupported
        && pool is { KH: 2, KW: 2, SH: 2, SW: 2, PH: 0, PW: 0, DH: 1, DW: 1 } && pool.H == 2 * pool.OH && pool.W == 2 * pool.OW;

    public override void Prefetch(long plane)
    {
        PrefetchRange(dPooled + plane * _pooledPerPlane, _pooledPerPlane);
        PrefetchRange(pooled + plane * _pooledPerPlane, _pooledPerPlane);
        PrefetchRange((float*)(argmax + plane * _pooledPerPlane), _pooledPerPlane);
    }

    public override ReadOnlySpan<float> Plane(long plane, Span<float> scratch)
    {
        var dst = scratch[..PlaneSize];
        float* d = dPooled + plane * _pooledPerPlane, v = pooled + plane * _pooledPerPlane;
        int* idx = argmax + plane * _pooledPerPlane;
        if (_tiles2x2)
        {
            fixed (float* p = dst) Unpool2x2(d, v, idx, p);
            return dst;
        }
        dst.Clear();
        for (int k = 0; k < _pooledPerPlane; k++)
        {
            if (!InWindow(k, idx[k])) throw new ArgumentException($"argmax index {idx[k]} of window {k} is outside that window's taps");
            // Branch-free (the sign of the pooled values is unpredictable); adding +0 where masked keeps
            // the same bits as the unfused ReLU backward's 0.
            dst[idx[k]] += v[k] > 0f ? d[k] : 0f;
        }
        return dst;
    }

    // Whether index at (in the plane) is one of window k's taps: the same check as the 2x2 tiles' match.
    private bool InWindow(int k, int at)
    {
        if ((uint)at >= (uint)PlaneSize) return false;
        int oy = k / _ow, ox = k - oy * _ow, row = at / _w, col = at - row * _w;
        int dy = row - (oy * pool.SH - pool.PH), dx = col - (ox * pool.SW - pool.PW);
        return (uint)dy <= (uint)((pool.KH - 1) * pool.DH) && dy % pool.DH == 0
            && (uint)dx <= (uint)((pool.KW - 1) * pool.DW) && dx % pool.DW == 0;
    }

    // 16 windows at a time: their gradients g = d·[pooled > 0] and argmax indices are each repeated
    // twice (one per column of the window) and compared with the index of every element of the window's
    // two rows; the element that matches gets 0 + g (the scatter's sum, so −0 becomes +0 as there),
    // the others +0. Every window must match exactly once, which checks that its index lies inside it.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Unpool2x2(float* d, float* v, int* idx, float* dst)
    {
        int oh = _oh, ow = _ow, w = _w;
        var low = Vector512.Create(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
        var high = low + Vector512.Create(8);
        var zero = Vector512<float>.Zero;
        var below = Vector512.Create(w);
        for (int i = 0; i < oh; i++)
        {
            int rowStart = 2 * i * w;
            float* top = dst + rowStart;
            for (int j = 0; j < ow; j += 16)
            {
                int count = Math.Min(16, ow - j), k = i * ow + j;
                Vector512<float> g, value;
                Vector512<int> at;
                if (count == 16)
                {
                    g = Vector512.Load(d + k);
                    value = Vector512.Load(v + k);
                    at = Vector512.Load(idx + k);
                }
                else
                {
                    var inRow = LaneMask.First(count);
                    g = Avx512F.MaskLoad(d + k, inRow.AsSingle(), zero);
                    value = Avx512F.MaskLoad(v + k, inRow.AsSingle(), zero);
                    at = Avx512F.MaskLoad(idx + k, inRow, Vector512.Create(-1));
                }
                g = Vector512.ConditionalSelect(Vector512.GreaterThan(value, zero), g, zero);
                var target = Vector512.Create(rowStart + 2 * j) + Vector512<int>.Indices;
                int matches = Half(Avx512F.PermuteVar16x32(g, low), Avx512F.PermuteVar16x32(at, low), target, below, top + 2 * j, w,
                    Math.Min(16, 2 * count));
                if (count > 8)
                    matches += Half(Avx512F.PermuteVar16x32(g, high), Avx512F.PermuteVar16x32(at, high), target + Vector512.Create(16), below,
                        top + 2 * j + 16, w, 2 * count - 16);
                if (matches != count)
                    throw new ArgumentException($"an argmax index of pooled row {i} (outputs {j}..{j + count - 1}) lies outside its 2x2 window");
            }
        }
    }

    // 16 columns of the window rows (8 windows): writes `width` of them in both rows, returns the matches.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Half(Vector512<float> g, Vector512<int> at, Vector512<int> target, Vector512<int> below, float* top, int w, int width)
    {
        var zero = Vector512<float>.Zero;
        var hitTop = Vector512.Equals(at, target);
        var hitBottom = Vector512.Equals(at, target + below);
        var outTop = Vector512.ConditionalSelect(hitTop.AsSingle(), g, zero) + zero;
        var outBottom = Vector512.ConditionalSelect(hitBottom.AsSingle(), g, zero) + zero;
        ulong bits = hitTop.ExtractMostSignificantBits() | (hitBottom.ExtractMostSignificantBits() << 16);
        if (width == 16)
        {
            outTop.Store(top);
            outBottom.Store(top + w);
            return BitOperations.PopCount(bits);
        }
        var store = LaneMask.First(width).AsSingle();
        Avx512F.MaskStore(top, store, outTop);
        Avx512F.MaskStore(top + w, store, outBottom);
        ulong lanes = (1UL << width) - 1;
        return BitOperations.PopCount(bits & (lanes | lanes << 16));
    }
}
