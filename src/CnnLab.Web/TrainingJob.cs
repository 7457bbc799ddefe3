using System.Diagnostics;
using System.Text.Json;
using CnnLab.IO;
using CnnLab.Training;

namespace CnnLab.Web;

/// <summary>Where a job is: waiting for a slot, training, or finished in one of four ways.</summary>
public enum JobState
{
    Queued,
    Running,
    Completed,
    Stopped,
    Paused,
    Diverged,
    Failed,
}

/// <summary>
/// One Playground training run: a <see cref="Trainer"/> writing an ordinary run folder, its events (status, batch progress
/// several times a second, epochs, the end) in an <see cref="EventLog"/>, and the token that stops it with a checkpoint.
/// A paused job has stopped with a checkpoint but keeps its events open: resumed (a
/// <see cref="Trainer.Resume(string, CnnLab.Data.TrainTestSplit)"/> of its run folder), it trains on from the saved step
/// and its stream goes on where it was.
/// </summary>
internal sealed class TrainingJob
{
    // Batch progress is sent at most this often: several points a second draw a live curve without flooding the page.
    private static readonly TimeSpan BatchInterval = TimeSpan.FromMilliseconds(150);

    private Trainer _trainer;
    private LayerMonitor _layers;
    private volatile bool _pauseRequested;
    private int _resuming;   // 1 while a resume request loads the checkpoint: a second one is refused

    public TrainingJob(int id, string runName, Trainer trainer, LayerMonitor layers)
    {
        Id = id;
        RunName = runName;
        _trainer = trainer;
        _layers = layers;
    }

    public int Id { get; }

    public string RunName { get; }

    public TrainingConfig Config => _trainer.Config;

    public JobState State { get; private set; } = JobState.Queued;

    /// <summary>Place in the queue (1: next), 0 when not queued.</summary>
    public int Position { get; set; }

    public string? Message { get; private set; }

    public long Steps { get; private set; }

    public long TotalSteps => _trainer.TotalSteps;

    public EventLog Events { get; } = new();

    /// <summary>Fires on Stop, and for every job when the server shuts down.</summary>
    public CancellationTokenSource Cancel { get; private set; } = new();

    public bool IsFinished => State is not (JobState.Queued or JobState.Running or JobState.Paused);

    /// <summary>Stops the running job at its next batch with a checkpoint, leaving it resumable.</summary>
    public void Pause()
    {
        _pauseRequested = true;
        Cancel.Cancel();
    }

    /// <summary>True for the one request that may resume this paused job; <see cref="EndResume"/> lets the next one try.</summary>
    public bool TryBeginResume() => State == JobState.Paused && Interlocked.CompareExchange(ref _resuming, 1, 0) == 0;

    public void EndResume() => Interlocked.Exchange(ref _resuming, 0);

    /// <summary>Gives a paused job the trainer that continues its run folder; it is queued again (the caller submits it).</summary>
    public void Continue(Trainer trainer, LayerMonitor layers)
    {
        _trainer = trainer;
        _layers = layers;
        _pauseRequested = false;
        Cancel = new CancellationTokenSource();
        State = JobState.Queued;
        Message = null;
        PublishStatus();
    }

    /// <summary>The job as the API shows it.</summary>
    public object Describe() => new
    {
        id = Id, run = RunName, state = State.ToString().ToLowerInvariant(), position = Position, steps = Steps, total_steps = TotalSteps,
        message = Message, model = Config.Model, init = Config.Init, optimizer = Config.Optimizer, lr = Config.Lr,
        weight_decay = Config.WeightDecay, batch_size = Config.BatchSize, pool = Config.Pool, relu_order = Config.ReluOrder,
    };

    public void PublishStatus() => Events.Append("status", JsonSerializer.Serialize(Describe()));

    /// <summary>Takes the job out of the queue: it has a slot and starts now.</summary>
    public void MarkRunning()
    {
        State = JobState.Running;
        Position = 0;
    }

