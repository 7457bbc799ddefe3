namespace CnnLab.Tensors;

/// <summary>
/// Recycles the storage of op outputs and gradients by default, so that a plain training loop
/// (<c>ZeroGrad</c>, <c>Forward</c>, <c>Backward</c>, <c>Step</c>) allocates no large arrays in steady state.
/// A buffer goes back to the cache only when no tensor refers to it any more, as in PyTorch: a tensor
/// you keep (a loss, logits, an activation from a hook) keeps its values for as long as you hold it.
/// </summary>
/// <remarks>
/// <para>PyTorch: the CPU/CUDA caching allocator (<c>torch.cuda.empty_cache</c> is <see cref="EmptyCache"/>).
/// PyTorch recycles a block when its reference count drops to zero; .NET has no reference counts, so each
/// buffer handed out carries a small lease object, shared by the tensor and its views, and the cache holds
/// the lease weakly. A lease the garbage collector has found unreachable returns its buffer. When the cache
/// has no free buffer of the size asked for and enough has been handed out since, it asks for a young-generation
/// collection (tensors of the last step are young), at most about once per training step.</para>
/// <para>Why not leave it to the GC: a step's activations are large arrays, which the GC frees only in full
/// collections and then returns to the OS; every step then page-faults its buffers in again (about 6 µs per
/// 4 KiB page on this project's machines, ~20k pages per step of cnn-small at batch 128).</para>
/// <para>Under no-grad a <see cref="Nn.Sequential"/> of the library's own layers returns each intermediate as soon as the next
/// layer has read it (<see cref="Nn.FusionPlan"/>), without waiting for a collection: at batch 1 a forward then reuses
/// buffers still in cache instead of a new one per layer.</para>
/// <para>Reading <see cref="Tensor.Storage"/> hands the raw array out of the tensor's control: from then on the
/// cache forgets that buffer and the GC owns it, so an array you took can never be overwritten by a later op.
/// An open <see cref="TensorArena"/> scope takes precedence (explicit lifetime, no collections at all).</para>
/// <para>A span from <see cref="Tensor.Data"/> holds the array, not the tensor: use it while the tensor is reachable
/// (the library's ops keep their inputs alive until their kernels return).</para>
/// <para>Set the environment variable <c>CNNLAB_NO_MEMORY_CACHING=1</c> to turn the cache off for a process (every
/// op then allocates a new array), as PyTorch's <c>PYTORCH_NO_CUDA_MEMORY_CACHING=1</c> does: for memory debugging
/// and for measuring what the cache saves.</para>
/// </remarks>
public static class CachingAllocator
{
    // Buffers below this many floats are left to the GC's gen 0, where they cost next to nothing.
    internal const int MinCachedLength = 4096;

    // A forced collection only after at least this many floats (64 MiB) were handed out since the last one, or as
    // many as were still referenced after it, whichever is more: a forward pass whose activations die one layer
    // later then holds a few layers' worth, not a whole pass's, and a program that keeps everything it computes
    // collects geometrically rarer.
    private const long MinFloatsBetweenCollections = 16L << 20;

    // Free buffers not reused within this many collections are dropped (shapes that stopped occurring).
    private const int IdleCollections = 4;

    /// <summary>False when <c>CNNLAB_NO_MEMORY_CACHING=1</c> was set for this process.</summary>
    public static bool IsEnabled { get; } = Environment.GetEnvironmentVariable("CNNLAB_NO_MEMORY_CACHING") != "1";

    private static readonly Lock s_lock = new();
    private static readonly Dictionary<int, Stack<(float[] Buffer, int FreedAt)>> s_free = [];
    private static readonly List<Entry> s_outstanding = [];
    private static long s_handedOutSinceCollection;
    private static int s_collections;

    /// <summary>Floats the cache holds: free, or handed out and not yet known to be unreferenced.</summary>
    public static long ReservedFloats { get; private set; }

    /// <summary>Floats in free buffers, ready for the next op that asks for one of their size.</summary>
    public static long FreeFloats { get; private set; }

    /// <summary>Buffers handed out that came from the cache rather than a new array (a running count).</summary>
    public static long Reuses { get; private set; }

    /// <summary>
    /// Drops every free buffer, so that the GC can return their memory (PyTorch: <c>torch.cuda.empty_cache()</c>).
    /// Buffers still referenced by tensors are not affected.
    /// </summary>
    public static void EmptyCache()
    {
        lock (s_lock)
        {
            ReclaimUnreferenced();
            ReservedFloats -= FreeFloats;
            FreeFloats = 0;
            s_free.Clear();
        }
    }

    // Tests: a full collection now, then every unreferenced buffer back to the free lists.
    internal static void CollectNow()
    {
        GC.Collect();
        lock (s_lock) ReclaimUnreferenced();
    }

