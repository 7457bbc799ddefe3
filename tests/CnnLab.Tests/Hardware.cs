using System.Runtime.Intrinsics.X86;
using CnnLab.Kernels;
using Xunit;

namespace CnnLab.Tests;

/// <summary>What this CPU runs: tests of kernels written for AVX-512 skip them on a machine without it, and only there.</summary>
internal static class Hardware
{
    /// <summary>
    /// Whether <paramref name="algorithm"/> runs <paramref name="g"/> here. Where AVX-512 runs, an algorithm that cannot is a mistake in
    /// the test's data and fails; elsewhere the test skips it.
    /// </summary>
    public static bool Runs(ConvAlgorithm algorithm, in Conv2dGeometry g)
    {
        if (ConvPlanner.CanRun(algorithm, g)) return true;
        Assert.False(Avx512F.IsSupported, $"{algorithm} cannot run {g}");
        return false;
    }
}
