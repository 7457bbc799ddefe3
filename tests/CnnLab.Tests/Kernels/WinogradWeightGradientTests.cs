using System.Runtime.Intrinsics.X86;
using CnnLab.Kernels;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// The Winograd weight gradient's two transforms are the adjoints of the forward's: ⟨T(a), b⟩ = ⟨a, T*(b)⟩
/// for random a and b. (Conv2dKernel's dW through them is held to the direct reference in Winograd3x3Tests.)
/// </summary>
public class WinogradWeightGradientTests
{
    [Theory]
    [InlineData(14, 14)]
    [InlineData(7, 9)]     // odd: the last tile row and column half outside
    [InlineData(5, 40)]    // 20 tiles a row: two vectors per tile row
    [InlineData(1, 1)]
    public unsafe void OutputGradientTransformIsTheAdjointOfTheOutputTransform(int h, int w)
    {
        if (!Avx512F.IsSupported) return; // AVX-512 only, as the Winograd path
        int tiles = Winograd3x3.Tiles(h, w), stride = tiles + 16;
        var rnd = new Generator(11);
        var m = new float[16 * stride + 16];
        var dy = new float[h * w];
        rnd.FillNormal(m, 0, 1);
        rnd.FillNormal(dy, 0, 1);
        var y = new float[h * w];
        var dm = new float[16 * stride + 16];
        fixed (float* pm = m, py = y, pdy = dy, pdm = dm)
        {
            Winograd3x3.TransformOutput(pm, stride, h, w, null, relu: false, accumulate: false, py);
            WinogradWeightGradient.TransformOutputGradient(pdy, h, w, pdm, stride);
        }
        double left = 0, right = 0, scale = 0;
        for (int i = 0; i < y.Length; i++) { left += (double)y[i] * dy[i]; scale += Math.Abs((double)y[i] * dy[i]); }
        for (int xi = 0; xi < 16; xi++)
            for (int t = 0; t < tiles; t++) right += (double)m[xi * stride + t] * dm[xi * stride + t];
        Assert.True(Math.Abs(left - right) <= 1e-5 * scale, $"<T m, dy> = {left}, <m, T* dy> = {right}");
    }

    [Fact]
    public unsafe void KernelGradientIsTheAdjointOfTheKernelTransform()
    {
        var rnd = new Generator(12);
        var k = new float[9];
        var du = new float[16];
        rnd.FillNormal(k, 0, 1);
        rnd.FillNormal(du, 0, 1);
        var u = new float[16];
        fixed (float* pk = k, pu = u) Winograd3x3.TransformKernel(pk, turned: false, pu, 1);
        var dk = new float[9];
        Array.Fill(dk, 0.25f);
        WinogradWeightGradient.KernelGradient(du, dk);
        double left = 0, right = 0;
        for (int i = 0; i < 16; i++) left += (double)u[i] * du[i];
        for (int i = 0; i < 9; i++) right += (double)k[i] * (dk[i] - 0.25f);
        Assert.Equal(left, right, 4);
    }
}
