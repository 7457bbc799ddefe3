namespace CnnLab.Tensors;

// What the library knows about writes to a tensor's values, so that inference can trust what it prepared from them (a
// convolution's packed weights, a batch norm folded into them: Kernels.ConvPlanCache, Nn.BatchNormFolding) without
// comparing the values on every call. PyTorch keeps a version counter per storage for the same reason (autograd's check
// of tensors saved for backward); like it, the record is kept by the storage's owner and shared by its views.
public partial class Tensor
{
    // 64 bits: an epoch per write of every parameter in every step never comes round again.
    private static long s_epochs;

    // The tensor whose storage this one shares (a view, a parameter made from a tensor); null where this one owns it.
    private readonly Tensor? _owner;

    private Tensor Owner => _owner ?? this;

    // On the owner. Handed out: the storage may be written where the library cannot see it (Data or Storage was taken, or
    // the tensor wraps the caller's array). Write epoch: 0, or (a module's parameter or buffer) a number no other write
    // has had, renewed by every write the library makes or sees. Frozen epoch: see FrozenEpoch.
    private bool _handedOut;
    private long _writeEpoch, _frozenEpoch;

    /// <summary>
    /// 0, or the freeze (<see cref="Nn.Module.Freeze"/>) that declared this tensor's values constant: a prepared form of
    /// them checked once in that freeze (a convolution's packed weights, a folded batch norm) is trusted without comparing
    /// the values again on every call. The library's own writes give the tensor a new freeze (<see cref="NoteWrite"/>),
    /// so what was prepared before is checked once more; a write through <see cref="Data"/> is not seen until
    /// <see cref="Nn.Module.Unfreeze"/>. Kept by the storage's owner, so that a write through a view or through another
    /// tensor on the same storage (a parameter made from a tensor, a tied weight) is seen as a write to each of them.
    /// </summary>
    internal long FrozenEpoch
    {
        get => Volatile.Read(ref Owner._frozenEpoch);
        set => Volatile.Write(ref Owner._frozenEpoch, value);
    }

    /// <summary>
    /// 0, or a number that stays the same while this tensor's values do: its freeze's (<see cref="FrozenEpoch"/>), else, for
    /// a module's parameter or buffer whose storage was never handed out (<see cref="Data"/>, <see cref="Storage"/>), the
    /// epoch of the last write to it. What was prepared from the values and checked in that epoch needs no compare.
    /// </summary>
    internal long TrustedEpoch
    {
        get
        {
            var owner = Owner;
            long frozen = Volatile.Read(ref owner._frozenEpoch);
            return frozen != 0 ? frozen : owner._handedOut ? 0 : Volatile.Read(ref owner._writeEpoch);
        }
    }

    /// <summary>A number no epoch (a freeze, a write) has had before.</summary>
    internal static long NewEpoch() => Interlocked.Increment(ref s_epochs);

    /// <summary>Called by <see cref="Nn.Module"/> for its parameters and buffers: their writes are followed from now on.</summary>
    internal void WatchWrites()
    {
        var owner = Owner;
        if (Volatile.Read(ref owner._writeEpoch) == 0) Volatile.Write(ref owner._writeEpoch, NewEpoch());
    }

    /// <summary>
    /// Called by the library after it writes this tensor's values (an optimizer step, a loaded state dict, an initializer,
    /// a batch norm's running statistics, the indexer).
    /// </summary>
    internal void NoteWrite()
    {
        var owner = Owner;
        if (Volatile.Read(ref owner._frozenEpoch) != 0) Volatile.Write(ref owner._frozenEpoch, NewEpoch());
        if (Volatile.Read(ref owner._writeEpoch) != 0) Volatile.Write(ref owner._writeEpoch, NewEpoch());
    }

    private void HandOut() => Owner._handedOut = true;
}
