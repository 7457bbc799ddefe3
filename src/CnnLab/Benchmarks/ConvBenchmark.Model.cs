using CnnLab.Kernels;
using CnnLab.Nn;
using CnnLab.Tensors;

namespace CnnLab.Benchmarks;

public static partial class ConvBenchmark
{
    /// <summary>
    /// Times every convolution of <paramref name="model"/> (a zoo name or a JSON spec) at its own geometry — stride,
    /// padding, dilation and groups included — as the unfused op runs it: the planner's forward, then dx (except for a
    /// layer that reads the model's input, which training never differentiates) and dW with db, together as training runs
    /// them and each alone.
    /// </summary>
    public static IReadOnlyList<ConvLayerTiming> Run(string model, int batch, int threads, double seconds = 0.5)
    {
        if (batch < 1 || batch > 4096) throw new ArgumentOutOfRangeException(nameof(batch), batch, "batch 1..4096");
        using var threadScope = Parallelism.UseThreads(threads);
        var (net, input, _, name) = ThroughputBenchmark.CreateModel(model, new Generator(0));
        var rows = new List<ConvLayerTiming>();
        foreach (var (path, conv, shape) in Convolutions(net, input))
        {
            var g = new Conv2dGeometry(batch, shape[0], shape[1], shape[2], conv.OutChannels, conv.KernelSize.H, conv.KernelSize.W,
                conv.Stride.H, conv.Stride.W, conv.Padding.H, conv.Padding.W, conv.Dilation.H, conv.Dilation.W, conv.Groups);
            bool first = shape.AsSpan().SequenceEqual(input) && rows.Count == 0;
            var (x, w, b) = Inputs(g);
            var y = new float[g.N * g.OC * g.ColCols];
            var dy = Filled(y.Length, 5);
            var (dx, dw, db) = (first ? [] : new float[x.Length], new float[w.Length], new float[g.OC]);
            bool bias = conv.Bias is not null;
            string runs = $"{Algorithm(g)}{(g.G > 1 ? $", {g.G} groups" : "")}; " + (first ? "dW" : "dx, dW") + (bias ? ", db" : "");
            rows.Add(Time($"{name} {path}", g, runs, first,
                () => Conv2dKernel.Forward(g, x, w, b, bias, y),
                () => Conv2dKernel.Backward(g, x, w, dy, dx, dw, bias ? db : [], overwriteDx: true), seconds,
                first ? null : () => Conv2dKernel.Backward(g, x, w, dy, dx, default, default, overwriteDx: true),
                () => Conv2dKernel.Backward(g, x, w, dy, default, dw, bias ? db : [])));
        }
        if (rows.Count == 0) throw new ArgumentException($"model '{model}' has no Conv2d layer to time");
        return rows;
    }

    // Each Conv2d with its module path and per-sample input shape, found by one forward pass on zeros (eval, no autograd).
    private static List<(string Path, Conv2d Conv, int[] Shape)> Convolutions(Module net, int[] input)
    {
        var shapes = new Dictionary<Module, int[]>(ReferenceEqualityComparer.Instance);
        var convs = net.NamedModules().Where(nm => nm.Module is Conv2d).ToList();
        var hooks = convs.Select(nm => nm.Module.RegisterForwardHook((m, x, _) => shapes[m] = x.Shape[1..])).ToList();
        try
        {
            net.Eval();
            using var _ = Autograd.NoGrad();
            net.Forward(Tensor.Zeros([1, .. input]));
        }
        finally
        {
            foreach (var hook in hooks) hook.Dispose();
        }
        return convs.Where(nm => shapes.ContainsKey(nm.Module)).Select(nm => (nm.Name, (Conv2d)nm.Module, shapes[nm.Module])).ToList();
    }
}
