using Microsoft.Extensions.Hosting;

namespace CnnLab.Web;

/// <summary>
/// The Playground's jobs: at most <see cref="ServeOptions.Jobs"/> train at once, the others wait in order of submission with
/// their place published. When the server stops (Ctrl-C), every job is cancelled and the running ones are awaited, so
/// each saves its checkpoint before the process ends.
/// </summary>
internal sealed class JobQueue(ServeOptions options) : IHostedService, IDisposable
{
    // Waiters on a SemaphoreSlim's WaitAsync are served first come, first served: the queue's order.
    private readonly SemaphoreSlim _slots = new(options.Jobs, options.Jobs);
    private readonly List<TrainingJob> _jobs = [];
    private readonly List<Task> _tasks = [];
    private readonly Lock _lock = new();
    private int _nextId;

    public IReadOnlyList<TrainingJob> Jobs
    {
        get { lock (_lock) return _jobs.ToArray(); }
    }

    public TrainingJob? Find(int id)
    {
        lock (_lock) return _jobs.FirstOrDefault(j => j.Id == id);
    }

    /// <summary>The id the next job will get (for its run folder's name).</summary>
    public int NextId()
    {
        lock (_lock) return ++_nextId;
    }

    public void Submit(TrainingJob job)
    {
        lock (_lock)
        {
            _jobs.Add(job);
            UpdatePositions();
            _tasks.Add(Task.Run(() => RunWhenFree(job)));
        }
    }

    /// <summary>Queues a paused job again, with the trainer that continues its run (<see cref="TrainingJob.Continue"/>).</summary>
    public void Requeue(TrainingJob job)
    {
        lock (_lock)
        {
            UpdatePositions();
            _tasks.Add(Task.Run(() => RunWhenFree(job)));
        }
    }

    /// <summary>Stops a job: a queued one leaves the queue, a running one stops at its next batch and saves its checkpoint.</summary>
    public void Stop(TrainingJob job)
    {
        if (job.State == JobState.Paused) job.Finish(JobState.Stopped, $"stopped at step {job.Steps}; checkpoint saved");
        else job.Cancel.Cancel();
    }

    private async Task RunWhenFree(TrainingJob job)
    {
        try
        {
            await _slots.WaitAsync(job.Cancel.Token);
        }
        catch (OperationCanceledException)
        {
            job.Finish(JobState.Stopped, "stopped while queued");
            lock (_lock) UpdatePositions();
            return;
        }
        try
        {
            lock (_lock)
            {
                job.MarkRunning();
                UpdatePositions();
            }
            // Training is CPU-bound for minutes: a thread of its own rather than one of the pool's, which serves the requests.
            await Task.Factory.StartNew(job.Run, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }
        finally
        {
            _slots.Release();
        }
    }

    // Called under _lock: numbers the waiting jobs 1, 2, … and tells each one whose place changed.
    private void UpdatePositions()
    {
        int place = 0;
        foreach (var job in _jobs.Where(j => j.State == JobState.Queued && !j.Cancel.IsCancellationRequested))
        {
            place++;
            if (job.Position == place) continue;
            job.Position = place;
            job.PublishStatus();
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Cancels every job and waits for the running ones to write their checkpoints.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        Task[] tasks;
        lock (_lock)
        {
            foreach (var job in _jobs) job.Cancel.Cancel();
            tasks = _tasks.ToArray();
        }
        await Task.WhenAll(tasks).WaitAsync(cancellationToken);
    }

    public void Dispose() => _slots.Dispose();
}
