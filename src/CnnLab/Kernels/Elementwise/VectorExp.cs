using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

/// <summary>
/// eˣ on 16 lanes in single precision (Cephes' expf, S. L. Moshier): eˣ = 2ⁿ·eʳ with n = round(x·log₂e) and
/// r = x − n·ln 2 (ln 2 in two parts, so r is exact to float precision), eʳ = 1 + r + r²·P(r) with P of degree 5 on
/// |r| ≤ ln 2 / 2 (relative error about 1e-7), then 2ⁿ applied by <c>vscalefps</c>, which overflows to ∞ and
/// underflows through the subnormals to 0; NaN stays NaN. .NET's <see cref="Vector512.Exp(Vector512{float})"/> widens
/// to double, several times the work, and every GELU, ELU, tanh and sigmoid pays for its exp.
/// Without AVX-512 it is <see cref="Vector512.Exp(Vector512{float})"/>.
/// </summary>
/// <remarks>PyTorch: <c>Vectorized&lt;float&gt;::exp</c> (Sleef's <c>expf_u10</c>) plays this role.</remarks>
internal static class VectorExp
{
    private const float Log2E = 1.44269504088896341f, Ln2High = 0.693359375f, Ln2Low = -2.12194440e-4f;
    private const float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f, P3 = 4.1665795894e-2f;
    private const float P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;

    // Beyond these eˣ is ∞ (e^88.73 > float.MaxValue) or 0 (e^-104 is below half the smallest subnormal).
    private const float Highest = 89f, Lowest = -104f;

    // Inlined: a call passes and returns its vectors through the stack, which cost as much as the polynomial.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Of(Vector512<float> x)
    {
        if (!Avx512F.IsSupported) return Vector512.Exp(x);
        // vminps/vmaxps return their second operand when either is NaN: x second keeps a NaN.
        x = Avx512F.Min(Vector512.Create(Highest), Avx512F.Max(Vector512.Create(Lowest), x));
        var n = Vector512.Round(x * Log2E);
        var r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2High), x);
        r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2Low), r);
        var p = Vector512.FusedMultiplyAdd(Vector512.Create(P0), r, Vector512.Create(P1));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P2));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P3));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P4));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P5));
        p = Vector512.FusedMultiplyAdd(p, r * r, r + Vector512<float>.One);
        return Avx512F.Scale(p, n);
    }
}