    /// <summary>Trains on the calling thread until done or cancelled; never throws (a failure becomes the job's message).</summary>
    public void Run()
    {
        // A pause that came before the first batch still goes through the trainer, which saves the checkpoint Resume needs.
        if (Cancel.IsCancellationRequested && !_pauseRequested)
        {
            Finish(JobState.Stopped, "stopped before it started");
            return;
        }
        PublishStatus();
        var clock = Stopwatch.StartNew();
        double lastSent = double.NegativeInfinity;   // seconds on the clock
        string? pending = null;
        _trainer.BatchCompleted += b =>
        {
            Steps = (long)(b.Epoch - 1) * b.Batches + b.Batch;
            pending = JsonSerializer.Serialize(new
            {
                step = Steps, epoch = b.Epoch, batch = b.Batch, loss = Finite(b.Loss), acc = b.Accuracy, images_per_sec = b.ImagesPerSec,
            });
            if (clock.Elapsed.TotalSeconds - lastSent < BatchInterval.TotalSeconds) return;
            Events.Append("batch", pending);
            pending = null;
            lastSent = clock.Elapsed.TotalSeconds;
        };
        _trainer.EpochCompleted += m =>
        {
            Events.Append("epoch", m.ToJson());
            PublishLayers(m.Epoch, m.Step);
        };
        try
        {
            PublishLayers(Steps == 0 ? 0 : (int)(Steps / Math.Max(1, _trainer.BatchesPerEpoch)), Steps);
            var result = _trainer.Run(Cancel.Token);
            if (pending is not null) Events.Append("batch", pending);
            Steps = result.Steps;
            var eval = result.FinalEvaluation;
            string accuracy = eval is null ? "" : $": test accuracy {eval.Accuracy * 100:0.00}%, test loss {eval.Loss:0.0000}";
            if (result.Status == TrainingStatus.Interrupted && _pauseRequested)
            {
                State = JobState.Paused;
                Message = $"paused at step {result.Steps}; checkpoint saved";
                PublishStatus();
                return;
            }
            (var state, string message) = result.Status switch
            {
                TrainingStatus.Interrupted => (JobState.Stopped, $"stopped at step {result.Steps}; checkpoint saved"),
                TrainingStatus.Diverged => (JobState.Diverged, $"stopped: {result.NonFinite!.Message}; try a lower lr or another init"),
                TrainingStatus.MaxStepsReached => (JobState.Completed, $"stopped after {result.Steps} steps{accuracy}"),
                _ => (JobState.Completed, $"done{accuracy}"),
            };
            Finish(state, message, eval?.Accuracy);
        }
        catch (Exception e) when (e is ArgumentException or InvalidFileException or IOException or UnauthorizedAccessException
            or OutOfMemoryException)
        {
            Finish(JobState.Failed, e.Message.ReplaceLineEndings(" "));
        }
        catch (Exception e)
        {
            // A bug in CnnLab, not bad input: said as one line, and the server goes on serving the other jobs.
            Finish(JobState.Failed, $"internal error ({e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")})");
        }
    }

    /// <summary>Marks a job that never ran (stopped while queued) or has ended, and closes its events.</summary>
    public void Finish(JobState state, string message, double? testAccuracy = null)
    {
        State = state;
        Message = message;
        Position = 0;
        Events.Append("status", JsonSerializer.Serialize(Describe()));
        Events.Close("done", JsonSerializer.Serialize(new { state = state.ToString().ToLowerInvariant(), message, steps = Steps,
            test_acc = testAccuracy }));
    }

    // The init doctor's numbers now, between steps, on the training thread (the model is not being changed meanwhile).
    private void PublishLayers(int epoch, long step) =>
        Events.Append("layers", JsonSerializer.Serialize(new { epoch, step, layers = _layers.Measure() }));

    // JSON has no NaN: a diverged batch's loss is sent as null.
    private static double? Finite(double v) => double.IsFinite(v) ? v : null;
}
