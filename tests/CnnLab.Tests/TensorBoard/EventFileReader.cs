using System.Text.Json;
using Xunit;

namespace CnnLab.Tests.TensorBoard;

/// <summary>
/// Reads an event file with the independent reader next to this file: <c>read_events.py</c>, run by /usr/bin/python3
/// with Debian's python3-protobuf on classes that protoc generates from <c>tensorboard_events.proto</c> (TensorBoard's
/// own field numbers). It recomputes every CRC and parses every record; .ci/run installs both packages.
/// </summary>
public static class EventFileReader
{
    private static readonly string Folder = Path.Combine(ChildProcess.RepoRoot, "tests", "CnnLab.Tests", "TensorBoard");

    private static readonly Lazy<string> Generated = new(() =>
    {
        string dir = TinyData.TempDir("tensorboard-pb2");
        var protoc = ChildProcess.Run("protoc", ["--python_out=" + dir, "-I", Folder, "tensorboard_events.proto"], Folder,
            TimeSpan.FromMinutes(1));
        Assert.True(protoc.ExitCode == 0, $"protoc (Debian: apt-get install protobuf-compiler python3-protobuf): {protoc}");
        return dir;
    });

    /// <summary>The events of <paramref name="eventFile"/> as the reader prints them (a JSON array, one object per event).</summary>
    public static JsonElement Read(string eventFile)
    {
        var run = ChildProcess.Run("/usr/bin/python3", [Path.Combine(Folder, "read_events.py"), Generated.Value, eventFile],
            Folder, TimeSpan.FromMinutes(2));
        Assert.True(run.ExitCode == 0, $"read_events.py on {eventFile}: {run}");
        return JsonDocument.Parse(run.Stdout).RootElement.Clone();
    }

    /// <summary>The reader's exit code and error line for a file it must reject.</summary>
    public static ChildProcess.Result Reject(string eventFile) =>
        ChildProcess.Run("/usr/bin/python3", [Path.Combine(Folder, "read_events.py"), Generated.Value, eventFile], Folder,
            TimeSpan.FromMinutes(2));

    /// <summary>Every (step, value object) of the summaries, in file order.</summary>
    public static IEnumerable<(long Step, JsonElement Value)> Values(JsonElement events) =>
        events.EnumerateArray()
            .Where(e => e.TryGetProperty("values", out _))
            .SelectMany(e => e.GetProperty("values").EnumerateArray().Select(v => (e.GetProperty("step").GetInt64(), v)));
}
