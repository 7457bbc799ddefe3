namespace CnnLab.Init.Networks;

/// <summary>
/// What an <see cref="InitScheme"/> did to one layer: the rule it chose, its gain (the gain argument of
/// the rule in PyTorch's sense; for the naive schemes normal/uniform the equivalent std·√fan_in; 0 for
/// zeros/constant) and why.
/// </summary>
/// <remarks>PyTorch: no counterpart.</remarks>
public sealed record LayerInitChoice(string Layer, string Scheme, double Gain, string Reason);
