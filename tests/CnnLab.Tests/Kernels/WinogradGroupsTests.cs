using System.Runtime.Intrinsics.X86;
using CnnLab.Kernels;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// With groups, Winograd's backward runs a block's images group by group (<c>ConvBackwardPass.RunBlocksByGroup</c>), so that a
/// group's transformed planes stay in cache; each group's dx, dW and db must still be the bits of the same convolution on that
/// group's channels alone, which runs image by image.
/// </summary>
public class WinogradGroupsTests
{
    [Theory]
    [InlineData(40, 4, 18)]   // 16 chunks of 2-3 images, blocks of 2 images (9 tiles each): full and short blocks
    [InlineData(5, 2, 0)]     // one image a chunk
    public void GroupsRunGroupByGroupWithTheBitsOfEachGroupAlone(int n, int groups, int blockColumns)
    {
        if (!Avx512F.IsSupported) return;
        var g = new Conv2dGeometry(n, 8 * groups, 12, 12, 8 * groups, 3, 3, PH: 1, PW: 1, G: groups);
        var one = new Conv2dGeometry(n, 8, 12, 12, 8, 3, 3, PH: 1, PW: 1);
        var (x, wt, _, dy) = Winograd4x4Tests.Inputs(g, 3);
        float[] dx = Winograd4x4Tests.Filled(x.Length, 0.25f), dw = new float[wt.Length], db = new float[g.OC];
        Winograd4x4Tests.Backward(g, x, wt, dy, dx, dw, db, blockColumns, ConvAlgorithm.Winograd4x4);
        int plane = 12 * 12, groupPlanes = 8 * plane;
        for (int grp = 0; grp < groups; grp++)
        {
            float[] xg = new float[n * groupPlanes], dyg = new float[n * groupPlanes], dxg = Winograd4x4Tests.Filled(xg.Length, 0.25f);
            for (int i = 0; i < n; i++)
            {
                Array.Copy(x, (i * groups + grp) * groupPlanes, xg, i * groupPlanes, groupPlanes);
                Array.Copy(dy, (i * groups + grp) * groupPlanes, dyg, i * groupPlanes, groupPlanes);
            }
            float[] wg = wt.AsSpan(grp * 8 * 72, 8 * 72).ToArray(), dwg = new float[wg.Length], dbg = new float[8];
            Winograd4x4Tests.Backward(one, xg, wg, dyg, dxg, dwg, dbg, blockColumns, ConvAlgorithm.Winograd4x4);
            for (int i = 0; i < n; i++)
                Assert.Equal(dxg.AsSpan(i * groupPlanes, groupPlanes).ToArray(), dx.AsSpan((i * groups + grp) * groupPlanes, groupPlanes).ToArray());
            Assert.Equal(dwg, dw.AsSpan(grp * 8 * 72, 8 * 72).ToArray());
            Assert.Equal(dbg, db.AsSpan(grp * 8, 8).ToArray());
        }
    }
}
