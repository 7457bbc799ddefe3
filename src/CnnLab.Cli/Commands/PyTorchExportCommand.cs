using System.CommandLine;
using CnnLab.Data;
using CnnLab.Init.Networks;
using CnnLab.IO;
using CnnLab.Serialization;
using CnnLab.Tensors;
using CnnLab.Training;
using CnnLab.Training.PyTorch;
using CnnLab.Cli.Support;

namespace CnnLab.Cli.Commands;

/// <summary>
/// <c>cnnlab export pytorch --checkpoint DIR | --model M [--weights W] [recipe options] --out PROJECT/</c>: the run as a
/// PyTorch DistributedDataParallel project (<see cref="PyTorchProject"/>), for when training outgrows one machine.
/// A checkpoint brings its own recipe (config.json); a model takes <c>cnnlab train</c>'s options for it.
/// </summary>
public static class PyTorchExportCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var d = new TrainingConfig();
        var checkpoint = new Option<string?>("--checkpoint") { Description = "a checkpoint folder written by 'cnnlab train'" };
        var model = new Option<string?>("--model") { Description = "zoo model or JSON spec: a new run (with the recipe options below)" };
        var weights = new Option<string?>("--weights") { Description = "starting weights for --model (default: drawn by --init from --seed)" };
        var output = new Option<string>("--out") { Description = "the project folder to write (new or empty)", Required = true };
        var dataOptions = new DataOptions(preprocessing: false);
        var data = dataOptions.Data;
        var init = new Option<string>("--init") { Description = "init scheme for --model without --weights", DefaultValueFactory = _ => d.Init };
        var optimizer = new Option<string>("--optimizer")
            { Description = "sgd | adam | adamw | adamw-paper | rmsprop", DefaultValueFactory = _ => d.Optimizer };
        var lr = new Option<double>("--lr") { Description = "learning rate", DefaultValueFactory = _ => d.Lr };
        var wd = new Option<double?>("--weight-decay") { Description = "weight decay λ (default: AdamW 0.01, others 0)" };
        var momentum = new Option<double>("--momentum") { Description = "SGD momentum", DefaultValueFactory = _ => d.Momentum };
        var nesterov = new Option<bool>("--nesterov") { Description = "Nesterov momentum (SGD)" };
        var schedule = new Option<string>("--schedule")
            { Description = "none | cosine | step | onecycle | warmup-cosine", DefaultValueFactory = _ => d.Schedule };
        var epochs = new Option<int>("--epochs") { Description = "epochs", DefaultValueFactory = _ => d.Epochs };
        var batch = new Option<int>("--batch-size")
            { Description = "global batch size (split between the processes)", DefaultValueFactory = _ => d.BatchSize };
        var seed = new Option<long>("--seed") { Description = "seed of the starting weights and the shuffling", DefaultValueFactory = _ => d.Seed };
        var decayAll = new Option<bool>("--decay-all") { Description = "decay every parameter, biases and normalization included" };
        var noShuffle = new Option<bool>("--no-shuffle") { Description = "visit training images in file order" };
        var augment = new Option<bool>("--augment") { Description = "random shift (padding 2) and horizontal flip" };
        var smoothing = new Option<float>("--label-smoothing") { Description = "cross-entropy label smoothing", DefaultValueFactory = _ => 0f };
        var pool = new Option<string>("--pool")
            { Description = "max | avg | conv downsampling in the zoo's CNNs", DefaultValueFactory = _ => d.Pool };
        var reluOrder = new Option<string>("--relu-order") { Description = "before-pool | after-pool", DefaultValueFactory = _ => d.ReluOrder };
        Option[] recipe = [init, optimizer, lr, wd, momentum, nesterov, schedule, epochs, batch, seed, decayAll, noShuffle, augment, smoothing,
            pool, reluOrder];
        var command = new Command("pytorch",
            "Write a PyTorch DDP project (model.py, data.py, train.py for torchrun) with this run's model, weights, optimizer and data.")
        {
            checkpoint, model, weights, output,
        };
        foreach (var option in dataOptions.All) command.Add(option);
        foreach (var option in recipe) command.Add(option);
        command.SetAction(p => CliErrors.Guard(stderr, () =>
        {
            string? ckptDir = p.GetValue(checkpoint), modelName = p.GetValue(model), weightsFile = p.GetValue(weights);
            string outDir = p.GetValue(output)!;
            string? dataDir = p.GetValue(data);
            if (dataDir is not null && !Directory.Exists(dataDir)) throw new UsageException($"--data: folder '{dataDir}' does not exist");
            PyTorchProjectInput input;
            if (ckptDir is not null)
            {
                var given = recipe.Append(model).Append(weights).Where(o => p.GetResult(o) is { Implicit: false }).Select(o => o.Name).ToList();
                if (given.Count > 0)
                    throw new UsageException(
                        $"--checkpoint brings its own recipe (config.json), so {string.Join(", ", given)} cannot be given with it");
                var source = DataSource.Resolve(dataDir, Environment.GetEnvironmentVariable(DataSource.EnvironmentVariable));
                input = FromCheckpoint(ckptDir, source);
            }
            else
            {
                if (modelName is null) throw new UsageException("give --checkpoint DIR, or --model NAME (with --weights FILE or an --init)");
                var config = new TrainingConfig
                {
                    Model = modelName, Init = p.GetValue(init)!, Optimizer = p.GetValue(optimizer)!.ToLowerInvariant(), Lr = p.GetValue(lr),
                    WeightDecay = p.GetValue(wd), Momentum = p.GetValue(momentum), Nesterov = p.GetValue(nesterov),
                    Schedule = p.GetValue(schedule)!.ToLowerInvariant(), Epochs = p.GetValue(epochs), BatchSize = p.GetValue(batch),
                    Seed = p.GetValue(seed), DecayAll = p.GetValue(decayAll), Shuffle = !p.GetValue(noShuffle), Augment = p.GetValue(augment),
                    LabelSmoothing = p.GetValue(smoothing), Pool = p.GetValue(pool)!, ReluOrder = p.GetValue(reluOrder)!,
                    Threads = Math.Min(Environment.ProcessorCount, Kernels.Parallelism.MaxThreadsLimit),
                };
                // The data decides what a new run's model takes and how images are normalized, as in 'cnnlab train'.
                var (source, split) = dataOptions.Load(p, DatasetOptions.Default with { Seed = config.Seed }, stdout);
                input = FromModel(Trainer.WithData(config, split), weightsFile, source);
            }
            PyTorchProject.Write(input, outDir);
            stdout.WriteLine($"wrote {outDir}: {string.Join(", ", PyTorchProject.Files)}; {input.Data.Description}");
            stdout.WriteLine($"launch: cd {outDir} && torchrun --standalone --nproc_per_node 1 train.py   (README.md: 8 GPUs, 2 nodes)");
            return CliErrors.Ok;
        }));
        return command;
    }

    private static PyTorchProjectInput FromCheckpoint(string dir, DataSource source)
    {
        var ckpt = Checkpoint.Load(dir);
        var (net, input, _, _) = TrainedModel.FromCheckpoint(ckpt, dir);
        return new PyTorchProjectInput(ckpt.Config, net, input, source, ckpt.State.ModelGenerator, dir,
            $"the checkpoint {Path.GetFullPath(dir)} (step {ckpt.State.Step})");
    }

    // A new run's model as `cnnlab train` would start it: drawn from the seed and the init scheme, or the given weights.
    private static PyTorchProjectInput FromModel(TrainingConfig config, string? weightsFile, DataSource source)
    {
        config.Validate();
        if (Trainer.IsSpecFile(config.Model))
        {
            if (!File.Exists(config.Model)) throw new UsageException($"--model: spec file '{config.Model}' does not exist");
            config = config with { ModelSpecJson = Budgets.ReadTextFile(config.Model, "model spec") };
        }
        var generator = new Generator(config.Seed);
        var (net, input) = Trainer.BuildModel(config, generator);
        if (weightsFile is not null)
        {
            if (!File.Exists(weightsFile)) throw new UsageException($"--weights: file '{weightsFile}' does not exist");
            try { net.LoadStateDict(SafeTensors.Load(weightsFile).Tensors); }
            catch (ArgumentException e) { throw new InvalidFileException(weightsFile, e.Message); }
        }
        else InitScheme.Parse(config.Init).Apply(net, generator);
        string from = weightsFile is null ? $"a new run of {config.Model} (init {config.Init}, seed {config.Seed})"
            : $"{config.Model} with the weights {Path.GetFullPath(weightsFile)}";
        return new PyTorchProjectInput(config, net, input, source, generator.GetState(), null, from);
    }
}
