using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using CnnLab.Data;
using CnnLab.IO;
using CnnLab.Nn.Models;
using CnnLab.Optim;
using CnnLab.Training;
using CnnLab.Training.TensorBoard;
using CnnLab.Cli.Support;

namespace CnnLab.Cli.Commands;

/// <summary><c>cnnlab train</c>: trains a model on Fashion-MNIST with progress, metrics and checkpoints.</summary>
public static class TrainCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var d = new TrainingConfig();
        var model = new Option<string>("--model")
        {
            Description = "zoo model (see 'cnnlab models') or a JSON model spec file", DefaultValueFactory = _ => d.Model,
        };
        var init = new Option<string>("--init")
        {
            Description = "init scheme: pytorch-default, zeros, constant:V, normal:STD, uniform:A, xavier-uniform, xavier-normal, "
                + "kaiming-uniform, kaiming-normal, lecun-normal, orthogonal, auto",
            DefaultValueFactory = _ => d.Init,
        };
        var optimizer = new Option<string>("--optimizer")
        {
            Description = "sgd | adam | adamw | adamw-paper | rmsprop", DefaultValueFactory = _ => d.Optimizer,
        };
        var lr = new Option<double>("--lr") { Description = "learning rate", DefaultValueFactory = _ => d.Lr };
        var wd = new Option<double?>("--weight-decay")
        {
            Description = "weight decay λ (default: AdamW 0.01, others 0); applied to weights only unless --decay-all",
        };
        var momentum = new Option<double>("--momentum") { Description = "SGD momentum", DefaultValueFactory = _ => d.Momentum };
        var nesterov = new Option<bool>("--nesterov") { Description = "Nesterov momentum (SGD)" };
        var schedule = new Option<string>("--schedule")
        {
            Description = "none | cosine | step | onecycle | warmup-cosine (stepped per batch)", DefaultValueFactory = _ => d.Schedule,
        };
        var epochs = new Option<int>("--epochs") { Description = "epochs", DefaultValueFactory = _ => d.Epochs };
        var batch = new Option<int>("--batch-size") { Description = "mini-batch size", DefaultValueFactory = _ => d.BatchSize };
        var seed = new Option<long>("--seed") { Description = "seed for weights, shuffling and augmentation", DefaultValueFactory = _ => d.Seed };
        var threads = new Option<int>("--threads") { Description = "CPU threads (default: all cores)", DefaultValueFactory = _ => d.Threads };
        var outDir = new Option<string?>("--out") { Description = "output folder for metrics.jsonl and checkpoints (default: runs/MODEL)" };
        var resume = new Option<string?>("--resume") { Description = "continue the run saved in this checkpoint folder" };
        var json = new Option<bool>("--json") { Description = "print one JSON object per epoch on stdout (human text goes to stderr)" };
        var decayAll = new Option<bool>("--decay-all") { Description = "apply weight decay to every parameter, biases and normalization included" };
        var pool = new Option<string>("--pool")
        {
            Description = "max | avg | conv (strided convolution) downsampling in CNNs", DefaultValueFactory = _ => d.Pool,
        };
        var reluOrder = new Option<string>("--relu-order") { Description = "before-pool | after-pool", DefaultValueFactory = _ => d.ReluOrder };
        var augment = new Option<string?>("--augment")
        {
            Description = "augment training images: alone, a random crop (padding 2) and a horizontal flip; or a list of crop[:P], "
                + "flip[:p], resized-crop[:min scale], jitter[:s] (brightness and contrast), brightness:s, contrast:s (off by default)",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var noAugment = new Option<bool>("--no-augment") { Description = "no augmentation (the default; overrides --augment)" };
        var noShuffle = new Option<bool>("--no-shuffle") { Description = "visit training images in file order" };
        var maxSteps = new Option<long?>("--max-steps") { Description = "stop after N optimizer steps, even mid-epoch" };
        var logSteps = new Option<bool>("--log-steps")
        {
            Description = "print {\"step\": N, \"loss\": L} per optimizer step (the batch's loss before the step)",
        };
        var overwrite = new Option<bool>("--overwrite") { Description = "replace a run already in the --out folder (default: refuse)" };
        var initFrom = new Option<string?>("--init-from")
        {
            Description = "start from these weights (safetensors, PyTorch state_dict names) instead of an init scheme",
        };
        var tensorboard = new Option<string?>("--tensorboard")
        {
            Description = "also write TensorBoard event files to DIR: loss, accuracy and lr per step and epoch, weight and gradient "
                + "histograms, first-layer filters and feature maps (view with: tensorboard --logdir DIR)",
        };
        var smoothing = new Option<float>("--label-smoothing") { Description = "cross-entropy label smoothing", DefaultValueFactory = _ => 0f };
        var data = new DataOptions(preprocessing: true);
        var command = new Command("train",
            "Train a model on Fashion-MNIST, CIFAR or your own folders of images, with progress, metrics.jsonl and atomic checkpoints.")
        {
            model, init, optimizer, lr, wd, momentum, nesterov, schedule, epochs, batch, seed, threads, outDir, resume, json,
            decayAll, pool, reluOrder, augment, noAugment, noShuffle, maxSteps, logSteps, initFrom, smoothing, overwrite, tensorboard,
        };
        foreach (var option in data.All) command.Options.Add(option);
        command.SetAction(p => CliErrors.Guard(stderr, () =>
        {
            bool asJson = p.GetValue(json);
            var log = asJson ? stderr : stdout;
            string? tensorboardDir = p.GetValue(tensorboard);
            if (tensorboardDir is not null) OutputFolder.Ensure(tensorboardDir, "--tensorboard");
            Trainer trainer;
            TrainTestSplit split;
            string? resumeDir = p.GetValue(resume);
            if (resumeDir is not null)
            {
                if (!Directory.Exists(resumeDir)) throw new InvalidFileException(resumeDir, "checkpoint folder does not exist");
                // A resumed run is its config.json: an option that would change it is refused, not ignored.
                Option[] runOptions = [model, init, optimizer, lr, wd, momentum, nesterov, schedule, epochs, batch, seed, threads,
                    outDir, decayAll, pool, reluOrder, augment, noAugment, noShuffle, maxSteps, initFrom, smoothing, overwrite,
                    .. data.Preprocessing];
                var given = runOptions.Where(o => p.GetResult(o) is { Implicit: false }).Select(o => o.Name).ToList();
                if (given.Count > 0)
                    throw new UsageException($"--resume continues the run as its config.json says, so {string.Join(", ", given)} " +
                        "cannot be given with it (start a new run, e.g. with --init-from DIR/model.safetensors)");
                var ckpt = Checkpoint.Load(resumeDir);
                (_, split) = data.Load(p, ckpt.Config.DataOptions, log);
                trainer = Trainer.Resume(ckpt, resumeDir, split);
                log.WriteLine($"Resuming {resumeDir}: {trainer.Config.Model}, {trainer.Config.Epochs} epochs");
            }
            else
            {
                (var source, split) = data.Load(p, data.FromCommandLine(p, p.GetValue(seed)), log);
                string? augmentList = p.GetValue(augment);
                if (augmentList is not null) Augmentation.Parse(augmentList);
                var config = new TrainingConfig
                {
                    Model = p.GetValue(model)!, Init = p.GetValue(init)!, Optimizer = p.GetValue(optimizer)!.ToLowerInvariant(),
                    Lr = p.GetValue(lr), WeightDecay = p.GetValue(wd), Momentum = p.GetValue(momentum), Nesterov = p.GetValue(nesterov),
                    Schedule = p.GetValue(schedule)!.ToLowerInvariant(), Epochs = p.GetValue(epochs), BatchSize = p.GetValue(batch),
                    Seed = p.GetValue(seed), Threads = p.GetValue(threads), DecayAll = p.GetValue(decayAll), Pool = p.GetValue(pool)!,
                    ReluOrder = p.GetValue(reluOrder)!, Augment = p.GetResult(augment) is not null && !p.GetValue(noAugment),
                    Augmentations = augmentList, ValSplit = p.GetValue(data.ValSplit), Shuffle = !p.GetValue(noShuffle),
                    MaxSteps = p.GetValue(maxSteps), InitFrom = p.GetValue(initFrom), LabelSmoothing = p.GetValue(smoothing),
                    Data = source.Description,
                };
                config.Validate();
                if (config.InitFrom is not null && !File.Exists(config.InitFrom))
                    throw new UsageException($"--init-from: file '{config.InitFrom}' does not exist");
                string dir = p.GetValue(outDir) ?? Path.Combine("runs", Path.GetFileNameWithoutExtension(config.Model));
                OutputFolder.Ensure(dir);
                trainer = new Trainer(config, split, dir) { Overwrite = p.GetValue(overwrite) };
            }
            DescribeRun(trainer, log);
            if (tensorboardDir is null) return RunWithProgress(trainer, stdout, stderr, log, asJson, p.GetValue(logSteps), null);
            using var writer = new SummaryWriter(tensorboardDir);
            trainer.TensorBoard = writer;
            log.WriteLine($"Writing TensorBoard events to {writer.FilePath} (view with: tensorboard --logdir {tensorboardDir})");
            return RunWithProgress(trainer, stdout, stderr, log, asJson, p.GetValue(logSteps), new TensorBoardImages(writer, split.Test,
                trainer.Config.Normalization));
        }));
        return command;
    }

    private static void DescribeRun(Trainer t, TextWriter log)
    {
        var c = t.Config;
        var summary = ModelSummary.Of(t.Model, t.InputShape);
        log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Model {c.Model} ({summary.TotalParameters:N0} parameters), init {(c.InitFrom is null ? c.Init : "from " + c.InitFrom)}, "
            + $"{c.Epochs} epochs x {t.BatchesPerEpoch} batches of {c.BatchSize}, seed {c.Seed}, {c.Threads} thread{(c.Threads == 1 ? "" : "s")}"));
        foreach (var choice in t.InitReport.DistinctBy(x => (x.Scheme, x.Reason)).Take(6))
            log.WriteLine($"  init {choice.Layer}: {choice.Scheme} ({choice.Reason})");
        var groups = t.Optimizer.ParamGroups;
        string decay = c.DecayAll
            ? $"weight decay {groups[0].WeightDecay:G3} on all {groups[0].Params.Count} parameter tensors (--decay-all)"
            : $"weight decay {groups[0].WeightDecay:G3} on {groups[0].Params.Count} weight tensors, "
                + $"none on {groups[1].Params.Count} bias/normalization tensors (--decay-all to decay everything)";
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Optimizer {c.Optimizer}, lr {c.Lr:G4}, schedule {c.Schedule}; {decay}"));
        if (t.OutDir is not null) log.WriteLine($"Writing metrics and checkpoints to {t.OutDir}");
    }

    private static int RunWithProgress(Trainer trainer, TextWriter stdout, TextWriter stderr, TextWriter log, bool asJson, bool logSteps,
        TensorBoardImages? images)
    {
        var bar = new ProgressBar(log, interactive: !asJson && ProgressBar.IsTerminal);
        trainer.BatchCompleted += b => bar.Report(b.Epoch, b.Epochs, b.Batch, b.Batches, b.Loss, b.Accuracy, b.ImagesPerSec, b.Eta);
        trainer.EpochCompleted += m =>
        {
            images?.Write(trainer.Model, m.Step);
            bar.Reset();
            if (asJson) stdout.WriteLine(m.ToJson());
            else log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"epoch {m.Epoch}: train loss {m.TrainLoss:0.0000} acc {m.TrainAcc * 100:0.00}%  "
                + $"test loss {m.TestLoss:0.0000} acc {m.TestAcc * 100:0.00}%  lr {m.Lr:G3}  {m.Seconds:0.0}s  {m.ImagesPerSec:0} img/s"));
        };
        if (logSteps) trainer.StepCompleted += (step, loss) => stdout.WriteLine(JsonSerializer.Serialize(new { step, loss }));

        using var cts = new CancellationTokenSource();
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, ctx =>
        {
            ctx.Cancel = true;
            cts.Cancel();
        });
        var result = trainer.Run(cts.Token);
        switch (result.Status)
        {
            case TrainingStatus.Interrupted:
                stderr.WriteLine($"\nInterrupted at step {result.Steps}; checkpoint saved in {trainer.OutDir}. "
                    + $"Continue with: cnnlab train --resume {trainer.OutDir}");
                return CliErrors.Interrupted;
            case TrainingStatus.Diverged:
                string kept = trainer.OutDir is not null && trainer.HasCheckpoint
                    ? $"The last good checkpoint is kept in {trainer.OutDir}"
                    : "It diverged before the first epoch ended, so no checkpoint was written";
                stderr.WriteLine($"\nStopped: {result.NonFinite!.Message}. {kept}. Try a lower --lr or another --init.");
                return CliErrors.Diverged;
        }
        if (result.Status == TrainingStatus.MaxStepsReached) images?.Write(trainer.Model, result.Steps);
        var eval = result.FinalEvaluation!;
        log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"\n{(result.Status == TrainingStatus.MaxStepsReached ? $"Stopped after --max-steps {result.Steps}" : "Done")}: "
            + $"test accuracy {eval.Accuracy * 100:0.00}%, test loss {eval.Loss:0.0000}"));
        if (!asJson) log.WriteLine(eval.Confusion.ToText(trainer.ClassNames));
        if (trainer.OutDir is not null) log.WriteLine($"Checkpoint: {trainer.OutDir}");
        return CliErrors.Ok;
    }
}
