using System.Runtime.Intrinsics;
using CnnLab.Kernels;
using CnnLab.Tensors;

namespace CnnLab.Benchmarks;

/// <summary>One zoo convolution timed as training runs it: forward and backward milliseconds and GFLOP/s.</summary>
/// <param name="Layer">"model convN".</param>
/// <param name="Shape">"C→OC, KHxKW, HxW→OHxOW".</param>
/// <param name="Runs">What is timed: the kernels training calls for the layer (with its fused ReLU, pool or statistics).</param>
/// <param name="ForwardMs">Best forward time, milliseconds.</param>
/// <param name="ForwardGflops">The convolution's multiply-adds ×2 (<see cref="Conv2dGeometry.Flops"/>) per second.</param>
/// <param name="BackwardMs">Best backward time, milliseconds.</param>
/// <param name="BackwardGflops">dW's multiply-adds, and dx's where the layer has one, ×2 per second.</param>
/// <param name="InputGradientMs">dx alone, best time in milliseconds: NaN where the layer has none or it is not timed apart
/// (the zoo's fused stages).</param>
/// <param name="WeightGradientMs">dW (and db) alone, best time in milliseconds: NaN where not timed apart.</param>
public sealed record ConvLayerTiming(string Layer, string Shape, string Runs, double ForwardMs, double ForwardGflops, double BackwardMs,
    double BackwardGflops, double InputGradientMs = double.NaN, double WeightGradientMs = double.NaN)
{
    /// <summary>dx's multiply-adds ×2 per second (NaN where not timed apart).</summary>
    public double InputGradientGflops => ForwardGflops * ForwardMs / InputGradientMs;

    /// <summary>dW's multiply-adds ×2 per second (NaN where not timed apart).</summary>
    public double WeightGradientGflops => ForwardGflops * ForwardMs / WeightGradientMs;
}

/// <summary>
/// The zoo's convolutions at a batch size, each as training runs it (the direct one-channel first stage, the
/// fused conv → ReLU → pool with Winograd or the channel-blocked kernel inside, conv with batch-norm plane
/// statistics), best of runs, against the machine's fused multiply-add peak measured by <see cref="FmaPeak"/>:
/// the numbers behind the "convolution at 80 % of peak" target. The FLOPs counted are those of the plain
/// convolution (Winograd's fewer multiplications count as the direct ones they replace).
/// </summary>
public static partial class ConvBenchmark
{
    /// <summary>Times every zoo convolution for about <paramref name="seconds"/> each way.</summary>
    public static IReadOnlyList<ConvLayerTiming> Run(int batch, int threads, double seconds = 0.5)
    {
        if (batch < 1 || batch > 4096) throw new ArgumentOutOfRangeException(nameof(batch), batch, "batch 1..4096");
        using var threadScope = Parallelism.UseThreads(threads);
        var rows = new List<ConvLayerTiming>();
        var pad1 = new Conv2dGeometry(batch, 1, 28, 28, 32, 3, 3, PH: 1, PW: 1);
        var conv2 = new Conv2dGeometry(batch, 32, 14, 14, 64, 3, 3, PH: 1, PW: 1);
        rows.Add(Stage("cnn-small conv1", pad1, firstLayer: true, seconds));
        rows.Add(Stage("cnn-small conv2", conv2, firstLayer: false, seconds));
        rows.Add(WithStatistics("cnn-bn conv1", pad1, firstLayer: true, seconds));
        rows.Add(WithStatistics("cnn-bn conv2", conv2, firstLayer: false, seconds));
        rows.Add(Stage("lenet5 conv1", new Conv2dGeometry(batch, 1, 28, 28, 6, 5, 5, PH: 2, PW: 2), firstLayer: true, seconds));
        rows.Add(Stage("lenet5 conv2", new Conv2dGeometry(batch, 6, 14, 14, 16, 5, 5), firstLayer: false, seconds));
        return rows;
    }

    private static string ShapeOf(in Conv2dGeometry g) =>
        $"{g.C}→{g.OC}, {g.KH}x{g.KW}, {g.H}x{g.W}→{g.OH}x{g.OW}";

