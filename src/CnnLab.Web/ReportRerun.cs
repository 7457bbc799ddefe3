using System.Diagnostics;
using System.Text;
using System.Text.Json;
using CnnLab.Data;
using CnnLab.Lab;

namespace CnnLab.Web;

/// <summary>
/// One experiment of the served report re-run with its quick budget (<see cref="LabRunner"/> on the embedded subset, as
/// <c>cnnlab lab --quick --only NAME</c>), staged in a folder of its own and then merged into the report
/// (<see cref="LabReportMerge"/>). One at a time per server; its log lines and its end are events, as a training job's are.
/// </summary>
internal sealed class ReportRerun
{
    private readonly Lock _lock = new();
    private Current? _current;

    private sealed record Current(string Name, EventLog Events)
    {
        public string State { get; set; } = "running";

        public string? Message { get; set; }

        public object Describe() => new { experiment = Name, state = State, message = Message };
    }

    /// <summary>The latest re-run's status (null: none since the server started).</summary>
    public object? Status
    {
        get { lock (_lock) return _current?.Describe(); }
    }

    public EventLog? Events
    {
        get { lock (_lock) return _current?.Events; }
    }

    /// <summary>Starts re-running <paramref name="experiment"/> into <paramref name="reportDir"/>; false when one is running.</summary>
    public bool TryStart(Experiment experiment, string reportDir, int threads, out object status)
    {
        Current run;
        lock (_lock)
        {
            if (_current is { State: "running" } busy)
            {
                status = busy.Describe();
                return false;
            }
            run = _current = new Current(experiment.Name, new EventLog());
            status = run.Describe();
        }
        run.Events.Append("status", JsonSerializer.Serialize(run.Describe()));
        // Experiments are CPU-bound for seconds to minutes: a thread of their own, not one of the pool's.
        Task.Factory.StartNew(() => Run(run, experiment, reportDir, threads), CancellationToken.None, TaskCreationOptions.LongRunning,
            TaskScheduler.Default);
        return true;
    }

    private static void Run(Current run, Experiment experiment, string reportDir, int threads)
    {
        string staging = Path.Combine(reportDir, $".rerun-{experiment.Name}");
        try
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
            var clock = Stopwatch.StartNew();
            var data = FashionMnist.LoadEmbeddedSubset();
            string description = $"{FashionMnist.EmbeddedSource} ({data.Train.Count:N0} training / {data.Test.Count:N0} test images)";
            using var log = new EventLogWriter(run.Events);
            LabRunner.LabRun result;
            using (Kernels.Parallelism.UseThreads(threads))
                result = LabRunner.Run([experiment], staging, data, description, LabMode.Quick, 0, threads, log);
            LabReportMerge.Replace(reportDir, staging, experiment.Name);
            var (_, r, error) = result.Results[0];
            (run.State, run.Message) = r is null
                ? ("failed", $"{experiment.Name} failed: {error}")
                : ("done", $"{experiment.Name} {(r.Agrees ? "agrees" : "disagrees")} ({clock.Elapsed.TotalSeconds:0.0} s): {r.Verdict}");
        }
        catch (Exception e)
        {
            (run.State, run.Message) = ("failed", WebErrors.OneLine($"{experiment.Name} failed: {e.Message}"));
        }
        finally
        {
            try { if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true); }
            catch (IOException) { }
        }
        run.Events.Close("done", JsonSerializer.Serialize(run.Describe()));
    }

    // The runner's progress lines as "log" events.
    private sealed class EventLogWriter(EventLog events) : TextWriter
    {
        private readonly StringBuilder _line = new();

        public override Encoding Encoding => Encoding.UTF8;

        public override void Write(char value)
        {
            if (value == '\n') Flush();
            else if (value != '\r') _line.Append(value);
        }

        public override void Flush()
        {
            if (_line.Length > 0) events.Append("log", JsonSerializer.Serialize(new { line = _line.ToString() }));
            _line.Clear();
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) Flush();
            base.Dispose(disposing);
        }
    }
}
