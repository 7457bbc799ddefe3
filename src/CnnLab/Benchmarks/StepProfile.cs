namespace CnnLab.Benchmarks;

/// <summary>Milliseconds per training step by part (forward, backward), with allocation and GC rates.</summary>
public sealed record StepProfile(IReadOnlyList<(string Part, double ForwardMs, double BackwardMs)> Parts, double StepMs,
    double AllocatedMbPerStep, double Gen0PerStep, double Gen1PerStep, double Gen2PerStep);
