using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// Checks a Winograd kernel transform that takes eight kernels a vector (u[ξ·8 + r]) against its one-kernel form
/// (u[ξ·stride]) bit for bit, turned and not, on kernels 4 floats further apart than their taps, with a subnormal and a −0
/// among the taps.
/// </summary>
internal static unsafe class KernelTransformLanes
{
    public static void AssertSameBits(int positions, delegate*<float*, long, bool, float*, void> eight,
        delegate*<float*, bool, float*, int, void> one, int taps = 9)
    {
        int stride = taps + 4;
        var k = new float[8 * stride];
        new Generator(positions).FillNormal(k, 0, 1);
        k[2] = 1e-38f;
        k[stride + 4] = -0f;
        foreach (bool turned in new[] { false, true })
        {
            var lanes = new float[positions * 8];
            var oneByOne = new float[positions * 8];
            fixed (float* pk = k, pl = lanes, po = oneByOne)
            {
                eight(pk, stride, turned, pl);
                for (int r = 0; r < 8; r++) one(pk + r * stride, turned, po + r, 8);
            }
            Assert.Equal(oneByOne.Select(BitConverter.SingleToInt32Bits), lanes.Select(BitConverter.SingleToInt32Bits));
        }
    }

    /// <summary>
    /// Checks a weight-gradient transform that takes eight (o, c) a vector (lane l's dU at ξ·11 + l, its kernel gradient at
    /// dk + l·<paramref name="taps"/>, +=) against its one-kernel form bit for bit, on random dU with a subnormal among them.
    /// </summary>
    public static void AssertGradientSameBits(int positions, int taps, delegate*<float*, long, float*, void> eight,
        delegate*<ReadOnlySpan<float>, Span<float>, void> one)
    {
        const int lanes = 8, duStride = 11;
        var du = new float[positions * duStride];
        var start = new float[lanes * taps];
        var r = new Generator(positions + taps);
        r.FillNormal(du, 0, 1);
        r.FillNormal(start, 0, 1);
        du[5] = 1e-38f;
        var inLanes = (float[])start.Clone();
        var oneByOne = (float[])start.Clone();
        fixed (float* pdu = du, pk = inLanes) eight(pdu, duStride, pk);
        for (int l = 0; l < lanes; l++)
        {
            var single = Enumerable.Range(0, positions).Select(xi => du[xi * duStride + l]).ToArray();
            one(single, oneByOne.AsSpan(l * taps, taps));
        }
        Assert.Equal(oneByOne.Select(BitConverter.SingleToInt32Bits), inLanes.Select(BitConverter.SingleToInt32Bits));
    }
}
