using System.Text;
using Microsoft.AspNetCore.Http;

namespace CnnLab.Web;

/// <summary>Writes a response as a stream of Server-Sent Events (the <c>text/event-stream</c> format browsers' EventSource reads).</summary>
internal static class ServerSentEvents
{
    public static void Start(HttpResponse response)
    {
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        // Tells a reverse proxy not to hold the events back in a buffer.
        response.Headers["X-Accel-Buffering"] = "no";
    }

    /// <summary>Writes one event and flushes it, so it reaches the page now rather than when a buffer fills.</summary>
    public static async Task Write(HttpResponse response, string name, string json, CancellationToken cancel)
    {
        // Data lines may not contain a newline; the JSON written here never does, but a file's line could end in \r.
        string data = json.Replace("\r", "", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal);
        await response.WriteAsync($"event: {name}\ndata: {data}\n\n", Encoding.UTF8, cancel);
        await response.Body.FlushAsync(cancel);
    }
}
