using System.Runtime.CompilerServices;

namespace CnnLab.Web;

/// <summary>One event of a stream: its name and its JSON data.</summary>
internal readonly record struct ServerEvent(string Name, string Json);

/// <summary>
/// The events of one training job, kept from the first so that a page opened late (or reopened after a disconnect) sees the
/// whole curve; readers wait for the next event without polling, and end when the log is closed.
/// </summary>
internal sealed class EventLog
{
    private readonly List<ServerEvent> _events = [];
    private readonly Lock _lock = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _closed;

    public int Count
    {
        get { lock (_lock) return _events.Count; }
    }

    public void Append(string name, string json)
    {
        TaskCompletionSource changed;
        lock (_lock)
        {
            if (_closed) return;
            _events.Add(new ServerEvent(name, json));
            changed = _changed;
            _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        changed.TrySetResult();
    }

    /// <summary>Appends the last event and ends every reader after it.</summary>
    public void Close(string name, string json)
    {
        Append(name, json);
        TaskCompletionSource changed;
        lock (_lock)
        {
            _closed = true;
            changed = _changed;
        }
        changed.TrySetResult();
    }

    /// <summary>Every event from the first, then each new one as it comes, until the log closes or <paramref name="cancel"/> fires.</summary>
    public async IAsyncEnumerable<ServerEvent> ReadAll([EnumeratorCancellation] CancellationToken cancel)
    {
        int next = 0;
        while (true)
        {
            ServerEvent[] batch;
            bool closed;
            Task changed;
            lock (_lock)
            {
                batch = _events.Skip(next).ToArray();
                closed = _closed;
                changed = _changed.Task;
            }
            foreach (var e in batch) yield return e;
            next += batch.Length;
            if (closed) yield break;
            await changed.WaitAsync(cancel);
        }
    }
}