    /// <summary>
    /// A buffer of at least <paramref name="length"/> floats (at most twice as many) for a new tensor, and the lease
    /// that tensor and its views must hold (null for a buffer the cache does not track). Contents are undefined unless
    /// <paramref name="clear"/>.
    /// </summary>
    internal static float[] Rent(int length, bool clear, out Lease? lease)
    {
        lease = null;
        if (length < MinCachedLength || !IsEnabled) return new float[length];
        float[]? buffer;
        lock (s_lock)
        {
            buffer = TakeFree(length);
            if (buffer is null && ReclaimUnreferenced() > 0) buffer = TakeFree(length);
            long referencedAtLast = ReservedFloats - FreeFloats - s_handedOutSinceCollection;
            if (buffer is null && s_handedOutSinceCollection >= Math.Max(MinFloatsBetweenCollections, referencedAtLast))
            {
                // Tensors of the last step are in the young generations: a gen-1 collection finds them.
                GC.Collect(1, GCCollectionMode.Forced, blocking: true);
                s_handedOutSinceCollection = 0;
                s_collections++;
                ReclaimUnreferenced();
                DropIdle();
                buffer = TakeFree(length);
            }
            if (buffer is null)
            {
                buffer = clear ? new float[length] : GC.AllocateUninitializedArray<float>(length);
                ReservedFloats += length;
            }
            else
            {
                Reuses++;
                if (clear) Array.Clear(buffer, 0, length);
            }
            s_handedOutSinceCollection += buffer.Length;
            var entry = new Entry(buffer);
            lease = new Lease(entry);
            entry.Lease.SetTarget(lease);
            s_outstanding.Add(entry);
        }
        return buffer;
    }

    // The free buffer of the exact length, else the shortest one up to twice as long (a tensor's storage may be longer
    // than its elements): layers of different sizes then share buffers, as a general-purpose allocator's blocks would.
    private static float[]? TakeFree(int length)
    {
        if (!s_free.TryGetValue(length, out var stack) || stack.Count == 0)
        {
            stack = null;
            foreach (var (size, candidates) in s_free)
                if (candidates.Count > 0 && size > length && size / 2 <= length && (stack is null || size < stack.Peek().Buffer.Length))
                    stack = candidates;
            if (stack is null) return null;
        }
        var buffer = stack.Pop().Buffer;
        FreeFloats -= buffer.Length;
        return buffer;
    }

    // Moves every buffer whose lease the GC has found unreferenced to the free lists; forgets escaped ones.
    private static int ReclaimUnreferenced()
    {
        int reclaimed = 0;
        for (int i = s_outstanding.Count - 1; i >= 0; i--)
        {
            var entry = s_outstanding[i];
            if (entry.Escaped)
            {
                ReservedFloats -= entry.Buffer.Length;
                RemoveAt(i);
            }
            else if (entry.Recycled) RemoveAt(i);
            else if (!entry.Lease.TryGetTarget(out _))
            {
                PushFree(entry.Buffer);
                RemoveAt(i);
                reclaimed++;
            }
        }
        return reclaimed;
    }

    private static void DropIdle()
    {
        foreach (var (length, stack) in s_free)
        {
            if (stack.Count == 0 || s_collections - stack.Peek().FreedAt <= IdleCollections) continue;
            // The newest free buffer of this size is idle too: none of them was asked for lately.
            FreeFloats -= (long)length * stack.Count;
            ReservedFloats -= (long)length * stack.Count;
            stack.Clear();
        }
    }

    // Order does not matter: swap the last entry in.
    private static void RemoveAt(int i)
    {
        s_outstanding[i] = s_outstanding[^1];
        s_outstanding.RemoveAt(s_outstanding.Count - 1);
    }

    /// <summary>
    /// Puts a buffer back in the free lists now, before the GC has found its tensors unreferenced: for a caller that knows no
    /// tensor sharing it will be read again (<see cref="Nn.FusionPlan"/>'s intermediates in inference). An escaped or already
    /// recycled buffer is left alone.
    /// </summary>
    internal static void Recycle(Lease lease)
    {
        var entry = lease.Entry;
        lock (s_lock)
        {
            if (entry.Escaped || entry.Recycled) return;
            entry.Recycled = true;
            PushFree(entry.Buffer);
        }
    }

    // A buffer onto the free list of its length (under s_lock), stamped with the collection count it was freed at.
    private static void PushFree(float[] buffer)
    {
        if (!s_free.TryGetValue(buffer.Length, out var stack)) s_free[buffer.Length] = stack = new();
        stack.Push((buffer, s_collections));
        FreeFloats += buffer.Length;
    }

    internal sealed class Entry(float[] buffer)
    {
        public readonly float[] Buffer = buffer;
        public readonly WeakReference<Lease> Lease = new(null!);
        public volatile bool Escaped;
        // Back in the free lists already (Recycle): ReclaimUnreferenced only drops the entry.
        public bool Recycled;
    }

    /// <summary>Held by a tensor (and every view of it) whose storage the cache handed out.</summary>
    internal sealed class Lease
    {
        private readonly Entry _entry;

        internal Lease(Entry entry) => _entry = entry;

        internal Entry Entry => _entry;

        /// <summary>The array left the tensors' control (<see cref="Tensor.Storage"/>): never recycle it.</summary>
        public void Escape() => _entry.Escaped = true;
    }
}
