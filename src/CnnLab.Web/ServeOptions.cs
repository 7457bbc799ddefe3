using System.Net;
using System.Security.Cryptography;

namespace CnnLab.Web;

/// <summary>What <c>cnnlab serve</c> was asked for: where to listen, which runs to show, how many jobs may train at once.</summary>
public sealed record ServeOptions
{
    /// <summary>The folder whose subfolders are run folders; the Playground writes its runs there too.</summary>
    public required string RunsDirectory { get; init; }

    /// <summary>The access token every request must carry (query <c>?token=</c>, then a cookie).</summary>
    public required string Token { get; init; }

    /// <summary>The address to listen on: loopback unless the user says otherwise.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>The port (0: any free port).</summary>
    public int Port { get; init; } = 8080;

    /// <summary>Training jobs that run at once; the others wait in a queue.</summary>
    public int Jobs { get; init; } = 1;

    /// <summary>CPU threads of each training job and evaluation.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>The lab report folder served under /report/ when it holds an index.html (null: none).</summary>
    public string? ReportDirectory { get; init; }

    /// <summary>The largest upload the Explainer accepts, in bytes.</summary>
    public long MaxUploadBytes { get; init; } = 8L << 20;

    /// <summary>The most pixels an uploaded image may have (a smaller budget than files on disk get: a server decodes strangers' input).</summary>
    public long MaxUploadPixels { get; init; } = 16_000_000;

    /// <summary>The experiments the Report page may re-run (the lab's catalog; tests give stand-ins).</summary>
    public Func<IReadOnlyList<Lab.Experiment>> Experiments { get; init; } = Lab.ExperimentCatalog.All;

    /// <summary>A fresh random token: 24 bytes from the OS's cryptographic generator, as hex.</summary>
    public static string NewToken() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));

    /// <summary>True when <see cref="Host"/> is a loopback address or name, reachable from this machine only.</summary>
    public bool IsLoopback => Host is "localhost" || (IPAddress.TryParse(Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));

    /// <summary>True when <see cref="Host"/> listens on every interface (0.0.0.0 or ::).</summary>
    public bool IsWildcard => Host is "0.0.0.0" or "::" or "[::]" or "*";

    /// <summary>Checks every value, naming the option and what was expected.</summary>
    public void Validate()
    {
        if (Port is < 0 or > 65535) throw new ArgumentException($"--port must be between 0 and 65535, got {Port}");
        if (Jobs is < 1 or > 64) throw new ArgumentException($"--jobs must be between 1 and 64, got {Jobs}");
        if (Threads is < 1 or > Kernels.Parallelism.MaxThreadsLimit)
            throw new ArgumentException($"--threads must be between 1 and {Kernels.Parallelism.MaxThreadsLimit}, got {Threads}");
        if (string.IsNullOrWhiteSpace(Host) || Uri.CheckHostName(Host.Trim('[', ']')) == UriHostNameType.Unknown && !IsWildcard)
            throw new ArgumentException($"--host must be a host name or an IP address, got '{Host}'");
        if (Token.Length < 16) throw new ArgumentException("the access token must have at least 16 characters");
    }

    /// <summary>The address to give Kestrel.</summary>
    public string ListenUrl => $"http://{(IsWildcard ? "0.0.0.0" : Host.Contains(':') && !Host.StartsWith('[') ? $"[{Host}]" : Host)}:{Port}";
}
