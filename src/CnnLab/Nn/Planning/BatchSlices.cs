using CnnLab.Tensors;

namespace CnnLab.Nn;

/// <summary>
/// Inference a slice of the batch at a time. Layer after layer over a whole batch, an intermediate that outgrows the last-level
/// cache (bottleneck's 64-channel 32x32 maps are 67 MB at batch 256) is written to memory and read back from it, and the
/// layers that do little arithmetic per float (pointwise convolutions, pools, batch norms) wait on memory. Run through every
/// layer a few images at a time, the intermediates stay in cache. Taken only where nothing can tell the difference: under
/// no-grad, with every module the library's own, per image (<see cref="PerImage"/>) and in eval mode, and no forward hook.
/// </summary>
/// <remarks>PyTorch: none (it runs a batch layer by layer); what depth-first schedulers of inference engines do.</remarks>
internal static class BatchSlices
{
    /// <summary>Bytes of one whole-batch intermediate from which a batch runs in slices: a last-level cache of 32 MB.</summary>
    internal const long CacheBytes = 32L << 20;

    /// <summary>Bytes of a slice's largest intermediate: 2 MB (a core's L2 and what the next layer's output needs beside it).</summary>
    internal const long SliceBytes = 2L << 20;

    /// <summary>
    /// Images a slice holds where the largest intermediate takes <paramref name="largestPerImage"/> floats an image (its bytes a
    /// slice within <see cref="SliceBytes"/>, at least two images: one would take a single image's algorithms): 0 where that is
    /// the whole batch of <paramref name="images"/>.
    /// </summary>
    public static int Images(long largestPerImage, int images)
    {
        long slice = Math.Max(2, SliceBytes / Math.Max(1, 4 * largestPerImage));
        return slice >= images ? 0 : (int)slice;
    }

    /// <summary>
    /// The steps to run a slice at a time and the images a slice, for a batch of <paramref name="images"/> whose steps' outputs
    /// take <paramref name="sizes"/> floats an image; null where no output fills <see cref="CacheBytes"/>. The slices run up to
    /// the step that reads the last output that fills half of it (it and the next step's output together would fill the cache);
    /// the steps after it, whose intermediates fit, take the whole batch (a Winograd or pixel GEMM block of many images, a large
    /// weight read once). Smaller intermediates did not pay for the slices (cnn-small's 25 MB, wide-tail's 16 MB).
    /// </summary>
    public static (int Steps, int Images)? Plan(ReadOnlySpan<long> sizes, int images)
    {
        int last = -1;
        bool outgrows = false;
        for (int s = 0; s < sizes.Length; s++)
        {
            long bytes = 4 * sizes[s] * images;
            outgrows |= bytes >= CacheBytes;
            if (bytes >= CacheBytes / 2) last = s;
        }
        if (!outgrows) return null;
        int steps = Math.Min(sizes.Length, last + 2);
        long largest = 0;
        for (int s = 0; s < steps; s++) largest = Math.Max(largest, sizes[s]);
        int slice = Images(largest, images);
        return slice == 0 ? null : (steps, slice);
    }

    /// <summary>
    /// Whether <paramref name="module"/>'s output for an image depends on that image alone in eval mode, as for every layer
    /// type listed here (a softmax or a flatten over the batch axis mixes images; a module of the user's is not known).
    /// </summary>
    public static bool PerImage(Module module) => module switch
    {
        Conv2d or BatchNorm2d or BatchNorm1d or Linear or Dropout or MaxPool2d or AvgPool2d or AdaptiveAvgPool2d => true,
        ReLU or LeakyReLU or Sigmoid or Tanh or GELU or ELU or Identity or Sequential or Residual => true,
        Flatten flatten => flatten.StartDim >= 1,
        Softmax softmax => softmax.Dim >= 1,
        LogSoftmax logSoftmax => logSoftmax.Dim >= 1,
        _ => false,
    };

    /// <summary>Whether <paramref name="module"/> and everything inside it is in eval mode and has no forward hook.</summary>
    public static bool Quiet(Module module)
    {
        foreach (var (_, m) in module.NamedModules())
            if (m.Training || m.HasForwardHooks) return false;
        return true;
    }

    /// <summary>
    /// <paramref name="run"/> over <paramref name="input"/> [images, …] a slice of <paramref name="slice"/>
    /// images at a time, the slices' outputs written into one tensor. Each slice's input and output go back to the cache at once.
    /// </summary>
    public static Tensor Run(Tensor input, int slice, Func<Tensor, Tensor> run)
    {
        int images = input.Shape[0];
        Tensor? all = null;
        for (int start = 0, count; start < images; start += count)
        {
            // A last slice of one image would run a single image's algorithms (ConvPlanner): it joins the slice before.
            count = images - start - slice == 1 ? slice + 1 : Math.Min(slice, images - start);
            var part = input.Slice(start, count);
            var y = run(part);
            if (y.Rank == 0 || y.Shape[0] != count)
                throw new InvalidOperationException($"a slice of {count} images gave an output of shape {Shape.Format(y.Shape)}");
            if (all is null)
            {
                var shape = (int[])y.Shape.Clone();
                shape[0] = images;
                all = Tensor.ForOp(shape);
            }
            int row = y.Numel / count;
            y.Elements.CopyTo(all.Elements.Slice(start * row, count * row));
            if (!ReferenceEquals(y.Buffer, part.Buffer)) y.RecycleStorage();
            part.RecycleStorage();
        }
        return all!;
    }
}
