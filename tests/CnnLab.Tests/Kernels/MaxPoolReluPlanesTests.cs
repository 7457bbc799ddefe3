using CnnLab.Kernels;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// The rebuilt gradient of z for pooled = maxpool(max(0, z)) (<see cref="MaxPoolReluPlanes"/>), whose
/// exact-2x2 planes take the vector path, against the scalar scatter it replaces (max pool's backward,
/// then the ReLU mask on the pooled values), bit for bit: signed zeros, NaN, rows narrower and wider than
/// 16 windows; and a corrupt argmax index is an error, not a dropped gradient.
/// </summary>
public class MaxPoolReluPlanesTests
{
    public static TheoryData<int, int, int, int> Sizes => new()
    {
        // planes, H, W, kernel (2 = exact 2x2 windows, the vector path; 3 = overlapping, the scalar path)
        { 3, 28, 28, 2 },
        { 3, 14, 14, 2 },
        { 2, 4, 64, 2 },   // two full groups of 16 windows per row
        { 2, 6, 70, 2 },   // two full groups and a partial one
        { 2, 2, 2, 2 },
        { 2, 9, 9, 3 },
    };

    [Theory]
    [MemberData(nameof(Sizes))]
    public unsafe void Rebuilt_plane_equals_the_scalar_scatter(int planes, int h, int w, int kernel)
    {
        var pool = new Pool2dGeometry(planes, 1, h, w, kernel, kernel, 2, 2);
        int s = h * w, q = pool.OH * pool.OW;
        var r = new Generator(h * 31 + w);
        var z = new float[planes * s];
        r.FillNormal(z, 0, 1);
        for (int i = 0; i < z.Length; i += 7) z[i] = -0f;
        var pooled = new float[planes * q];
        var argmax = new int[planes * q];
        MaxPool2dKernel.Forward(pool, z, pooled, argmax);
        var dPooled = new float[planes * q];
        r.FillNormal(dPooled, 0, 1);
        for (int i = 0; i < dPooled.Length; i += 5) dPooled[i] = -0f;
        dPooled[q / 2] = float.NaN;
        pooled[q / 3] = -0f;

        var expected = new float[planes * s];
        var masked = dPooled.Select((d, i) => pooled[i] > 0f ? d : 0f).ToArray();
        MaxPool2dKernel.BackwardReference(pool, masked, argmax, expected);

        var actual = new float[planes * s];
        fixed (float* pd = dPooled, pp = pooled)
        fixed (int* pi = argmax)
        {
            var planesOf = new MaxPoolReluPlanes(pd, pp, pi, pool);
            var scratch = new float[s];
            for (int p = 0; p < planes; p++)
            {
                Array.Fill(scratch, 123f); // stale contents must not survive
                planesOf.Plane(p, scratch).CopyTo(actual.AsSpan(p * s, s));
            }
        }
        Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), actual.Select(BitConverter.SingleToInt32Bits));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public unsafe void Argmax_outside_its_window_is_an_error(int kernel)
    {
        var pool = new Pool2dGeometry(1, 1, 8, 8, kernel, kernel, 2, 2);
        int q = pool.OH * pool.OW;
        var pooled = Enumerable.Repeat(1f, q).ToArray();
        var dPooled = Enumerable.Repeat(1f, q).ToArray();
        // Window 0's index points into window 1 (2x2) or outside the plane (3x3).
        var argmax = Enumerable.Range(0, q).Select(k => 2 * (k / pool.OW) * 8 + 2 * (k % pool.OW)).ToArray();
        argmax[0] = kernel == 2 ? 2 : 64;
        fixed (float* pd = dPooled, pp = pooled)
        fixed (int* pi = argmax)
        {
            var planesOf = new MaxPoolReluPlanes(pd, pp, pi, pool);
            var ex = Assert.Throws<ArgumentException>(() => planesOf.Plane(0, new float[64]));
            Assert.Contains("argmax", ex.Message);
        }
    }
}
