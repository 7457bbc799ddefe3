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
    [Fact]
    public unsafe void Eight_kernel_gradients_in_lanes_have_the_bits_of_one_at_a_time()
    {
        KernelTransformLanes.AssertGradientSameBits(16, 9, &WinogradWeightGradient.KernelGradients, &WinogradWeightGradient.KernelGradient);
        if (Winograd4x4.TransformsKernelsInLanes)
            KernelTransformLanes.AssertGradientSameBits(36, 9, &Winograd4x4.KernelGradients, &Winograd4x4.KernelGradient);
    }

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

    [Theory]
    [InlineData(16, 16, 392)]
    [InlineData(5, 7, 37)]     // rows past both 4 x 4 blocks' edges, a masked tail of 5 tiles
    [InlineData(4, 4, 16)]
    [InlineData(3, 2, 1)]
    [InlineData(40, 48, 130)]  // more than 16 channels: V turned round, three vectors of channels, rows past 8
    [InlineData(9, 33, 77)]    // a last block of one channel, its other lanes dropped; one row past a block of 8
    [InlineData(8, 20, 5)]     // two vectors, the second of 4 channels
    [InlineData(17, 64, 200)]  // 64 channels as two pairs of vectors
    [InlineData(3, 112, 31)]   // three vectors, then two pairs
    [InlineData(1, 17, 1)]
    public unsafe void DotsAddEveryRowPairsProductOverTheTiles(int rows, int cols, int k)
    {
        if (!Avx512F.IsSupported) return;
        const int stride = 400;
        var rnd = new Generator(5);
        var dm = new float[rows * stride];
        var v = new float[cols * stride];
        rnd.FillNormal(dm, 0, 1);
        rnd.FillNormal(v, 0, 1);
        // Past k the rows hold values the products must not read: NaN would spread.
        for (int r = 0; r < rows; r++) dm.AsSpan(r * stride + k, stride - k).Fill(float.NaN);
        for (int c = 0; c < cols; c++) v.AsSpan(c * stride + k, stride - k).Fill(float.NaN);
        var du = new float[rows * cols];
        du.AsSpan().Fill(0.5f);
        fixed (float* pdm = dm, pv = v, pdu = du) WinogradWeightGradient.AddDots(rows, cols, k, pdm, pv, stride, pdu);
        for (int o = 0; o < rows; o++)
            for (int c = 0; c < cols; c++)
            {
                double expected = 0.5, scale = 0;
                for (int t = 0; t < k; t++)
                {
                    expected += (double)dm[o * stride + t] * v[c * stride + t];
                    scale += Math.Abs((double)dm[o * stride + t] * v[c * stride + t]);
                }
                Assert.True(Math.Abs(du[o * cols + c] - expected) <= 1e-5 * (scale + 1), $"dU[{o}, {c}] = {du[o * cols + c]}, expected {expected}");
            }
    }

    // F(4x4, 3x3)'s weight gradient on 7x7 planes (2x2 tiles, 4 images a vector) with more than 16 inputs, as the planner takes it
    // from 64 channels: the same bits on 1 and 2 threads, y and dx also for any block size.
    [Fact]
    public void Wide_tiles_on_7x7_planes_give_the_same_bits_for_any_thread_count() =>
        Winograd4x4Tests.SameBitsForAnyThreadCountOrBlock(new Conv2dGeometry(40, 48, 7, 7, 64, 3, 3, PH: 1, PW: 1),
            ConvAlgorithm.Winograd4x4, [0, 20, 8]);
}
