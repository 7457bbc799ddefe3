using System.Diagnostics;
using System.Text.Json;
using CnnLab.Data;
using CnnLab.Init;
using CnnLab.Kernels;
using CnnLab.Nn;
using CnnLab.Nn.Models;
using CnnLab.Optim;
using CnnLab.Optim.Schedules;
using CnnLab.Serialization;
using CnnLab.Tensors;
using CnnLab.Init.Networks;
using CnnLab.IO;
using CnnLab.Training.TensorBoard;

namespace CnnLab.Training;

/// <summary>
/// Trains a classifier as a <see cref="TrainingConfig"/> says: builds the model (zoo name or JSON
/// spec), initializes it, runs epochs of mini-batch training with the optimizer and schedule,
/// evaluates on the test set after each epoch, appends to <c>metrics.jsonl</c> and writes a
/// checkpoint after every epoch (and on interrupt / --max-steps). Everything random comes from
/// the seed, so the same seed and thread count give the same weights and metrics; resuming from a
/// checkpoint gives bit-identical results to an uninterrupted run.
/// </summary>
public sealed class Trainer
{
    private readonly DataLoader _train;
    private readonly DataLoader _test;
    private readonly Generator _modelGenerator;
    private int _epoch;
    private int _batchInEpoch;
    private long _step;

    /// <summary>A fresh run. <paramref name="outDir"/> receives metrics and checkpoints (null: none).</summary>
    public Trainer(TrainingConfig config, TrainTestSplit data, string? outDir)
    {
        config.Validate();
        config = WithData(WithSpec(config), data);
        Config = config;
        OutDir = outDir;
        _modelGenerator = new Generator(config.Seed);
        (Model, InputShape) = BuildModel(config, _modelGenerator);
        InitReport = ApplyInit(config, Model, _modelGenerator);
        CheckInput(data.Train);
        NumClasses = data.Train.NumClasses;
        var normalize = config.Normalization;
        var summary = ModelSummary.Of(Model, InputShape);
        if (summary.Outputs != NumClasses)
            throw new ArgumentException($"model '{config.Model}' scores {summary.Outputs} classes but the data has {NumClasses} " +
                $"(labels 0..{NumClasses - 1}): its last layer must have {NumClasses} outputs");
        summary.CheckBatch(Math.Max(config.BatchSize, 1000), InputShape, $"--batch-size {config.BatchSize} (and evaluation's 1000)");
        ClassNames = data.Train.ClassNames;
        var augmentation = !config.Augment ? null : config.Augmentations is null ? Augmentation.Default : Augmentation.Parse(config.Augmentations);
        _train = new DataLoader(data.Train, config.BatchSize, shuffle: config.Shuffle, seed: config.Seed, normalize: normalize,
            augmentation: augmentation);
        _test = new DataLoader(data.Test, 1000, normalize: normalize);
        Optimizer = OptimizerFactory.Create(config, Model);
        Schedule = OptimizerFactory.CreateSchedule(config, Optimizer, TotalSteps);
        // The folder is not touched here: Run claims it (RunFolder) and only then clears or appends.
    }

    /// <summary>Continues the run saved in <paramref name="checkpointDir"/> (which also becomes the output folder).</summary>
    public static Trainer Resume(string checkpointDir, TrainTestSplit data) => Resume(Checkpoint.Load(checkpointDir), checkpointDir, data);

    /// <summary>Continues the run whose checkpoint <paramref name="ckpt"/> was read from <paramref name="checkpointDir"/>.</summary>
    public static Trainer Resume(Checkpoint.Contents ckpt, string checkpointDir, TrainTestSplit data)
    {
        ArgumentNullException.ThrowIfNull(ckpt);
        var trainer = new Trainer(ckpt.Config with { InitFrom = null, Init = "pytorch-default" }, data, outDir: null) { OutDir = checkpointDir };
        trainer.Config = WithData(ckpt.Config, data);
        string optimizerName = trainer.Optimizer.GetType().Name;
        if (ckpt.OptimizerName is not null && ckpt.OptimizerName != optimizerName)
            throw new InvalidFileException(Path.Combine(checkpointDir, Checkpoint.OptimizerFile),
                $"holds {ckpt.OptimizerName} state but config.json asks for {optimizerName} (optimizer '{ckpt.Config.Optimizer}')");
        try { trainer.Model.LoadStateDict(ckpt.Weights); }
        catch (ArgumentException e) { throw new InvalidFileException(Path.Combine(checkpointDir, Checkpoint.ModelFile), e.Message); }
        CheckState(ckpt.State, trainer._train.Count, trainer.Config.Epochs, Path.Combine(checkpointDir, Checkpoint.StateFile));
        // Replaying the schedule reproduces its learning rates exactly; then the moments and lrs are loaded.
        for (long i = 0; i < ckpt.State.Step; i++) trainer.Schedule?.Step();
        try { trainer.Optimizer.LoadStateDict(ckpt.OptimizerState); }
        catch (ArgumentException e) { throw new InvalidFileException(Path.Combine(checkpointDir, Checkpoint.OptimizerFile), e.Message); }
        trainer._modelGenerator.SetState(ckpt.State.ModelGenerator);
        trainer._epoch = ckpt.State.Epoch;
        trainer._batchInEpoch = ckpt.State.BatchInEpoch;
        trainer._step = ckpt.State.Step;
        trainer._ownsRun = true;
        trainer.HasCheckpoint = true;
        return trainer;
    }

