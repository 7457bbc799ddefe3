namespace CnnLab.Tests.Web;

/// <summary>Reads a <c>text/event-stream</c> response event by event, each read bounded by a timeout (no sleeping).</summary>
internal sealed class EventStream : IDisposable
{
    private readonly HttpResponseMessage _response;
    private readonly StreamReader _reader;

    private EventStream(HttpResponseMessage response, Stream body)
    {
        _response = response;
        _reader = new StreamReader(body);
    }

    public static async Task<EventStream> Open(HttpClient client, string url)
    {
        var response = await client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead);
        Xunit.Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Xunit.Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        return new EventStream(response, await response.Content.ReadAsStreamAsync());
    }

    /// <summary>The next event (name, data), or null when the stream ends; fails after <paramref name="seconds"/>.</summary>
    public async Task<(string Name, string Data)?> Next(double seconds = 120)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        string? name = null, data = null;
        while (true)
        {
            string? line = await _reader.ReadLineAsync(timeout.Token);
            if (line is null) return null;
            if (line.Length == 0)
            {
                if (name is not null) return (name, data ?? "");
                continue;
            }
            if (line.StartsWith("event: ", StringComparison.Ordinal)) name = line[7..];
            else if (line.StartsWith("data: ", StringComparison.Ordinal)) data = line[6..];
        }
    }

    /// <summary>Reads events until one named <paramref name="name"/> comes, returning it and every event before it.</summary>
    public async Task<(string Data, List<(string Name, string Data)> Before)> Until(string name, double seconds = 120)
    {
        var before = new List<(string, string)>();
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            double left = (deadline - DateTime.UtcNow).TotalSeconds;
            Xunit.Assert.True(left > 0, $"no '{name}' event within {seconds} s; saw {string.Join(", ", before.Select(b => b.Item1))}");
            var e = await Next(left);
            Xunit.Assert.True(e is not null, $"the stream ended before a '{name}' event; saw {string.Join(", ", before.Select(b => b.Item1))}");
            if (e.Value.Name == name) return (e.Value.Data, before);
            before.Add(e.Value);
        }
    }

    public void Dispose()
    {
        _reader.Dispose();
        _response.Dispose();
    }
}
