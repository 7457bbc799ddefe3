namespace CnnLab.Kernels;

/// <summary>
/// Weights whose forward plan <see cref="ConvPlanCache"/> keeps: the array that holds them (the cache's key) and the epoch
/// their values are known unchanged in (Tensor.TrustedEpoch: a freeze, or their last write; 0: none, so they are compared
/// on every call).
/// </summary>
internal readonly record struct CachedWeights(float[] Key, long TrustedEpoch);
