using CnnLab.Nn;
using CnnLab.Nn.Models;
using CnnLab.Optim;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

public class TensorArenaTests
{
    [Fact]
    public void A_scope_hands_the_same_buffers_out_again_and_nothing_outside_a_scope()
    {
        var arena = new TensorArena();
        var x = Tensor.Randn(new Generator(1), 8, 32, 32);
        float[] first, second;
        using (arena.Use()) first = Functional.Relu(x).Storage;
        using (arena.Use()) second = Functional.Relu(x).Storage;
        Assert.Same(first, second);
        Assert.Equal(8 * 32 * 32, arena.PooledFloats);
        // Without a scope, ops allocate ordinary arrays.
        Assert.NotSame(first, Functional.Relu(x).Storage);
        Assert.False(arena.InUse);
    }

    [Fact]
    public void Small_tensors_parameters_grads_and_factories_never_come_from_the_arena()
    {
        var arena = new TensorArena();
        var model = ModelZoo.Create("cnn-small", new Generator(2));
        var x = Tensor.Randn(new Generator(3), 4, 1, 28, 28);
        using (arena.Use())
        {
            var loss = Functional.CrossEntropy(model.Forward(x), [1, 2, 3, 4]);
            loss.Backward();
            var clone = x.Clone();
            Assert.NotSame(clone.Storage, x.Storage);
        }
        // Gradients were copied out of the arena's buffers into the parameters' own.
        var grads = model.Parameters().Select(p => p.Grad!.ToArray()).ToList();
        using (arena.Use())
        {
            var other = Tensor.Randn(new Generator(4), 4, 1, 28, 28);
            Functional.CrossEntropy(model.Forward(other), [0, 0, 0, 0]);
        }
        var after = model.Parameters().Select(p => p.Grad!.ToArray()).ToList();
        for (int i = 0; i < grads.Count; i++) Assert.Equal(grads[i], after[i]);
    }

    [Fact]
    public void Training_with_an_arena_gives_bitwise_the_same_weights_as_without()
    {
        float[] Train(bool pooled)
        {
            var model = ModelZoo.Create("cnn-small", new Generator(5));
            var opt = new SGD(model.Parameters(), lr: 0.05, momentum: 0.9);
            var arena = new TensorArena();
            var gen = new Generator(6);
            for (int step = 0; step < 3; step++)
            {
                var x = Tensor.Randn(gen, 6, 1, 28, 28);
                int[] y = [0, 1, 2, 3, 4, 5];
                opt.ZeroGrad(setToNone: false);
                using (pooled ? arena.Use() : null) Functional.CrossEntropy(model.Forward(x), y).Backward();
                opt.Step();
            }
            return model.Parameters().SelectMany(p => p.ToArray()).ToArray();
        }
        Assert.Equal(Train(false), Train(true));
    }

    [Fact]
    public void Scopes_do_not_nest_and_must_close_on_their_thread()
    {
        var a = new TensorArena();
        var b = new TensorArena();
        using (a.Use())
        {
            Assert.Throws<InvalidOperationException>(() => a.Use());
            Assert.Throws<InvalidOperationException>(() => b.Use());
            Assert.Throws<InvalidOperationException>(() => a.Clear());
        }
        var scope = a.Use();
        Exception? error = null;
        var other = new Thread(() => error = Record.Exception(scope.Dispose));
        other.Start();
        other.Join();
        Assert.IsType<InvalidOperationException>(error);
        scope.Dispose();
        a.Clear();
        Assert.Equal(0, a.PooledFloats);
    }
}
