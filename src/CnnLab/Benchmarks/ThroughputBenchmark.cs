using System.Diagnostics;
using CnnLab.Kernels;
using CnnLab.Nn;
using CnnLab.Nn.Models;
using CnnLab.Optim;
using CnnLab.Tensors;
using CnnLab.Training;
using CnnLab.IO;

namespace CnnLab.Benchmarks;

/// <summary>What <see cref="ThroughputBenchmark.Run"/> measures.</summary>
public sealed record ThroughputOptions
{
    /// <summary>Zoo model name, or the path of a JSON model spec (<see cref="ModelSpec"/>; its input shape is used).</summary>
    public string Model { get; init; } = "cnn-small";

    /// <summary>Training batch size.</summary>
    public int Batch { get; init; } = 128;

    /// <summary>Inference batch size.</summary>
    public int InferBatch { get; init; } = 1000;

    /// <summary>Kernel threads (<see cref="Parallelism.MaxThreads"/>).</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>Seconds of timed training; inference gets half of it.</summary>
    public double Seconds { get; init; } = 10;

    /// <summary>Untimed training steps first (PyTorch's script uses 5).</summary>
    public int WarmupSteps { get; init; } = 5;

    /// <summary>
    /// Untimed training for at least this long after <see cref="WarmupSteps"/> (PyTorch's script takes the
    /// same): .NET's tiered JIT replaces the first, unoptimized code of the model's methods over the first
    /// 1–2 s of training (cnn-bn's 2-thread steps take 1.5x their steady time then), and an epoch-long
    /// run is measured at its steady speed.
    /// </summary>
    public double WarmupSeconds { get; init; } = 2;

    /// <summary>
    /// Run the Trainer's own step (<see cref="TrainingStep"/>: gradients zeroed in place, each step's buffers recycled
    /// through a <see cref="TensorArena"/>, divergence checked). Default false: the README's plain loop (ZeroGrad,
    /// Forward, CrossEntropy, Backward, Step), whose buffers the <see cref="CachingAllocator"/> recycles.
    /// </summary>
    public bool Arena { get; init; }
}

/// <summary>Training and inference throughput, memory and GC activity of one benchmark run.</summary>
public sealed record ThroughputResult(
    string Model, int Batch, int InferBatch, int Threads, bool Arena, int TrainSteps, double TrainImagesPerSec, double InferImagesPerSec,
    double PeakWorkingSetMb, int GcCollections, int Gen0, int Gen1, int Gen2, double AllocatedMbPerStep);

/// <summary>
/// Training images/s of a zoo model or a JSON spec the way bench/pytorch_bench.py measures PyTorch: random N(0, 1)
/// images [B, C, H, W] (the spec's input; zoo models [B, 1, 28, 28]) and labels, cross-entropy, SGD (lr 0.01,
/// momentum 0.9), after a warm-up (5 steps and 2 s); inference images/s at <see cref="ThroughputOptions.InferBatch"/>
/// in eval mode under no-grad; the process's peak working set and the GC collections counted during the timed training.
/// </summary>
/// <remarks>PyTorch: no equivalent (bench/pytorch_bench.py is the PyTorch side of the comparison).</remarks>
public static class ThroughputBenchmark
{
    // The model (seed 0), SGD with momentum 0.9, and one random batch with random labels: what Run and Profile time.
    private static (Sequential Model, string Name, SGD Optimizer, Tensor X, int[] Labels, Generator Gen, int[] Input) Setup(ThroughputOptions o)
    {
        var gen = new Generator(0);
        var (model, input, classes, name) = CreateModel(o.Model, gen);
        var optimizer = new SGD(model.Parameters(), lr: 0.01, momentum: 0.9);
        var x = Tensor.Randn(gen, [o.Batch, .. input]);
        var labels = new int[o.Batch];
        for (int i = 0; i < labels.Length; i++) labels[i] = gen.NextInt(classes);
        return (model, name, optimizer, x, labels, gen, input);
    }

