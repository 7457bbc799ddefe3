namespace CnnLab.Tensors;

public partial class Tensor
{
    private static int s_frozenEpochs;

    /// <summary>
    /// 0, or the freeze (<see cref="Nn.Module.Freeze"/>) that declared this tensor's values constant: a prepared form of
    /// them checked once in that freeze (a convolution's packed weights, a folded batch norm) is trusted without comparing
    /// the values again on every call. The library's own writes give the tensor a new freeze (<see cref="NoteWrite"/>),
    /// so what was prepared before is checked once more; a write through <see cref="Data"/> is not seen until
    /// <see cref="Nn.Module.Unfreeze"/>.
    /// </summary>
    internal int FrozenEpoch { get; set; }

    /// <summary>A number no freeze has had before.</summary>
    internal static int NewFrozenEpoch() => Interlocked.Increment(ref s_frozenEpochs);

    /// <summary>Called by the library after it writes this tensor's values (an optimizer step, a loaded state dict, an initializer).</summary>
    internal void NoteWrite()
    {
        if (FrozenEpoch != 0) FrozenEpoch = NewFrozenEpoch();
    }
}
