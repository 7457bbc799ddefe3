namespace CnnLab.Init.Networks;

/// <summary>A problem the doctor found: the layer, what is wrong and why, and how to fix it.</summary>
/// <remarks>PyTorch: no counterpart.</remarks>
public sealed record DoctorWarning(string Layer, string Message, string Fix);
