using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit;

namespace CnnLab.Tests.Web;

/// <summary>
/// Debian's chromium, headless, driven over the DevTools protocol (a WebSocket): open a page, evaluate scripts in it (awaiting
/// their promises), take a screenshot. Every wait has a timeout.
/// </summary>
internal sealed partial class HeadlessChromium : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ClientWebSocket _socket = new();
    private string? _session;
    private int _nextId;

    private HeadlessChromium(Process process) => _process = process;

    [GeneratedRegex(@"DevTools listening on (ws://\S+)")]
    private static partial Regex Listening();

    public static async Task<HeadlessChromium> Open(string url, string profile)
    {
        string? exe = new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome" }.FirstOrDefault(File.Exists);
        Assert.True(exe is not null, "headless Chromium is needed for this test: apt-get install chromium (.ci/run installs it)");
        var psi = new ProcessStartInfo(exe!) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync", "--window-size=1200,1400",
                     "--remote-debugging-port=0", $"--user-data-dir={profile}", "about:blank" })
            psi.ArgumentList.Add(a);
        var chromium = new HeadlessChromium(Process.Start(psi)!);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var seen = new StringBuilder();
        while (true)
        {
            string? line = await chromium._process.StandardError.ReadLineAsync(timeout.Token);
            Assert.True(line is not null, "chromium ended before it listened: " + seen);
            seen.AppendLine(line);
            if (Listening().Match(line!) is { Success: true } m)
            {
                await chromium._socket.ConnectAsync(new Uri(m.Groups[1].Value), timeout.Token);
                break;
            }
        }
        // The rest of chromium's log is drained, so it never blocks on a full pipe.
        _ = chromium._process.StandardError.ReadToEndAsync();
        _ = chromium._process.StandardOutput.ReadToEndAsync();
        var target = await chromium.Send("Target.createTarget", new { url = "about:blank" });
        var attached = await chromium.Send("Target.attachToTarget", new { targetId = target.GetProperty("targetId").GetString(), flatten = true });
        chromium._session = attached.GetProperty("sessionId").GetString();
        await chromium.Send("Page.enable", new { });
        await chromium.Send("Page.navigate", new { url });
        await chromium.Event("Page.loadEventFired");
        return chromium;
    }

    /// <summary>Evaluates <paramref name="script"/> in the page, awaiting a promise, and returns its value as JSON text.</summary>
    public async Task<string> Evaluate(string script, double seconds = 120)
    {
        var result = await Send("Runtime.evaluate", new { expression = script, awaitPromise = true, returnByValue = true }, seconds);
        if (result.TryGetProperty("exceptionDetails", out var error))
            Assert.Fail("the page's script failed: " + error.GetRawText());
        var value = result.GetProperty("result");
        return value.TryGetProperty("value", out var v) ? v.GetRawText() : "undefined";
    }

    public async Task Screenshot(string path)
    {
        var shot = await Send("Page.captureScreenshot", new { format = "png" });
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllBytesAsync(path, Convert.FromBase64String(shot.GetProperty("data").GetString()!));
    }

    // Waits for the page's event <paramref name="method"/> (one that came during a command counts too).
    private async Task Event(string method, double seconds = 60)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        while (!_events.Contains(method)) await Receive(timeout.Token);
    }

    private readonly HashSet<string> _events = [];

    private async Task<JsonElement> Receive(CancellationToken cancel)
    {
        var buffer = new byte[1 << 16];
        using var whole = new MemoryStream();
        WebSocketReceiveResult part;
        do
        {
            part = await _socket.ReceiveAsync(buffer, cancel);
            whole.Write(buffer, 0, part.Count);
        } while (!part.EndOfMessage);
        var reply = JsonDocument.Parse(whole.ToArray()).RootElement;
        if (reply.TryGetProperty("method", out var name) && reply.TryGetProperty("sessionId", out var session)
            && session.GetString() == _session)
            _events.Add(name.GetString()!);
        return reply;
    }

    private async Task<JsonElement> Send(string method, object parameters, double seconds = 60)
    {
        int id = ++_nextId;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        var message = _session is null
            ? JsonSerializer.Serialize(new { id, method, @params = parameters })
            : JsonSerializer.Serialize(new { id, method, @params = parameters, sessionId = _session });
        await _socket.SendAsync(Encoding.UTF8.GetBytes(message), WebSocketMessageType.Text, true, timeout.Token);
        while (true)
        {
            var reply = await Receive(timeout.Token);
            // Events (no id) and other commands' answers are skipped.
            if (!reply.TryGetProperty("id", out var got) || got.GetInt32() != id) continue;
            if (reply.TryGetProperty("error", out var error)) Assert.Fail($"{method}: {error.GetRawText()}");
            return reply.GetProperty("result").Clone();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _socket.Dispose();
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        _process.Dispose();
    }
}
