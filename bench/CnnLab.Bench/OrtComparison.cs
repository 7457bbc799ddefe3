using CnnLab.Benchmarks;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using CnnLab.Kernels;
using CnnLab.Nn;
using CnnLab.Serialization.Onnx;
using CnnLab.Tensors;
using CnnLab.Training;
using Microsoft.ML.OnnxRuntime;

namespace CnnLab.Bench;

/// <summary>
/// Inference of one model in CnnLab (eval mode, no-grad; and frozen, Module.Freeze) and in ONNX Runtime on CnnLab's own ONNX
/// export, side by side in one process: the same random weights and inputs, rounds that alternate the three, and the best of
/// each side's per-round median milliseconds per batch. Prints one JSON line. bench/compare-onnxruntime.sh runs it per model.
/// Usage: dotnet run -c Release --project bench/CnnLab.Bench -- ort --model cnn-small|SPEC.json --batch 1 --threads 1 --seconds 4
/// </summary>
public static class OrtComparison
{
    public static int Run(string[] args)
    {
        string model = Arg(args, "--model", "cnn-small");
        int batch = int.Parse(Arg(args, "--batch", "1"), CultureInfo.InvariantCulture);
        int threads = int.Parse(Arg(args, "--threads", "1"), CultureInfo.InvariantCulture);
        double seconds = double.Parse(Arg(args, "--seconds", "4"), CultureInfo.InvariantCulture);
        Parallelism.MaxThreads = threads;
        var gen = new Generator(0);
        var (net, input, _, name) = ThroughputBenchmark.CreateModel(model, gen);
        net.Eval();
        using var onnx = new MemoryStream();
        OnnxExporter.Export(net, input, onnx);
        using var options = new SessionOptions
        {
            IntraOpNumThreads = threads, InterOpNumThreads = 1, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        using var session = new InferenceSession(onnx.ToArray(), options);
        var x = Tensor.Randn(gen, [batch, .. input]);
        long[] shape = [batch, .. input.Select(d => (long)d)];
        using var ortInput = OrtValue.CreateTensorValueFromMemory(x.ToArray(), shape);
        using var runOptions = new RunOptions();
        string[] inputNames = [OnnxExporter.InputName], outputNames = [session.OutputNames[0]];

        void CnnLabOnce()
        {
            using (Autograd.NoGrad()) net.Forward(x);
        }
        void OrtOnce()
        {
            using var outputs = session.Run(runOptions, inputNames, [ortInput], outputNames);
        }

        double cnnlab = double.MaxValue, frozen = double.MaxValue, ort = double.MaxValue;
        for (int round = 0; round < 6; round++)
        {
            // The first round warms all up (the JIT, ORT's arena); every round alternates CnnLab in eval mode, CnnLab frozen
            // (Module.Freeze: its weights constants, as the ONNX Runtime session holds them) and ONNX Runtime.
            net.Unfreeze().Eval();
            cnnlab = Math.Min(cnnlab, MedianMs(CnnLabOnce, seconds / 18));
            net.Freeze();
            frozen = Math.Min(frozen, MedianMs(CnnLabOnce, seconds / 18));
            ort = Math.Min(ort, MedianMs(OrtOnce, seconds / 18));
        }
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            model = name, batch, threads, cnnlab_ms = cnnlab, cnnlab_frozen_ms = frozen, ort_ms = ort, ratio = ort / cnnlab,
            frozen_ratio = ort / frozen,
            ort_version = typeof(InferenceSession).Assembly.GetName().Version?.ToString(),
        }));
        return 0;
    }

    // The median milliseconds of one call over calls made for about this long (at least 3).
    private static double MedianMs(Action call, double seconds)
    {
        var times = new List<double>();
        var total = Stopwatch.StartNew();
        while (total.Elapsed.TotalSeconds < seconds || times.Count < 3)
        {
            long start = Stopwatch.GetTimestamp();
            call();
            times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
        times.Sort();
        return times[times.Count / 2];
    }

    private static string Arg(string[] args, string name, string fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
    }
}