    public TrainingConfig Config { get; private set; }

    public string? OutDir { get; private init; }

    public Module Model { get; }

    /// <summary>[C, H, W] the model expects.</summary>
    public int[] InputShape { get; }

    public Optimizer Optimizer { get; }

    public LRScheduler? Schedule { get; }

    public int NumClasses { get; }

    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>What the init scheme chose per layer (empty for pytorch-default or --init-from).</summary>
    public IReadOnlyList<LayerInitChoice> InitReport { get; }

    public long TotalSteps => Config.MaxSteps is long m ? Math.Min(m, (long)Config.Epochs * _train.Count) : (long)Config.Epochs * _train.Count;

    public int BatchesPerEpoch => _train.Count;

    private string MetricsPath => Path.Combine(OutDir!, RunFolder.MetricsFile);

    public event Action<BatchProgress>? BatchCompleted;

    public event Action<EpochMetrics>? EpochCompleted;

    /// <summary>
    /// Where <see cref="Run"/> writes TensorBoard scalars and histograms (<see cref="TensorBoardLog"/> says which), or null
    /// for none. The caller owns the writer (and may add images to it, e.g. from <see cref="EpochCompleted"/>).
    /// </summary>
    public SummaryWriter? TensorBoard { get; set; }

    /// <summary>(step, loss of the batch before the step), for --log-steps.</summary>
    public event Action<long, float>? StepCompleted;

    /// <summary>Builds the zoo model or JSON spec a config names.</summary>
    /// <remarks>
    /// A zoo name is the zoo's model even when a file of that name is in the working folder (write <c>./cnn-small</c> for
    /// the file); a config that carries its spec (<see cref="TrainingConfig.ModelSpecJson"/>) builds from it.
    /// </remarks>
    public static (Sequential Model, int[] InputShape) BuildModel(TrainingConfig config, Generator generator)
    {
        if (config.ModelSpecJson is not null)
        {
            var (model, input, _) = ModelSpec.Parse(config.ModelSpecJson, config.Model, generator);
            return (model, input);
        }
        if (IsSpecFile(config.Model))
        {
            var (model, input, _) = ModelSpec.Load(config.Model, generator);
            return (model, input);
        }
        var options = new ModelOptions(ModelOptions.ParsePool(config.Pool), ModelOptions.ParseReluOrder(config.ReluOrder))
            .ForData(config.Input, config.Classes.Count);
        return (ModelZoo.Create(config.Model, generator, options), config.Input);
    }

    /// <summary>
    /// The config with what the model is trained on filled in from <paramref name="data"/>: input shape, class names,
    /// normalization and format. A value the config already has must agree with the data (a resumed run on other data,
    /// a spec for other images), else the run is refused, naming both.
    /// </summary>
    public static TrainingConfig WithData(TrainingConfig config, TrainTestSplit data)
    {
        var train = data.Train;
        int[] shape = [train.Channels, train.Height, train.Width];
        if (config.InputShape is { } given && !given.SequenceEqual(shape))
            throw new ArgumentException($"the run was made for images {Shape.Format(given)} but the data has {Shape.Format(shape)}");
        if (config.ClassNames is { } names && !names.SequenceEqual(train.ClassNames))
            throw new ArgumentException($"the run was made for the classes {string.Join(", ", names.Take(12))} but the data has "
                + string.Join(", ", train.ClassNames.Take(12)));
        var normalize = config.NormalizeMean is null ? data.Normalization : config.Normalization;
        normalize.CheckChannels(train.Channels);
        return config with
        {
            InputShape = shape,
            ClassNames = [.. train.ClassNames],
            NormalizeMean = [.. normalize.Means],
            NormalizeStd = [.. normalize.Stds],
            CenterCrop = data.Preprocessing?.CenterCrop ?? config.CenterCrop,
            DataFormat = config.DataFormat ?? data.Format,
        };
    }

