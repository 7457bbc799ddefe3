using System.Runtime.CompilerServices;
using CnnLab.Nn;
using CnnLab.Nn.Models;
using CnnLab.Optim;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

// The cache is one per process: these tests run alone, so that no other test takes or returns buffers meanwhile.
[CollectionDefinition("caching allocator", DisableParallelization = true)]
public class CachingAllocatorCollection;

[Collection("caching allocator")]
public class CachingAllocatorTests
{
    // Lengths no other test uses (large-object sizes, as activations are).
    private static Tensor Input(int length, int seed) => Tensor.Randn(new Generator(seed), 1, length);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float[] BufferOfDroppedOutput(Tensor x) => Functional.Relu(x).Buffer;

    // The cache is one per process: an op on another thread may take a freed buffer first. A property of reuse must hold
    // in at least one of five tries, each with lengths of its own.
    private static void AtLeastOnce(string what, Func<int, bool> attempt)
    {
        for (int k = 0; k < 5; k++)
            if (attempt(k)) return;
        Assert.Fail($"{what}: not once in five tries");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Tensor ViewOfDroppedOutput(Tensor x) => Functional.Relu(x).Reshape(-1);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float[] StorageOfDroppedOutput(Tensor x) => Functional.Relu(x).Storage;

    [Fact]
    public void An_output_no_tensor_refers_to_is_handed_out_again()
    {
        long reuses = CachingAllocator.Reuses;
        AtLeastOnce("a freed buffer handed out again", k =>
        {
            // Only the buffer freed below is free: a request may be served by any free buffer up to twice its length.
            CachingAllocator.CollectNow();
            CachingAllocator.EmptyCache();
            var x = Input(30011 + 2 * k, 1);
            var freed = BufferOfDroppedOutput(x);
            CachingAllocator.CollectNow();
            return ReferenceEquals(freed, Functional.Relu(x).Buffer);
        });
        Assert.True(CachingAllocator.Reuses > reuses);
        // Contents are the new op's, not the old ones (ReLU of other data).
        var other = Input(30011, 2);
        var again = Functional.Relu(other);
        Assert.Equal(other.ToArray().Select(v => Math.Max(v, 0f)), again.ToArray());
    }

    [Fact]
    public void A_free_buffer_serves_a_shorter_tensor_down_to_half_its_length()
    {
        AtLeastOnce("a freed buffer serving a tensor above half its length", k =>
        {
            CachingAllocator.CollectNow();
            CachingAllocator.EmptyCache();   // only the buffer freed below is free
            var freed = BufferOfDroppedOutput(Input(60001 + 2 * k, 30));
            CachingAllocator.CollectNow();
            Assert.NotSame(freed, Functional.Relu(Input(29000, 31)).Buffer);  // less than half: a buffer of its own
            CachingAllocator.CollectNow();
            var x = Input(31000, 32);
            var y = Functional.Relu(x);
            Assert.Equal(31000, y.Data.Length);
            Assert.Equal(x.ToArray().Select(v => Math.Max(v, 0f)), y.ToArray());
            return ReferenceEquals(freed, y.Buffer);
        });
    }

    [Fact]
    public void A_tensor_you_keep_keeps_its_values_through_later_ops()
    {
        var x = Input(30013, 3);
        var kept = Functional.Relu(x);
        var expected = kept.ToArray();
        CachingAllocator.CollectNow();
        for (int i = 0; i < 5; i++)
        {
            var y = Functional.Relu(Input(30013, 10 + i));
            Assert.NotSame(kept.Buffer, y.Buffer);
            CachingAllocator.CollectNow();
        }
        Assert.Equal(expected, kept.ToArray());
    }

    [Fact]
    public void A_view_keeps_the_buffer_of_the_tensor_it_was_taken_from()
    {
        var x = Input(30029, 4);
        var view = ViewOfDroppedOutput(x);
        var expected = view.ToArray();
        CachingAllocator.CollectNow();
        var y = Functional.Relu(Input(30029, 5));
        Assert.NotSame(view.Buffer, y.Buffer);
        Assert.Equal(expected, view.ToArray());
    }

    [Fact]
    public void An_array_taken_through_Storage_is_never_recycled()
    {
        var x = Input(30047, 6);
        var array = StorageOfDroppedOutput(x);
        var expected = (float[])array.Clone();
        CachingAllocator.CollectNow();
        for (int i = 0; i < 3; i++) Assert.NotSame(array, Functional.Relu(Input(30047, 20 + i)).Buffer);
        Assert.Equal(expected, array);
    }

    [Fact]
    public void EmptyCache_drops_the_free_buffers_only()
    {
        var x = Input(30059, 7);
        var kept = Functional.Relu(x);
        AtLeastOnce("the free buffers dropped", _ =>
        {
            BufferOfDroppedOutput(x);
            CachingAllocator.CollectNow();
            bool freed = CachingAllocator.FreeFloats >= 30059;
            CachingAllocator.EmptyCache();
            return freed && CachingAllocator.FreeFloats == 0;
        });
        Assert.True(CachingAllocator.ReservedFloats >= 30059);  // kept's buffer is still the cache's
        Assert.NotSame(kept.Buffer, Functional.Relu(x).Buffer);
    }

    [Fact]
    public void The_plain_training_loop_recycles_its_buffers_and_gives_the_arenas_bits()
    {
        const int Steps = 60, Measured = 20;
        float[] Train(bool arena, out double bytesPerStep)
        {
            var model = ModelZoo.Create("cnn-small", new Generator(8));
            var optimizer = new SGD(model.Parameters(), lr: 0.01, momentum: 0.9);
            var pool = arena ? new TensorArena() : null;
            var gen = new Generator(9);
            var x = Tensor.Randn(gen, 32, 1, 28, 28);
            var y = Enumerable.Range(0, 32).Select(i => i % 10).ToArray();
            long start = 0;
            for (int step = 0; step < Steps; step++)
            {
                if (step == Steps - Measured) start = GC.GetAllocatedBytesForCurrentThread();
                optimizer.ZeroGrad(setToNone: !arena);
                using (pool?.Use()) Functional.CrossEntropy(model.Forward(x), y).Backward();
                optimizer.Step();
            }
            bytesPerStep = (GC.GetAllocatedBytesForCurrentThread() - start) / (double)Measured;
            return model.Parameters().SelectMany(p => p.ToArray()).ToArray();
        }
        var plain = Train(arena: false, out double plainBytes);
        var pooled = Train(arena: true, out _);
        Assert.Equal(pooled, plain);
        // A step's activations and gradients are ~4 MB at batch 32; what is left is small objects (nodes, closures).
        Assert.True(plainBytes < 512 * 1024, $"{plainBytes / 1024:F0} KiB allocated per step");
    }

    // Full collections: here, in the collection that runs alone, not beside tests that count allocations.
    [Fact]
    public void Backward_frees_what_the_graph_saved_even_while_the_loss_is_held()
    {
        var x = Tensor.Randn(new Generator(3), 4, 8).RequiresGrad_();
        var (loss, hidden) = LossThroughAHiddenTensor(x);
        CachingAllocator.CollectNow();
        Assert.True(IsAlive(hidden));  // the graph holds it
        loss.Backward();
        CachingAllocator.CollectNow();
        Assert.False(IsAlive(hidden), "the hidden activation outlived the backward");
        GC.KeepAlive(loss);
    }

    // In a method of its own, so that no temporary of the caller's frame keeps the target alive.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static bool IsAlive(WeakReference<Tensor> reference) => reference.TryGetTarget(out _);

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static (Tensor Loss, WeakReference<Tensor> Hidden) LossThroughAHiddenTensor(Tensor x)
    {
        var hidden = Functional.Relu(x);
        return (Functional.Sum(Functional.Mul(hidden, hidden)), new WeakReference<Tensor>(hidden));
    }
}
