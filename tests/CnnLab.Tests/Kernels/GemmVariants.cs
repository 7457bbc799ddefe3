using System.Runtime.Intrinsics;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// What the tests of the GEMM's variants (B in place, A packed once, ...) share: the kernel widths this machine runs and random operands.
/// </summary>
internal static class GemmVariants
{
    /// <summary>The micro-kernel vector widths to test here: scalar, and 256 and 512 bits where accelerated.</summary>
    public static TheoryData<int> Widths()
    {
        var widths = new TheoryData<int> { 0 };
        if (Vector256.IsHardwareAccelerated) widths.Add(256);
        if (Vector512.IsHardwareAccelerated) widths.Add(512);
        return widths;
    }

    /// <summary>N(0, 1) operands: A [M·K], B of <paramref name="bLength"/> floats, a row bias [M] and C [M·N].</summary>
    public static (float[] A, float[] B, float[] Bias, float[] C) Operands(Generator g, int m, int n, int k, int bLength)
    {
        var a = new float[m * k];
        var b = new float[bLength];
        var bias = new float[m];
        var c = new float[m * n];
        g.FillNormal(a, 0, 1);
        g.FillNormal(b, 0, 1);
        g.FillNormal(bias, 0, 1);
        g.FillNormal(c, 0, 1);
        return (a, b, bias, c);
    }
}
