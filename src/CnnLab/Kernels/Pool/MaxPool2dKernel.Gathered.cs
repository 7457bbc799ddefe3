using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

public static partial class MaxPool2dKernel
{
    /// <summary>
    /// One plane of the general max pool (any window, stride, padding, dilation), 16 outputs of a row at a time: each
    /// tap of the 16 windows is two 8-lane gathers (.NET exposes no 16-lane one) (lanes whose tap falls in the padding or past the row read element
    /// 0 and are then ignored). Each lane follows <see cref="ForwardPlaneGeneral"/>'s rule exactly: taps in row-major
    /// order, the window's first tap's index to start, a strictly greater value or a NaN to replace it, nothing after a NaN; so
    /// the same values and indices.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void ForwardPlaneGathered(in Pool2dGeometry g, float* x, float* y, int* idx)
    {
        var negInf = Vector512.Create(float.NegativeInfinity);
        var width = Vector512.Create(g.W);
        // OH and OW are each a division in double (PyTorch's rule): read once, not per row and output.
        int oh = g.OH, ow = g.OW;
        for (int i = 0; i < oh; i++)
            for (int j0 = 0; j0 < ow; j0 += 16)
            {
                var lanes = Vector512<int>.Indices + Vector512.Create(j0);
                var inRow = Vector512.LessThan(lanes, Vector512.Create(ow));
                var columnStart = lanes * g.SW - Vector512.Create(g.PW);
                // The index to keep when no tap beats −∞, as the scalar loop (and PyTorch) sets it: the window's first
                // row and column inside the padding's far side, even for a window with no tap in the input at all.
                int firstRow = i * g.SH - g.PH;
                while (firstRow < 0) firstRow += g.DH;
                var firstColumn = columnStart;
                for (var below = Vector512.LessThan(firstColumn, Vector512<int>.Zero); below != Vector512<int>.Zero;
                     below = Vector512.LessThan(firstColumn, Vector512<int>.Zero))
                    firstColumn += below & Vector512.Create(g.DW);
                var best = negInf;
                var bestAt = Vector512.Create(firstRow) * width + firstColumn;
                for (int kh = 0; kh < g.KH; kh++)
                {
                    int h = i * g.SH - g.PH + kh * g.DH;
                    if ((uint)h >= (uint)g.H) continue;
                    for (int kw = 0; kw < g.KW; kw++)
                    {
                        var w = columnStart + Vector512.Create(kw * g.DW);
                        var valid = inRow & Vector512.GreaterThanOrEqual(w, Vector512<int>.Zero) & Vector512.LessThan(w, width);
                        var at = (Vector512.Create(h) * width + w) & valid;
                        var v = Vector512.Create(Avx2.GatherVector256(x, at.GetLower(), 4), Avx2.GatherVector256(x, at.GetUpper(), 4));
                        var notNaN = Vector512.Equals(best, best);
                        var take = valid.AsSingle() & notNaN & (Vector512.GreaterThan(v, best) | ~Vector512.Equals(v, v));
                        best = Vector512.ConditionalSelect(take, v, best);
                        bestAt = Vector512.ConditionalSelect(take.AsInt32(), at, bestAt);
                    }
                }
                float* yr = y + (long)i * ow + j0;
                int* ir = idx + (long)i * ow + j0;
                if (j0 + 16 <= ow)
                {
                    Vector512.Store(best, yr);
                    Vector512.Store(bestAt, ir);
                }
                else
                {
                    Avx512F.MaskStore(yr, inRow.AsSingle(), best);
                    Avx512F.MaskStore(ir, inRow, bestAt);
                }
            }
    }
}