    /// <summary>Runs the benchmark (takes about 1.5 × <see cref="ThroughputOptions.Seconds"/> plus warm-up).</summary>
    public static ThroughputResult Run(ThroughputOptions o)
    {
        Validate(o);
        using var threadScope = Parallelism.UseThreads(o.Threads);
        var (model, name, optimizer, x, y, gen, input) = Setup(o);
        // The README's loop, or the Trainer's own step (gradients zeroed in place, buffers recycled, divergence checked).
        var trainingStep = o.Arena ? new TrainingStep(model, optimizer) : null;
        var arena = trainingStep?.Arena;
        long stepNumber = 0;
        void Step()
        {
            if (trainingStep is not null)
            {
                trainingStep.Run(x, y, ++stepNumber);
                return;
            }
            optimizer.ZeroGrad();
            Functional.CrossEntropy(model.Forward(x), y).Backward();
            optimizer.Step();
        }
        for (int i = 0; i < o.WarmupSteps; i++) Step();
        for (var warm = Stopwatch.StartNew(); warm.Elapsed.TotalSeconds < o.WarmupSeconds;) Step();

        int g0 = GC.CollectionCount(0), g1 = GC.CollectionCount(1), g2 = GC.CollectionCount(2);
        long allocated = GC.GetTotalAllocatedBytes(precise: true);
        int steps = 0;
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed.TotalSeconds < o.Seconds || steps < 2)
        {
            Step();
            steps++;
        }
        double train = steps * (double)o.Batch / sw.Elapsed.TotalSeconds;
        double allocMb = (GC.GetTotalAllocatedBytes(precise: true) - allocated) / 1048576.0 / steps;
        int d0 = GC.CollectionCount(0) - g0, d1 = GC.CollectionCount(1) - g1, d2 = GC.CollectionCount(2) - g2;

