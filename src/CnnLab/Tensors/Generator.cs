namespace CnnLab.Tensors;

/// <summary>
/// A seeded pseudo-random generator: xoshiro256** (Blackman &amp; Vigna, 2018) seeded through SplitMix64.
/// Every random draw in CnnLab (initializers, dropout, shuffling, augmentation) takes one explicitly,
/// so the same seed always gives the same numbers on every machine and .NET version.
/// </summary>
/// <remarks>PyTorch: <c>torch.Generator</c> with <c>manual_seed</c>. The bit stream differs from
/// PyTorch's Mersenne Twister: CnnLab matches PyTorch's distributions, not its exact draws.</remarks>
public sealed class Generator
{
    private ulong _s0, _s1, _s2, _s3;
    private double? _spareGaussian;

    /// <summary>
    /// The generator layers use when none is passed (like PyTorch's default generator). Seed it with
    /// <c>Generator.Default.ManualSeed(n)</c>; library code that must be reproducible takes an explicit one.
    /// </summary>
    public static Generator Default { get; } = new(0);

    /// <summary>Creates a generator seeded with <paramref name="seed"/>.</summary>
    public Generator(long seed = 0) => ManualSeed(seed);

    /// <summary>The seed last given to <see cref="ManualSeed"/>.</summary>
    public long InitialSeed { get; private set; }

    /// <summary>Resets the stream to the start of <paramref name="seed"/>'s sequence.</summary>
    public Generator ManualSeed(long seed)
    {
        InitialSeed = seed;
        ulong x = unchecked((ulong)seed);
        _s0 = SplitMix(ref x); _s1 = SplitMix(ref x); _s2 = SplitMix(ref x); _s3 = SplitMix(ref x);
        _spareGaussian = null;
        return this;
    }

    private static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        ulong result = RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0; _s3 ^= _s1; _s1 ^= _s2; _s0 ^= _s3;
        _s2 ^= t;
        _s3 = RotateLeft(_s3, 45);
        return result;
    }

    private static ulong RotateLeft(ulong x, int k) => (x << k) | (x >> (64 - k));

    /// <summary>Uniform double in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform float in [0, 1) with 24 random bits.</summary>
    public float NextFloat() => (NextUInt64() >> 40) * (1.0f / (1 << 24));

    /// <summary>Uniform integer in [0, <paramref name="maxExclusive"/>) without modulo bias (Lemire's method).</summary>
    public int NextInt(int maxExclusive)
    {
        if (maxExclusive <= 0) throw new ArgumentOutOfRangeException(nameof(maxExclusive), maxExclusive, "must be positive");
        ulong range = (ulong)maxExclusive;
        ulong x = NextUInt64() >> 32;
        ulong m = x * range;
        ulong low = m & 0xFFFFFFFFUL;
        if (low < range)
        {
            ulong threshold = (0x100000000UL - range) % range;
            while (low < threshold)
            {
                x = NextUInt64() >> 32;
                m = x * range;
                low = m & 0xFFFFFFFFUL;
            }
        }
        return (int)(m >> 32);
    }

    /// <summary>Standard normal N(0, 1) by the Box–Muller transform (pairs are cached).</summary>
    public double NextGaussian()
    {
        if (_spareGaussian is double spare)
        {
            _spareGaussian = null;
            return spare;
        }
        double u1;
        do { u1 = NextDouble(); } while (u1 <= double.Epsilon);
        double u2 = NextDouble();
        double r = Math.Sqrt(-2.0 * Math.Log(u1));
        double theta = 2.0 * Math.PI * u2;
        _spareGaussian = r * Math.Sin(theta);
        return r * Math.Cos(theta);
    }

    /// <summary>Fills <paramref name="destination"/> with U[low, high).</summary>
    public void FillUniform(Span<float> destination, float low, float high)
    {
        double width = (double)high - low;
        for (int i = 0; i < destination.Length; i++) destination[i] = (float)(low + width * NextDouble());
    }

    /// <summary>Fills <paramref name="destination"/> with N(mean, std²).</summary>
    public void FillNormal(Span<float> destination, float mean, float std)
    {
        for (int i = 0; i < destination.Length; i++) destination[i] = (float)(mean + std * NextGaussian());
    }

    /// <summary>In-place Fisher–Yates shuffle.</summary>
    public void Shuffle<T>(Span<T> items)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary>The full internal state, for checkpoints that must resume bit-identically.</summary>
    public ulong[] GetState() => [_s0, _s1, _s2, _s3, _spareGaussian is double d ? 1UL : 0UL,
        _spareGaussian is double d2 ? (ulong)BitConverter.DoubleToInt64Bits(d2) : 0UL, unchecked((ulong)InitialSeed)];

    /// <summary>Restores a state produced by <see cref="GetState"/>.</summary>
    public void SetState(ReadOnlySpan<ulong> state)
    {
        if (state.Length != 7) throw new ArgumentException($"generator state must have 7 words, got {state.Length}", nameof(state));
        _s0 = state[0]; _s1 = state[1]; _s2 = state[2]; _s3 = state[3];
        _spareGaussian = state[4] != 0 ? BitConverter.Int64BitsToDouble((long)state[5]) : null;
        InitialSeed = unchecked((long)state[6]);
    }
}