    // A saved state must be one this run can reach: step = epoch · batches + batch, within the configured epochs (so a
    // changed state.json cannot make the schedule replay for ever, and other data is seen, not silently used).
    private static void CheckState(TrainingState state, int batches, int epochs, string statePath)
    {
        if (state.Epoch > epochs || state.BatchInEpoch > batches || state.Step != (long)state.Epoch * batches + state.BatchInEpoch)
            throw new InvalidFileException(statePath, $"epoch {state.Epoch}, batch {state.BatchInEpoch} and step {state.Step} do not fit " +
                $"{epochs} epochs of {batches} batches (step = epoch x batches + batch): the checkpoint was written for other data " +
                "or batch size, or the file was changed");
    }

    /// <summary>True when <paramref name="model"/> names a JSON spec file rather than a zoo model.</summary>
    public static bool IsSpecFile(string model) =>
        !ModelZoo.IsKnown(model) && (model.EndsWith(".json", StringComparison.OrdinalIgnoreCase) || File.Exists(model));

    // The config with the spec's text in it, for a spec file, so that the run's checkpoint carries its model.
    private static TrainingConfig WithSpec(TrainingConfig config) =>
        config.ModelSpecJson is null && IsSpecFile(config.Model)
            ? config with { ModelSpecJson = Budgets.ReadTextFile(config.Model, "model spec") }
            : config;

    private static IReadOnlyList<LayerInitChoice> ApplyInit(TrainingConfig config, Module model, Generator generator)
    {
        if (config.InitFrom is not null)
        {
            var weights = SafeTensors.Load(config.InitFrom).Tensors;
            try { model.LoadStateDict(weights); }
            catch (ArgumentException e) { throw new InvalidFileException(config.InitFrom, e.Message); }
            return [];
        }
        return InitScheme.Parse(config.Init).Apply(model, generator);
    }

    private void CheckInput(ImageDataset train)
    {
        int[] have = [train.Channels, train.Height, train.Width];
        if (!have.SequenceEqual(InputShape))
            throw new ArgumentException($"model '{Config.Model}' expects images {Shape.Format(InputShape)} but the data has {Shape.Format(have)}");
    }

    /// <summary>Trains until the configured epochs or steps are done, or <paramref name="cancel"/> fires.</summary>
    public TrainingResult Run(CancellationToken cancel = default)
    {
        using var threadScope = Parallelism.UseThreads(Config.Threads);
        using var folder = OutDir is null ? null : ClaimFolder();
        var history = new List<EpochMetrics>();
        if (Config.MaxSteps is long done && _step >= done)
            return new TrainingResult(TrainingStatus.MaxStepsReached, history, Evaluate(), null, _step);
        var trainingStep = new TrainingStep(Model, Optimizer, Config.LabelSmoothing, RecycleBuffers);
        _stepArena = trainingStep.Arena;
        Model.Train();
        while (_epoch < Config.Epochs)
        {
            var clock = Stopwatch.StartNew();
            double lossSum = 0;
            long correct = 0, seen = 0;
            int batches = _train.Count;
            foreach (var batch in _train.Epoch(_epoch, _batchInEpoch))
            {
                if (cancel.IsCancellationRequested)
                {
                    SaveCheckpoint();
                    return new TrainingResult(TrainingStatus.Interrupted, history, null, null, _step);
                }
                double lr = Optimizer.ParamGroups[0].Lr;   // the rate this step uses, before the schedule moves it
                var outcome = trainingStep.Run(batch.X, batch.Y, _step + 1, predictions: true);
                if (outcome.Diverged is not null)
                    return new TrainingResult(TrainingStatus.Diverged, history, null, outcome.Diverged, _step);
                float lossValue = outcome.Loss;
                int[] predicted = outcome.Predicted!;
                Schedule?.Step();
                _step++;
                _batchInEpoch++;
                StepCompleted?.Invoke(_step, lossValue);

                lossSum += (double)lossValue * batch.Size;
                seen += batch.Size;
                int batchCorrect = 0;
                for (int i = 0; i < batch.Size; i++) if (predicted[i] == batch.Y[i]) batchCorrect++;
                correct += batchCorrect;
                if (TensorBoard is not null)
                    TensorBoardLog.Step(TensorBoard, _step, lossValue, (double)batchCorrect / batch.Size, lr);
                double rate = seen / Math.Max(1e-9, clock.Elapsed.TotalSeconds);
                var eta = TimeSpan.FromSeconds((batches - _batchInEpoch) * (double)Config.BatchSize / Math.Max(1e-9, rate));
                BatchCompleted?.Invoke(new BatchProgress(_epoch + 1, Config.Epochs, _batchInEpoch, batches, lossSum / seen,
                    (double)correct / seen, rate, eta));

                if (Config.MaxSteps is long max && _step >= max)
                {
                    if (TensorBoard is not null) TensorBoardLog.Parameters(TensorBoard, Model, _step);
                    SaveCheckpoint();
                    return new TrainingResult(TrainingStatus.MaxStepsReached, history, Evaluate(), null, _step);
                }
            }
            double seconds = clock.Elapsed.TotalSeconds;
            var eval = Evaluate();
            _epoch++;
            _batchInEpoch = 0;
            var metrics = new EpochMetrics(_epoch, seen == 0 ? double.NaN : lossSum / seen, seen == 0 ? double.NaN : (double)correct / seen,
                eval.Loss, eval.Accuracy, Optimizer.ParamGroups[0].Lr, seconds, seen / Math.Max(1e-9, seconds), _step);
            history.Add(metrics);
            if (OutDir is not null)
                File.AppendAllText(MetricsPath, metrics.ToJson() + "\n");
            if (TensorBoard is not null)
            {
                TensorBoardLog.Epoch(TensorBoard, metrics);
                TensorBoardLog.Parameters(TensorBoard, Model, _step);
            }
            SaveCheckpoint();
            EpochCompleted?.Invoke(metrics);
        }
        return new TrainingResult(TrainingStatus.Completed, history, Evaluate(), null, _step);
    }