        model.Eval();
        var xi = Tensor.Randn(gen, [o.InferBatch, .. input]);
        double infer;
        using (Autograd.NoGrad())
        {
            using (arena?.Use()) model.Forward(xi);
            int n = 0;
            sw.Restart();
            while (sw.Elapsed.TotalSeconds < o.Seconds / 2 || n < 1)
            {
                using (arena?.Use()) model.Forward(xi);
                n++;
            }
            infer = n * (double)o.InferBatch / sw.Elapsed.TotalSeconds;
        }
        double peak = Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0;
        // gen-0 counts include the gen-1 and gen-2 collections (a gen-2 GC collects all generations).
        return new ThroughputResult(name, o.Batch, o.InferBatch, o.Threads, o.Arena, steps, train, infer, peak, d0, d0, d1, d2, allocMb);
    }

    /// <summary>
    /// Times one training step by part, averaged over <paramref name="steps"/> steps after a warm-up:
    /// each top-level layer's forward and backward (a gradient hook on every layer's output marks
    /// when its gradient is ready), the loss forward and backward, ZeroGrad and the optimizer step,
    /// and the bytes allocated and GC collections per step. The model must be a <see cref="Sequential"/>.
    /// </summary>
    public static StepProfile Profile(ThroughputOptions o, int steps = 20)
    {
        Validate(o);
        if (steps < 1) throw new ArgumentOutOfRangeException(nameof(steps), steps, "steps must be at least 1");
        using var threadScope = Parallelism.UseThreads(o.Threads);
        var (model, _, optimizer, x, labels, _, _) = Setup(o);
        int layers = model.Count;
        var names = new string[layers];
        for (int i = 0; i < layers; i++) names[i] = $"{i}:{model[i].GetType().Name}";
        var fwd = new double[layers];
        var bwd = new double[layers];
        double lossF = 0, lossB = 0, zero = 0, opt = 0, total = 0;
        var ready = new long[layers];
        var arena = new TensorArena();
        var sw = new Stopwatch();
        double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;
        long alloc0 = 0;
        int g0 = 0, g1 = 0, g2 = 0;
        for (int s = -o.WarmupSteps; s < steps; s++)
        {
            if (s == 0)
            {
                Array.Clear(fwd); Array.Clear(bwd);
                lossF = lossB = zero = opt = total = 0;
                alloc0 = GC.GetTotalAllocatedBytes(precise: true);
                g0 = GC.CollectionCount(0); g1 = GC.CollectionCount(1); g2 = GC.CollectionCount(2);
            }
            long start = Stopwatch.GetTimestamp(), t = start;
            optimizer.ZeroGrad(setToNone: false);
            long now = Stopwatch.GetTimestamp();
            zero += Ms(now - t); t = now;
            var scope = arena.Use();
            var h = x;
            for (int i = 0; i < layers; i++)
            {
                h = model[i].Forward(h);
                int layer = i;
                if (h.RequiresGrad) h.RegisterHook(_ => { ready[layer] = Stopwatch.GetTimestamp(); });
                now = Stopwatch.GetTimestamp();
                fwd[i] += Ms(now - t); t = now;
            }
            var loss = Functional.CrossEntropy(h, labels);
            now = Stopwatch.GetTimestamp();
            lossF += Ms(now - t); t = now;
            loss.Backward();
            scope.Dispose();
            long end = Stopwatch.GetTimestamp();
            // The gradient of layer i's output is ready when layer i+1's backward has finished.
            lossB += Ms(ready[layers - 1] - t);
            for (int i = layers - 1; i >= 0; i--)
                bwd[i] += Ms((i == 0 ? end : ready[i - 1]) - ready[i]);
            t = end;
            optimizer.Step();
            now = Stopwatch.GetTimestamp();
            opt += Ms(now - t);
            total += Ms(now - start);
        }
        var parts = new List<(string, double, double)>();
        for (int i = 0; i < layers; i++) parts.Add((names[i], fwd[i] / steps, bwd[i] / steps));
        parts.Add(("loss (cross-entropy)", lossF / steps, lossB / steps));
        parts.Add(("optimizer.ZeroGrad", zero / steps, 0));
        parts.Add(("optimizer.Step", opt / steps, 0));
        double allocMb = (GC.GetTotalAllocatedBytes(precise: true) - alloc0) / 1048576.0 / steps;
        return new StepProfile(parts, total / steps, allocMb,
            (GC.CollectionCount(0) - g0) / (double)steps, (GC.CollectionCount(1) - g1) / (double)steps, (GC.CollectionCount(2) - g2) / (double)steps);
    }

    /// <summary>True when <paramref name="model"/> names a JSON spec file rather than a zoo model.</summary>
    public static bool IsSpecPath(string model) => model.EndsWith(".json", StringComparison.OrdinalIgnoreCase);

    // A zoo model ([1, 28, 28] inputs, 10 classes) or a JSON spec (its input; its classes from one forward in eval mode).
    internal static (Sequential Model, int[] Input, int Classes, string Name) CreateModel(string model, Generator gen)
    {
        if (!IsSpecPath(model)) return (ModelZoo.Create(model, gen), [1, 28, 28], 10, model);
        var (net, input, name) = ModelSpec.Load(model, gen);
        net.Eval();
        Tensor probe;
        using (Autograd.NoGrad()) probe = net.Forward(Tensor.Zeros([1, .. input]));
        net.Train();
        if (probe.Rank != 2)
            throw new InvalidFileException(model, $"the model's output must be [N, classes] for cross-entropy, got {Shape.Format(probe.Shape)}");
        return (net, input, probe.Shape[1], name);
    }

    private static void Validate(ThroughputOptions o)
    {
        if (!IsSpecPath(o.Model) && !ModelZoo.IsKnown(o.Model)) throw new ArgumentException($"unknown model '{o.Model}'");
        if (o.Batch < 1) throw new ArgumentException($"batch must be at least 1, got {o.Batch}");
        if (o.InferBatch < 1) throw new ArgumentException($"inference batch must be at least 1, got {o.InferBatch}");
        if (o.Threads < 1) throw new ArgumentException($"threads must be at least 1, got {o.Threads}");
        if (!(o.Seconds > 0)) throw new ArgumentException($"seconds must be positive, got {o.Seconds}");
        if (!(o.WarmupSeconds >= 0)) throw new ArgumentException($"warm-up seconds must be at least 0, got {o.WarmupSeconds}");
        if (o.WarmupSteps < 0) throw new ArgumentException($"warm-up steps must be non-negative, got {o.WarmupSteps}");
    }
}
