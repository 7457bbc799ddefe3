namespace CnnLab.Kernels;

/// <summary>
/// What a convolution's backward did to dx beyond writing its own gradient (<see cref="Conv2dKernel.BackwardCore"/>): added the
/// gradient the engine had pending for x (<see cref="AddendAdded"/>), then masked the whole by [x &gt; 0] (<see cref="Masked"/>),
/// then took the gradient sums of the batch norm whose ReLU made x (<see cref="BatchNormSummed"/>).
/// </summary>
internal readonly record struct DxFinish(bool Masked, bool AddendAdded, bool BatchNormSummed = false);
