using CnnLab.Benchmarks;
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using CnnLab.Nn.Models;
using CnnLab.Training;
using CnnLab.Cli.Support;

namespace CnnLab.Cli.Commands;

/// <summary>
/// <c>cnnlab bench</c>: training and inference images/s, peak working set and GC counts of a zoo model
/// (the CnnLab side of bench/compare-pytorch.sh); <c>--profile</c> breaks one step down by layer;
/// <c>--gemm</c> times the GEMM on bench/gemm-openblas.py's cases; <c>--convs</c> the convolutions (of --model, or the zoo's)
/// against the measured FMA peak.
/// </summary>
public static class BenchCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var model = new Option<string>("--model")
        {
            Description = "zoo model (see 'cnnlab models') or a JSON model spec (bench/models/*.json; its input shape is used)",
            DefaultValueFactory = _ => "cnn-small",
        };
        var inferBatch = new Option<int>("--infer-batch")
        {
            Description = "inference batch size (1 measures latency)", DefaultValueFactory = _ => 1000,
        };
        var batch = new Option<int>("--batch") { Description = "training batch size", DefaultValueFactory = _ => 128 };
        var threads = new Option<int>("--threads")
        {
            Description = "CPU threads (default: all cores)", DefaultValueFactory = _ => Environment.ProcessorCount,
        };
        var seconds = new Option<double>("--seconds")
        {
            Description = "seconds of timed training (inference gets half)", DefaultValueFactory = _ => 10.0,
        };
        var warmup = new Option<double>("--warmup-seconds")
        {
            Description = "untimed training first, after 5 steps (the JIT optimizes the kernels over the first 1-2 s)",
            DefaultValueFactory = _ => 2.0,
        };
        var json = new Option<bool>("--json") { Description = "print one JSON object" };
        var arena = new Option<bool>("--arena")
        {
            Description = "each training step inside a TensorArena scope, as the Trainer runs (default: the README's plain loop)",
        };
        var profile = new Option<bool>("--profile")
        {
            Description = "milliseconds per training step by layer (forward, backward), loss, optimizer, allocation; "
                + "layers run unfused here (the per-layer clock needs hooks), so the total is above the fused step's",
        };
        var steps = new Option<int>("--steps")
        {
            Description = "steps averaged by --profile (enough for the JIT to have optimized every kernel)", DefaultValueFactory = _ => 100,
        };
        var gemm = new Option<bool>("--gemm") { Description = "GEMM GFLOP/s on bench/gemm-openblas.py's cases (256..2048, cnn, cnnNT, cnnTN)" };
        var convs = new Option<bool>("--convs")
        {
            Description = "each convolution's forward and backward (at --batch, best of runs for --seconds in all, each timing after an "
                + "untimed warm-up until the runtime has optimized what it runs): ms, GFLOP/s and share of the measured FMA peak; of "
                + "the --model given (zoo name or spec), with dx and dW each alone too, else of the zoo's tuned layers as training fuses them",
        };
        var command = new Command("bench",
            "Measure training/inference speed (random data, SGD momentum 0.9, lr 0.01), peak memory and GC counts; "
            + "--gemm times the GEMM, --convs the convolutions.")
        {
            model, batch, inferBatch, threads, seconds, warmup, json, arena, profile, steps, gemm, convs,
        };
        command.SetAction(p => CliErrors.Guard(stderr, () =>
        {
            int t = p.GetValue(threads);
            EvalCommand.PositiveThreads(t);
            double secs = p.GetValue(seconds);
            if (!(secs > 0) || secs > 3600) throw new UsageException($"--seconds must be above 0 and at most 3600, got {secs}");
            bool asJson = p.GetValue(json);
            if (p.GetValue(gemm)) return RunGemm(t, p.GetValue(seconds), asJson, stdout);
            // --convs alone: the zoo's tuned layers; with a --model: that model's own convolutions.
            string? convModel = p.GetResult(model) is { Implicit: false } ? p.GetValue(model) : null;
            if (p.GetValue(convs)) return RunConvs(convModel, p.GetValue(batch), t, p.GetValue(seconds), asJson, stdout);
            string name = p.GetValue(model)!;
            if (!ThroughputBenchmark.IsSpecPath(name) && !ModelZoo.IsKnown(name))
                throw new UsageException($"--model: unknown model '{name}' (see 'cnnlab models', or give a .json spec)");
            if (p.GetValue(inferBatch) < 1) throw new UsageException($"--infer-batch must be at least 1, got {p.GetValue(inferBatch)}");
            var options = new ThroughputOptions
            {
                Model = name, Batch = p.GetValue(batch), Threads = t, Seconds = p.GetValue(seconds), WarmupSeconds = p.GetValue(warmup),
                Arena = p.GetValue(arena), InferBatch = p.GetValue(inferBatch),
            };
            if (p.GetValue(profile)) return RunProfile(options, p.GetValue(steps), asJson, stdout);
            var r = ThroughputBenchmark.Run(options);
            if (asJson)
            {
                stdout.WriteLine(JsonSerializer.Serialize(new
                {
                    framework = "cnnlab", model = r.Model, batch = r.Batch, threads = r.Threads, loop = r.Arena ? "arena" : "plain",
                    train_images_per_sec = r.TrainImagesPerSec, infer_batch = r.InferBatch, infer_images_per_sec = r.InferImagesPerSec,
                    infer_ms_per_batch = 1000.0 * r.InferBatch / r.InferImagesPerSec,
                    peak_working_set_mb = r.PeakWorkingSetMb, gc_collections = r.GcCollections,
                    gc_gen0 = r.Gen0, gc_gen1 = r.Gen1, gc_gen2 = r.Gen2, train_steps = r.TrainSteps,
                    allocated_mb_per_step = r.AllocatedMbPerStep,
                }));
            }
            else
            {
                stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{r.Model} batch {r.Batch}, {r.Threads} thread(s), {(r.Arena ? "arena" : "plain")} loop: "
                    + $"train {r.TrainImagesPerSec:F0} images/s "
                    + $"({r.TrainSteps} steps), inference {r.InferImagesPerSec:F0} images/s (batch {r.InferBatch}, "
                    + $"{1000.0 * r.InferBatch / r.InferImagesPerSec:F3} ms)"));
                stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"peak working set {r.PeakWorkingSetMb:F0} MB; GC during training: {r.GcCollections} collections "
                    + $"(gen1 {r.Gen1}, gen2 {r.Gen2}), {r.AllocatedMbPerStep:F2} MB allocated per step"));
            }
            return CliErrors.Ok;
        }));
        return command;
    }

    private static int RunProfile(ThroughputOptions options, int steps, bool asJson, TextWriter stdout)
    {
        if (steps < 1) throw new UsageException($"--steps must be at least 1, got {steps}");
        var prof = ThroughputBenchmark.Profile(options, steps);
        if (asJson)
        {
            stdout.WriteLine(JsonSerializer.Serialize(new
            {
                model = options.Model, batch = options.Batch, threads = options.Threads, step_ms = prof.StepMs,
                parts = prof.Parts.Select(x => new { part = x.Part, forward_ms = x.ForwardMs, backward_ms = x.BackwardMs }),
                allocated_mb_per_step = prof.AllocatedMbPerStep, gen0_per_step = prof.Gen0PerStep,
                gen1_per_step = prof.Gen1PerStep, gen2_per_step = prof.Gen2PerStep,
            }));
            return CliErrors.Ok;
        }
        var ci = CultureInfo.InvariantCulture;
        stdout.WriteLine(string.Create(ci, $"{options.Model} batch {options.Batch}, {options.Threads} thread(s), mean of {steps} steps: "
            + $"{prof.StepMs:F2} ms/step ({options.Batch * 1000 / prof.StepMs:F0} images/s)"));
        stdout.WriteLine($"{"part",-28} {"forward ms",10} {"backward ms",11} {"share",6}");
        foreach (var (part, f, b) in prof.Parts)
            stdout.WriteLine(string.Create(ci, $"{part,-28} {f,10:F2} {b,11:F2} {(f + b) / prof.StepMs,6:P0}"));
        stdout.WriteLine(string.Create(ci, $"allocated {prof.AllocatedMbPerStep:F2} MB/step; "
            + $"GC per step: gen0 {prof.Gen0PerStep:F2}, gen1 {prof.Gen1PerStep:F2}, gen2 {prof.Gen2PerStep:F2}"));
        return CliErrors.Ok;
    }

    private static int RunConvs(string? model, int batch, int threads, double seconds, bool asJson, TextWriter stdout)
    {
        if (batch < 1 || batch > 4096) throw new UsageException($"--batch must be 1..4096 for --convs, got {batch}");
        if (model is not null && !ThroughputBenchmark.IsSpecPath(model) && !ModelZoo.IsKnown(model))
            throw new UsageException($"--model: unknown model '{model}' (see 'cnnlab models', or give a .json spec)");
        double peak = FmaPeak.Measure() * threads;
        // Two timings per zoo layer (forward and backward), four per layer of a --model (and dx and dW apart): --seconds in
        // all, at most half a second each.
        var rows = model is null ? ConvBenchmark.Run(batch, threads, Math.Min(0.5, seconds / 12))
            : ConvBenchmark.Run(model, batch, threads, Math.Min(0.5, seconds / 24));
        if (asJson)
        {
            stdout.WriteLine(JsonSerializer.Serialize(new
            {
                framework = "cnnlab", batch, threads, fma_peak_gflops = peak,
                layers = rows.Select(r => new
                {
                    layer = r.Layer, shape = r.Shape, runs = r.Runs, forward_ms = r.ForwardMs, forward_gflops = r.ForwardGflops,
                    backward_ms = r.BackwardMs, backward_gflops = r.BackwardGflops,
                    input_gradient_ms = Finite(r.InputGradientMs), input_gradient_gflops = Finite(r.InputGradientGflops),
                    weight_gradient_ms = Finite(r.WeightGradientMs), weight_gradient_gflops = Finite(r.WeightGradientGflops),
                }),
            }));
            return CliErrors.Ok;
        }
        var ci = CultureInfo.InvariantCulture;
        stdout.WriteLine(string.Create(ci, $"batch {batch}, {threads} thread(s); FMA peak measured: {peak:F0} GFLOP/s"));
        int width = Math.Max(16, rows.Max(r => r.Layer.Length));
        // dx and dW apart only where they were timed apart (a --model's layers).
        bool passes = rows.Any(r => double.IsFinite(r.WeightGradientMs));
        stdout.WriteLine($"{"layer".PadRight(width)} {"shape",-26} {"fwd ms",7} {"GFLOP/s",8} {"peak",5} "
            + $"{"bwd ms",7} {"GFLOP/s",8} {"peak",5}" + (passes ? $" {"dx ms",7} {"peak",5} {"dW ms",7} {"peak",5}" : "") + "  runs");
        foreach (var r in rows)
        {
            string line = string.Create(ci,
                $"{r.Layer.PadRight(width)} {r.Shape,-26} {r.ForwardMs,7:F3} {r.ForwardGflops,8:F0} {r.ForwardGflops / peak,5:P0} "
                + $"{r.BackwardMs,7:F3} {r.BackwardGflops,8:F0} {r.BackwardGflops / peak,5:P0}");
            if (passes)
                line += $" {Pass(r.InputGradientMs, ci),7} {Share(r.InputGradientGflops / peak, ci),5}"
                    + $" {Pass(r.WeightGradientMs, ci),7} {Share(r.WeightGradientGflops / peak, ci),5}";
            stdout.WriteLine(line + "  " + r.Runs);
        }
        if (passes)
            stdout.WriteLine("dx and dW alone are each repeated on their own, so operands that a training step reads from memory may "
                + "stay in cache; bwd runs them together, image by image, as training does.");
        return CliErrors.Ok;
    }

    // A pass's milliseconds, or "–" where the layer has no such pass; its share of the peak likewise.
    private static string Pass(double ms, CultureInfo ci) => double.IsFinite(ms) ? ms.ToString("F3", ci) : "–";

    private static string Share(double fraction, CultureInfo ci) => double.IsFinite(fraction) ? fraction.ToString("P0", ci) : "–";

    // JSON has no NaN: a pass not timed apart is null.
    private static double? Finite(double v) => double.IsFinite(v) ? v : null;

    private static int RunGemm(int threads, double seconds, bool asJson, TextWriter stdout)
    {
        double perCase = Math.Min(1.5, seconds);
        var results = new Dictionary<string, double>();
        foreach (var name in GemmBenchmark.Cases)
        {
            double g = GemmBenchmark.Run(name, threads, perCase);
            results[name] = g;
            if (!asJson) stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-8} t={threads} {g,7:F1} GFLOP/s  (CnnLab)"));
        }
        if (asJson) stdout.WriteLine(JsonSerializer.Serialize(new { framework = "cnnlab", threads, gflops = results }));
        return CliErrors.Ok;
    }
}
