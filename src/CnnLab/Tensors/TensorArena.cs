namespace CnnLab.Tensors;

/// <summary>
/// A pool of tensor buffers for a loop that repeats the same computation (a training step, an
/// inference batch). Inside <c>using (arena.Use()) { ... }</c> the activations and gradients that ops
/// create take their storage from the arena; when the scope ends every buffer handed out in it goes
/// back to the arena, and the next scope gets the same arrays again. In steady state a step allocates
/// no large arrays, so the GC has nothing to collect and the OS no pages to fault in again (about 6 µs
/// per 4 KiB page on this project's machines: ~20k pages per step of cnn-small at batch 128).
/// </summary>
/// <remarks>
/// PyTorch: the role of its caching allocator, which recycles a buffer when its reference count drops
/// to zero. .NET has no reference counts, so the lifetime is explicit instead: a tensor created by an op
/// inside the scope (and every view of it) must not be used after the scope ends — read the loss and
/// the metrics you need inside it. Parameters, their <see cref="Tensor.Grad"/>, optimizer state,
/// module buffers and tensors made by the factories (<see cref="Tensor.Zeros"/>, <see cref="Tensor.Clone"/>,
/// ...) never come from the arena. Without an active scope ops take their buffers from the
/// <see cref="CachingAllocator"/>, which recycles a buffer once no tensor refers to it.
/// Scopes are per thread and do not nest; one arena serves one thread at a time.
/// </remarks>
public sealed class TensorArena
{
    // Buffers below this many floats are left to the GC's gen 0, where they cost next to nothing.
    internal const int MinPooledLength = 4096;

    [ThreadStatic] private static TensorArena? t_current;

    private readonly Dictionary<int, Stack<float[]>> _free = [];
    private readonly List<float[]> _rented = [];
    private bool _inUse;

    /// <summary>Floats held by the arena, free or handed out in the current scope.</summary>
    public long PooledFloats { get; private set; }

    /// <summary>True while a scope of this arena is open.</summary>
    public bool InUse => _inUse;

    /// <summary>
    /// Opens a scope on this thread: until it is disposed, ops on this thread take their output and
    /// gradient buffers from the arena. Disposing it returns them all (see the class remarks).
    /// </summary>
    public IDisposable Use()
    {
        if (_inUse) throw new InvalidOperationException("this TensorArena already has an open scope");
        if (t_current is not null) throw new InvalidOperationException("a TensorArena scope is already open on this thread (scopes do not nest)");
        _inUse = true;
        t_current = this;
        return new Scope(this);
    }

    /// <summary>Drops every free buffer (the arena then allocates afresh, as on its first use).</summary>
    public void Clear()
    {
        if (_inUse) throw new InvalidOperationException("cannot clear a TensorArena while its scope is open");
        _free.Clear();
        PooledFloats = 0;
    }

    /// <summary>
    /// A buffer of <paramref name="length"/> floats from the current thread's open scope (contents undefined
    /// unless <paramref name="clear"/>); false with no scope open, or for a buffer small enough for gen 0.
    /// </summary>
    internal static bool TryRent(int length, bool clear, out float[] buffer)
    {
        var arena = t_current;
        buffer = null!;
        if (arena is null || length < MinPooledLength) return false;
        if (arena._free.TryGetValue(length, out var stack) && stack.Count > 0)
        {
            buffer = stack.Pop();
            if (clear) Array.Clear(buffer);
        }
        else
        {
            // Fresh arrays are zeroed by the runtime either way.
            buffer = new float[length];
            arena.PooledFloats += length;
        }
        arena._rented.Add(buffer);
        return true;
    }

    private void Release()
    {
        foreach (var buffer in _rented)
        {
            if (!_free.TryGetValue(buffer.Length, out var stack)) _free[buffer.Length] = stack = new Stack<float[]>();
            stack.Push(buffer);
        }
        _rented.Clear();
        _inUse = false;
        t_current = null;
    }

    private sealed class Scope(TensorArena arena) : IDisposable
    {
        private TensorArena? _arena = arena;

        public void Dispose()
        {
            if (_arena is null) return;
            if (!ReferenceEquals(t_current, _arena))
                throw new InvalidOperationException("a TensorArena scope must be disposed on the thread that opened it");
            _arena.Release();
            _arena = null;
        }
    }
}
