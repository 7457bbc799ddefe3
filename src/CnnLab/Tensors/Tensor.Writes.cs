namespace CnnLab.Tensors;

// What the library knows about writes to a tensor's values, so that inference can trust what it prepared from them (a
// convolution's packed weights, a batch norm folded into them: Kernels.ConvPlanCache, Nn.BatchNormFolding) without
// comparing the values on every call. PyTorch keeps a version counter per storage for the same reason (autograd's check
// of tensors saved for backward); like it, the record is kept by the storage's owner and shared by its views.
public partial class Tensor
{
    private static int s_epochs;

    // The tensor whose storage this one shares (a view, a parameter made from a tensor); null where this one owns it.
    private readonly Tensor? _owner;

    private Tensor Owner => _owner ?? this;

    // On the owner. Handed out: the storage may be written where the library cannot see it (Data or Storage was taken, or
    // the tensor wraps the caller's array). Write epoch: 0, or (a module's parameter or buffer) a number no other write
    // has had, renewed by every write the library makes or sees.
    private bool _handedOut;
    private int _writeEpoch;

    /// <summary>
    /// 0, or the freeze (<see cref="Nn.Module.Freeze"/>) that declared this tensor's values constant: a prepared form of
    /// them checked once in that freeze (a convolution's packed weights, a folded batch norm) is trusted without comparing
    /// the values again on every call. The library's own writes give the tensor a new freeze (<see cref="NoteWrite"/>),
    /// so what was prepared before is checked once more; a write through <see cref="Data"/> is not seen until
    /// <see cref="Nn.Module.Unfreeze"/>.
    /// </summary>
    internal int FrozenEpoch { get; set; }

    /// <summary>
    /// 0, or a number that stays the same while this tensor's values do: its freeze's (<see cref="FrozenEpoch"/>), else, for
    /// a module's parameter or buffer whose storage was never handed out (<see cref="Data"/>, <see cref="Storage"/>), the
    /// epoch of the last write to it. What was prepared from the values and checked in that epoch needs no compare.
    /// </summary>
    internal int TrustedEpoch => FrozenEpoch != 0 ? FrozenEpoch : Owner is { _handedOut: false, _writeEpoch: var epoch } ? epoch : 0;

    /// <summary>A number no epoch (a freeze, a write) has had before.</summary>
    internal static int NewEpoch() => Interlocked.Increment(ref s_epochs);

    /// <summary>Called by <see cref="Nn.Module"/> for its parameters and buffers: their writes are followed from now on.</summary>
    internal void WatchWrites()
    {
        var owner = Owner;
        if (owner._writeEpoch == 0) owner._writeEpoch = NewEpoch();
    }

    /// <summary>
    /// Called by the library after it writes this tensor's values (an optimizer step, a loaded state dict, an initializer,
    /// a batch norm's running statistics, the indexer).
    /// </summary>
    internal void NoteWrite()
    {
        if (FrozenEpoch != 0) FrozenEpoch = NewEpoch();
        var owner = Owner;
        if (owner._writeEpoch != 0) owner._writeEpoch = NewEpoch();
    }

    private void HandOut() => Owner._handedOut = true;
}
