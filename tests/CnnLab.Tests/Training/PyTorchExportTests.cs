using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using CnnLab.Data;
using CnnLab.Nn;
using CnnLab.Serialization;
using CnnLab.Tensors;
using CnnLab.Training;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// <c>cnnlab export pytorch</c> end to end, with Debian's PyTorch: the project trains under
/// <c>torchrun --nproc_per_node 2</c> on the CPU (gloo) from CnnLab's weights with CnnLab's first loss, its loss falls, CnnLab
/// reads its run folder (same test loss) and resumes from PyTorch's optimizer state, taking the step PyTorch takes.
/// </summary>
public class PyTorchExportTests
{
    // A small spec of other layer kinds than cnn-small's (no BatchNorm or dropout: with two processes, those compute
    // per-process statistics and masks, which a one-process CnnLab step does not reproduce).
    private const string Spec = """
        { "name": "small-spec", "input": [1, 28, 28], "layers": [
          { "type": "conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1 }, { "type": "tanh" },
          { "type": "avgpool2d", "kernel_size": 2 },
          { "type": "conv2d", "out_channels": 16, "kernel_size": 3, "stride": 2, "padding": 1 }, { "type": "gelu" },
          { "type": "adaptive_avgpool2d", "output_size": 2 }, { "type": "flatten" },
          { "type": "linear", "out_features": 32 }, { "type": "elu" }, { "type": "linear", "out_features": 10 } ] }
        """;

