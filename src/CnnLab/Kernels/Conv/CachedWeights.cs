namespace CnnLab.Kernels;

/// <summary>
/// Weights whose forward plan <see cref="ConvPlanCache"/> keeps: the array that holds them (the cache's key) and the freeze
/// they are declared constant in (0: none, so they are compared on every call).
/// </summary>
internal readonly record struct CachedWeights(float[] Key, int FrozenEpoch);
