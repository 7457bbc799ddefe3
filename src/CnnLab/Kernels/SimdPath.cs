using System.Runtime.Intrinsics;

namespace CnnLab.Kernels;

/// <summary>
/// The vector width the kernels run at on this machine, as the JIT reports it: 512-bit (AVX-512 on x64) when
/// <see cref="Vector512.IsHardwareAccelerated"/>, else 256-bit (AVX2) when <see cref="Vector256.IsHardwareAccelerated"/>,
/// else the scalar fallbacks. Every kernel chooses its path by the same two tests (e.g. <c>Gemm</c>'s kernel table), so
/// this is the path they all take. For a process, <c>DOTNET_EnableAVX512=0</c> (or <c>DOTNET_PreferredVectorBitWidth=256</c>)
/// selects the 256-bit path and <c>DOTNET_EnableHWIntrinsic=0</c> the scalar one.
/// </summary>
public static class SimdPath
{
    /// <summary>512, 256, or 0 for the scalar code.</summary>
    public static int VectorBits =>
        Vector512.IsHardwareAccelerated ? 512 : Vector256.IsHardwareAccelerated ? 256 : 0;

    /// <summary>"AVX-512", "AVX2" or "scalar".</summary>
    public static string Name => VectorBits switch
    {
        512 => "AVX-512",
        256 => "AVX2",
        _ => "scalar",
    };
}