    [Theory]
    [InlineData("cnn-small", "adamw")]
    [InlineData("spec", "adamw-paper")]
    public void ATorchrunRunStartsWhereCnnLabIsAndComesBackToIt(string model, string optimizer)
    {
        TorchProcess.Require();
        var root = TinyData.TempDir("pytorch-export");
        var dataDir = TinyData.Folder(1600, 300); // 25 steps of 64 per epoch
        if (model == "spec")
        {
            model = Path.Combine(root, "small-spec.json");
            File.WriteAllText(model, Spec);
        }
        var project = Path.Combine(root, "project");
        var export = Cli.Run("export", "pytorch", "--model", model, "--optimizer", optimizer, "--lr", "0.005", "--no-shuffle", "--epochs", "2",
            "--seed", "5", "--data", dataDir, "--out", project);
        Assert.True(export.ExitCode == 0, export.Stderr);
        var data = IdxDataset.LoadFolder(dataDir, "tiny", FashionMnist.ClassNames);

        var (code, output) = Torchrun(project, "--max-steps", "20", "--out", "run20");
        Assert.True(code == 0, output);
        var steps = File.ReadAllLines(Path.Combine(project, "run20", "steps.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var losses = steps.Where(s => s.TryGetProperty("loss", out _)).Select(s => s.GetProperty("loss").GetDouble()).ToList();
        Assert.Equal(20, losses.Count);

        // (a) PyTorch's first loss is CnnLab's on the same 64 images (no shuffling: images 0-63, 32 per process).
        var (net, normalize) = Build(project, model);
        net.LoadStateDict(SafeTensors.Load(Path.Combine(project, "weights.safetensors")).Tensors);
        var first = new DataLoader(data.Train, 64, normalize: normalize).Epoch(0).First();
        float cnnLabLoss = Functional.CrossEntropy(net.Forward(first.X), first.Y).Item();
        Assert.True(Math.Abs(losses[0] - cnnLabLoss) <= 1e-5 * Math.Abs(cnnLabLoss), $"first loss: PyTorch {losses[0]}, CnnLab {cnnLabLoss}");

        // (b) The loss falls.
        Assert.True(losses.TakeLast(5).Average() < 0.95 * losses.Take(5).Average(), $"losses: {string.Join(", ", losses)}");

        // (c) CnnLab reads the run folder and finds PyTorch's test loss for its weights.
        var run20 = Path.Combine(project, "run20");
        var ckpt = Checkpoint.Load(run20);
        Assert.Equal(20, ckpt.State.Step);
        var (trained, _) = Build(project, model);
        trained.LoadStateDict(ckpt.Weights);
        var eval = Evaluation.Run(trained, new DataLoader(data.Test, 1000, normalize: normalize).Epoch(0).Select(b => (b.X, b.Y)), 10);
        double torchTestLoss = steps.Last().GetProperty("test_loss").GetDouble();
        Assert.True(Math.Abs(eval.Loss - torchTestLoss) <= 1e-4 * torchTestLoss, $"test loss: PyTorch {torchTestLoss}, CnnLab {eval.Loss}");

        // (d) CnnLab resumes from PyTorch's optimizer state: its step 21 is PyTorch's step 21 (train.py --resume) to rounding,
        // while the step itself moves weights by far more (a fresh optimizer's first step would differ by about lr).
        (code, output) = Torchrun(project, "--resume", "run20", "--out", "run21", "--max-steps", "21");
        Assert.True(code == 0, output);
        var cnnLabRun = Path.Combine(root, "cnnlab21");
        Directory.CreateDirectory(cnnLabRun);
        foreach (var f in Directory.GetFiles(run20)) File.Copy(f, Path.Combine(cnnLabRun, Path.GetFileName(f)));
        var trainer = Trainer.Resume(cnnLabRun, data);
        Assert.Equal(20, trainer.Optimizer.StateDict().State[0].Step);
        using var cancel = new CancellationTokenSource();
        trainer.StepCompleted += (_, _) => cancel.Cancel();
        Assert.Equal(TrainingStatus.Interrupted, trainer.Run(cancel.Token).Status);
        var before = ckpt.Weights;
        var cnnLab21 = Checkpoint.Load(cnnLabRun);
        var torch21 = Checkpoint.Load(Path.Combine(project, "run21"));
        Assert.Equal(21, cnnLab21.State.Step);
        Assert.Equal(21, torch21.State.Step);
        double moved = 0, differ = 0;
        foreach (var (name, w) in torch21.Weights)
        {
            if (!name.EndsWith("weight", StringComparison.Ordinal) && !name.EndsWith("bias", StringComparison.Ordinal)) continue;
            for (int i = 0; i < w.Numel; i++)
            {
                moved = Math.Max(moved, Math.Abs(w.Data[i] - before[name].Data[i]));
                differ = Math.Max(differ, Math.Abs(w.Data[i] - cnnLab21.Weights[name].Data[i]));
            }
        }
        Assert.True(moved > 2e-4, $"step 21 moved the weights by at most {moved}");
        Assert.True(differ < 2e-5,
            string.Create(CultureInfo.InvariantCulture, $"CnnLab's step 21 differs from PyTorch's by {differ} (step {moved})"));
        var torchMoments = torch21.OptimizerState.State[0].Buffers["exp_avg"];
        var cnnLabMoments = cnnLab21.OptimizerState.State[0].Buffers["exp_avg"];
        for (int i = 0; i < torchMoments.Numel; i++) Assert.Equal(torchMoments.Data[i], cnnLabMoments.Data[i], 1e-6f);
    }

    // The exported run's model (random weights) and the normalization its data.py applies.
    private static (Sequential Model, Normalize Normalize) Build(string project, string model)
    {
        var config = TrainingConfig.FromJson(File.ReadAllText(Path.Combine(project, "cnnlab_config.json")), "cnnlab_config.json");
        Assert.Equal(model, config.Model);
        return (Trainer.BuildModel(config, new Generator(0)).Model, config.Normalization);
    }

    // The README's launch on two CPU processes, on a free port of its own: --standalone always rendezvouses on port 29400,
    // and a launch that follows the last within seconds (as here) could find it still held and wait until the timeout.
    // Debian's torchrun (PyTorch 1.13 under Python 3.11) cannot parse its own default "--redirects 0" (Python 3.11 no longer
    // lists IntFlag's zero member): any other value avoids it.
    private static (int, string) Torchrun(string project, params string[] args)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return TorchProcess.Run(TorchProcess.Torchrun,
            ["--nnodes", "1", "--nproc_per_node", "2", "--master_addr", "127.0.0.1", "--master_port", port.ToString(CultureInfo.InvariantCulture),
                "--redirects", "2", "--tee", "2", "train.py", "--device", "cpu", .. args], project, 420);
    }
}