    /// <summary>Loss, accuracy and confusion on the test set.</summary>
    public EvaluationResult Evaluate() => Evaluation.Run(Model, _test.Epoch(0).Select(b => (b.X, b.Y)), NumClasses, _stepArena);

    /// <summary>
    /// Whether <see cref="Run"/> recycles each step's activation and gradient buffers through a
    /// <see cref="TensorArena"/> (default true). It does so only when no module or parameter has a
    /// hook when <see cref="Run"/> starts, since a hook may keep a tensor past its step (<see cref="TrainingStep"/>).
    /// </summary>
    public bool RecycleBuffers { get; set; } = true;

    private TensorArena? _stepArena;

    /// <summary>
    /// Replace a run found in the output folder (its checkpoint or metrics.jsonl) instead of refusing to start.
    /// Default false: a new run never writes over another run's files.
    /// </summary>
    public bool Overwrite { get; init; }

    /// <summary>True once the output folder holds a checkpoint of this run (saved by it, or the one it resumed).</summary>
    public bool HasCheckpoint { get; private set; }

    // Whether the files in OutDir are this run's (it resumed them or has written there already).
    private bool _ownsRun;

    // Takes the output folder for this Run: a new run refuses (or, told to, clears) another run's files; a resumed one
    // drops the metrics of epochs its checkpoint does not have.
    private RunFolder ClaimFolder()
    {
        var folder = RunFolder.Claim(OutDir!);
        try
        {
            if (!_ownsRun && RunFolder.HoldsRun(OutDir!))
            {
                if (!Overwrite)
                    throw new InvalidFileException(OutDir!, "holds another run (a checkpoint or metrics.jsonl); continue it with " +
                        $"--resume {OutDir}, give this run another --out, or pass --overwrite to replace it");
                folder.ClearPreviousRun();
            }
            if (_ownsRun) TruncateMetrics(_epoch);
            _ownsRun = true;
            return folder;
        }
        catch
        {
            folder.Dispose();
            throw;
        }
    }

    private void SaveCheckpoint()
    {
        if (OutDir is null) return;
        Checkpoint.Save(OutDir, Model, Optimizer, Config,
            new TrainingState(_epoch, _batchInEpoch, _step, _modelGenerator.GetState()));
        HasCheckpoint = true;
    }

    private void TruncateMetrics(int epochs)
    {
        if (OutDir is null || !File.Exists(MetricsPath)) return;
        var kept = File.ReadAllLines(MetricsPath).Take(epochs).Select(l => l + "\n");
        AtomicFile.WriteAllText(MetricsPath, string.Concat(kept));
    }
}
