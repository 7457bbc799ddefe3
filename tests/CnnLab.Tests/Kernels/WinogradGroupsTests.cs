using System.Runtime.Intrinsics.X86;
using CnnLab.Kernels;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// With groups, Winograd's backward runs a block's images group by group (<c>ConvBackwardPass.RunBlocksByGroup</c>), so that a
/// group's transformed planes stay in cache, and every group's planes take the same place in the transform buffers; each group's
/// dx, dW and db must still be the bits of the same convolution on that group's channels alone, which runs image by image.
/// </summary>
public class WinogradGroupsTests
{
    [Theory]
    [InlineData(40, 4, 12, 3, 18, ConvAlgorithm.Winograd4x4)]   // 16 chunks of 2-3 images, blocks of 2 images (9 tiles each)
    [InlineData(5, 2, 12, 3, 0, ConvAlgorithm.Winograd4x4)]     // one image a chunk
    [InlineData(21, 3, 7, 3, 0, ConvAlgorithm.Winograd4x4)]     // 7x7: tiny planes, staged four images at a time; odd groups
    [InlineData(19, 3, 10, 3, 50, ConvAlgorithm.Winograd)]      // F(2x2, 3x3): blocks of 2 images (25 tiles each), short ones
    [InlineData(19, 2, 9, 5, 40, ConvAlgorithm.Winograd5x5)]    // F(2x2, 5x5): blocks of 1 image
    [InlineData(24, 3, 12, 3, 0, ConvAlgorithm.Auto)]           // the planner's choice for each pass
    public void GroupsRunGroupByGroupWithTheBitsOfEachGroupAlone(int n, int groups, int side, int kernel, int blockColumns,
        ConvAlgorithm algorithm)
    {
        if (!Avx512F.IsSupported) return;
        int pad = kernel / 2;
        var g = new Conv2dGeometry(n, 8 * groups, side, side, 8 * groups, kernel, kernel, PH: pad, PW: pad, G: groups);
        var one = new Conv2dGeometry(n, 8, side, side, 8, kernel, kernel, PH: pad, PW: pad);
        Assert.Equal(ConvPlanner.Plan(one, algorithm), ConvPlanner.Plan(g, algorithm));
        var (x, wt, _, dy) = Winograd4x4Tests.Inputs(g, 3);
        float[] dx = Winograd4x4Tests.Filled(x.Length, 0.25f), dw = new float[wt.Length], db = new float[g.OC];
        Winograd4x4Tests.Backward(g, x, wt, dy, dx, dw, db, blockColumns, algorithm);
        int plane = side * side, groupPlanes = 8 * plane, groupWeights = 8 * 8 * kernel * kernel;
        for (int grp = 0; grp < groups; grp++)
        {
            float[] xg = new float[n * groupPlanes], dyg = new float[n * groupPlanes], dxg = Winograd4x4Tests.Filled(xg.Length, 0.25f);
            for (int i = 0; i < n; i++)
            {
                Array.Copy(x, (i * groups + grp) * groupPlanes, xg, i * groupPlanes, groupPlanes);
                Array.Copy(dy, (i * groups + grp) * groupPlanes, dyg, i * groupPlanes, groupPlanes);
            }
            float[] wg = wt.AsSpan(grp * groupWeights, groupWeights).ToArray(), dwg = new float[wg.Length], dbg = new float[8];
            Winograd4x4Tests.Backward(one, xg, wg, dyg, dxg, dwg, dbg, blockColumns, algorithm);
            for (int i = 0; i < n; i++)
                Assert.Equal(dxg.AsSpan(i * groupPlanes, groupPlanes).ToArray(), dx.AsSpan((i * groups + grp) * groupPlanes, groupPlanes).ToArray());
            Assert.Equal(dwg, dw.AsSpan(grp * groupWeights, groupWeights).ToArray());
            Assert.Equal(dbg, db.AsSpan(grp * 8, 8).ToArray());
        }
    }
}
