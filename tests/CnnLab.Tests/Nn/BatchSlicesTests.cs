using CnnLab.Nn;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// Inference a slice of the batch at a time (<see cref="BatchSlices"/>): when it is taken (the whole batch's intermediates
/// outgrow the cache, no gradient, eval mode, no hook, layers known to work image by image), and that its output is the
/// whole batch's, on 1 and 2 threads.
/// </summary>
public class BatchSlicesTests
{
    // 64 channels on 32x32 (64K floats an image): batch 160 makes 40 MB intermediates, so 8 images a slice up to the pool.
    private static Sequential Model(Generator gen) => new(
        new Conv2d(3, 64, 3, padding: 1, generator: gen), new BatchNorm2d(64), new ReLU(),
        new Conv2d(64, 16, 1, generator: gen), new ReLU(), new MaxPool2d(2),
        new Conv2d(16, 32, 3, padding: 1, generator: gen), new ReLU(),
        new AdaptiveAvgPool2d(1), new Flatten(), new Linear(32, 10, generator: gen));

    private sealed class Doubler : Module
    {
        protected override Tensor ForwardCore(Tensor input) => input * 2f;
    }

    [Fact]
    public void Slices_only_a_batch_whose_intermediates_outgrow_the_cache()
    {
        Assert.Equal(8, BatchSlices.Images(64 * 1024, 160));   // 2 MB slices of 256 KB images
        Assert.Equal(2, BatchSlices.Images(1 << 20, 64));      // 4 MB images two at a time (one would run a single image's way)
        Assert.Equal(0, BatchSlices.Images(16 * 1024, 32));    // 2 MB: the whole batch
        // Slices where an output takes 32 MB or more, up to the step that reads the last output of 16 MB or more.
        Assert.Equal((3, 8), BatchSlices.Plan([64 * 1024, 16 * 1024, 4096, 4096, 10], 256));
        Assert.Equal((3, 8), BatchSlices.Plan([16 * 1024, 64 * 1024, 4096], 160));  // the last step has nothing after it
        Assert.Null(BatchSlices.Plan([32 * 1024, 16 * 1024], 255));                 // 31.9 MB
        Assert.Equal((4, 16), BatchSlices.Plan([32 * 1024, 8 * 1024, 16 * 1024, 10], 256)); // 32 MB
        Assert.False(BatchSlices.PerImage(new Flatten(0)));     // flattens the batch axis
        Assert.False(BatchSlices.PerImage(new Softmax(0)));
        Assert.False(BatchSlices.PerImage(new Doubler()));      // not the library's: not known
        Assert.True(BatchSlices.PerImage(new Softmax(1)));
        Assert.True(BatchSlices.PerImage(new Residual(new Sequential(new Conv2d(4, 4, 3, padding: 1)))));
    }

    [Theory]
    [InlineData(17, 8, new[] { 8, 9 })]        // a last image alone joins the slice before
    [InlineData(16, 8, new[] { 8, 8 })]
    [InlineData(19, 8, new[] { 8, 8, 3 })]
    public void Runs_every_image_once_in_slices_and_writes_each_output_in_place(int images, int slice, int[] counts)
    {
        var x = Tensor.Randn(new Generator(5), images, 2, 3);
        var seen = new List<int>();
        var y = BatchSlices.Run(x, slice, part =>
        {
            seen.Add(part.Shape[0]);
            return part * 3f;
        });
        Assert.Equal(counts, seen);
        Assert.Equal(x.Data.ToArray().Select(v => v * 3f), y.Data.ToArray());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void A_sliced_batch_gives_the_whole_batchs_output(int threads)
    {
        using var threadCount = ThreadCount.Use(threads);
        var gen = new Generator(3);
        var model = Model(gen);
        model.Eval();
        var x = Tensor.Randn(gen, 160, 3, 32, 32);
        var whole = model.Forward(x).Data.ToArray();   // gradients on: one pass over the whole batch
        Tensor sliced;
        using (Autograd.NoGrad()) sliced = model.Forward(x);
        Assert.Equal([160, 10], sliced.Shape);
        var got = sliced.Data.ToArray();
        for (int i = 0; i < whole.Length; i++) Assert.True(MathF.Abs(whole[i] - got[i]) <= 1e-5f * (1 + MathF.Abs(whole[i])), $"output {i}");
        // A hook on a layer sees the whole batch: the batch then runs at once, so each of its calls has 160 images.
        int seen = 0;
        using (model[3].RegisterForwardHook((m, i, o) => seen = o.Shape[0]))
        using (Autograd.NoGrad())
            model.Forward(x);
        Assert.Equal(160, seen);
    }

    [Fact]
    public void A_batch_in_training_mode_runs_at_once_under_no_grad()
    {
        // Batch norm in training mode normalises by the batch's own statistics: slices would each use their own.
        var gen = new Generator(4);
        var model = Model(gen);
        var x = Tensor.Randn(gen, 160, 3, 32, 32);
        var withGrad = model.Forward(x).Data.ToArray();
        float[] noGrad;
        using (Autograd.NoGrad()) noGrad = model.Forward(x).Data.ToArray();
        Assert.Equal(withGrad, noGrad);
    }
}