    // conv → ReLU → 2x2 max pool, as Functional.Conv2dReluMaxPool2d runs it: the direct one-channel kernel for a
    // first layer (no dx), else the general fused kernel with dx.
    private static ConvLayerTiming Stage(string layer, Conv2dGeometry g, bool firstLayer, double seconds)
    {
        var pool = new Pool2dGeometry(g.N, g.OC, g.OH, g.OW, 2, 2, 2, 2, 0, 0, 1, 1, false);
        var (x, w, b) = Inputs(g);
        int outs = g.N * g.OC * pool.OH * pool.OW;
        var (pooled, dPooled, argmax) = (new float[outs], Filled(outs, 4), new int[outs]);
        var (dx, dw, db) = (firstLayer ? [] : new float[x.Length], new float[w.Length], new float[g.OC]);
        Action forward, backward;
        string runs;
        if (firstLayer && ConvPlanner.PoolsSingleChannel(g, pool))
        {
            var codes = new byte[ConvReluMaxPoolSingleChannel.CodesLength(g, pool)];
            forward = () => ConvReluMaxPoolSingleChannel.Forward(g, pool, x, w, b, true, pooled, codes);
            backward = () => ConvReluMaxPoolSingleChannel.BackwardWeights(g, pool, x, codes, dPooled, dw, db);
            runs = "direct conv+ReLU+pool; dW, db";
        }
        else
        {
            forward = () => ConvReluMaxPoolKernel.Forward(g, pool, x, w, b, true, pooled, argmax);
            backward = () => ConvReluMaxPoolKernel.Backward(g, pool, x, w, pooled, argmax, dPooled, dx, dw, db, overwriteDx: true);
            runs = Algorithm(g) + " conv+ReLU+pool; " + (firstLayer ? "dW, db" : "dx, dW, db");
        }
        return Time(layer, g, runs, firstLayer, forward, backward, seconds);
    }

    // conv with each output plane's mean and squared deviations (for the batch norm that follows), and its backward.
    private static ConvLayerTiming WithStatistics(string layer, Conv2dGeometry g, bool firstLayer, double seconds)
    {
        var (x, w, b) = Inputs(g);
        var y = new float[g.N * g.OC * g.ColCols];
        var dy = Filled(y.Length, 5);
        var (means, squares) = (new double[g.N * g.OC], new double[g.N * g.OC]);
        var (dx, dw, db) = (firstLayer ? [] : new float[x.Length], new float[w.Length], new float[g.OC]);
        string runs = Algorithm(g) + " conv + plane statistics; " + (firstLayer ? "dW, db" : "dx, dW, db");
        return Time(layer, g, runs, firstLayer,
            () => Conv2dKernel.Forward(g, x, w, b, true, y, planeMeans: means, planeSquares: squares),
            () => Conv2dKernel.Backward(g, x, w, dy, dx, dw, db, overwriteDx: true), seconds);
    }

    // The planner's algorithms (y/dx/dW, one name when they agree): the same choice the ops make.
    // A dilated convolution run in phases: its ordinary one's forward and dx, and dW (ConvPlanner.PhaseWeightGradient) its or its own.
    private static string Algorithm(in Conv2dGeometry g)
    {
        if (ConvPlanner.DilationPhases(g) is not { } phases) return ConvPlanner.Plan(g).ToString();
        var inner = ConvPlanner.Plan(phases);
        var dw = ConvPlanner.PhaseWeightGradient(phases) ? inner.WeightGradient : ConvPlanner.Plan(g).WeightGradient;
        return $"phases: {ConvPlan.Name(inner.Forward)}/{ConvPlan.Name(inner.InputGradient)}/{ConvPlan.Name(dw)}";
    }

    private static (float[] X, float[] W, float[] B) Inputs(in Conv2dGeometry g) =>
        (Filled(g.N * g.C * g.H * g.W, 1), Filled(g.OC * g.ColRows, 2), Filled(g.OC, 3));

    private static float[] Filled(int n, long seed)
    {
        var v = new float[n];
        new Generator(seed).FillNormal(v, 0f, 1f);
        return v;
    }

    private static ConvLayerTiming Time(string layer, in Conv2dGeometry g, string runs, bool firstLayer, Action forward, Action backward,
        double seconds, Action? inputGradient = null, Action? weightGradient = null)
    {
        double f = BestTime.Seconds(forward, seconds), b = BestTime.Seconds(backward, seconds);
        double dx = inputGradient is null ? double.NaN : BestTime.Seconds(inputGradient, seconds);
        double dw = weightGradient is null ? double.NaN : BestTime.Seconds(weightGradient, seconds);
        double backwardFlops = g.Flops * (firstLayer ? 1 : 2);
        return new ConvLayerTiming(layer, ShapeOf(g), runs, f * 1e3, g.Flops / f / 1e9, b * 1e3, backwardFlops / b / 1e9, dx * 1e3, dw * 1e3);
    }
}
