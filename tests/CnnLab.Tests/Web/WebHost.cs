using System.Net.Http.Headers;
using CnnLab.Data;
using CnnLab.Web;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;

namespace CnnLab.Tests.Web;

/// <summary>
/// <c>cnnlab serve</c>'s app on an in-process test server, over a fresh runs folder and a small IDX data set (every k-th image
/// of the embedded subset), with a client that carries the token.
/// </summary>
internal sealed class WebHost : IAsyncDisposable
{
    public const string Token = "0123456789abcdef0123456789abcdef";

    private WebHost(WebApplication app, ServeOptions options, string dataDir, Uri? address)
    {
        App = app;
        Options = options;
        DataDir = dataDir;
        Address = address;
        Client = address is null ? app.GetTestClient() : new HttpClient { BaseAddress = address };
        Client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("token", Token);
        // Reading events must not hit HttpClient's 100 s default before a test's own timeouts.
        Client.Timeout = TimeSpan.FromMinutes(5);
    }

    public WebApplication App { get; }

    public ServeOptions Options { get; }

    public string DataDir { get; }

    /// <summary>The real server's address (null on the test server).</summary>
    public Uri? Address { get; }

    public string Runs => Options.RunsDirectory;

    /// <summary>A client with the token in its Authorization header.</summary>
    public HttpClient Client { get; }

    /// <summary>A client with no token at all.</summary>
    public HttpClient Anonymous() => App.GetTestClient();

    /// <summary>
    /// The app on a test server, or with <paramref name="kestrel"/> on a real one listening on 127.0.0.1 at a free port (for a browser).
    /// </summary>
    public static async Task<WebHost> Start(int jobs = 1, string? report = null, long maxUploadBytes = 1 << 20, bool kestrel = false,
        Func<IReadOnlyList<CnnLab.Lab.Experiment>>? experiments = null)
    {
        string dataDir = TinyData.Folder(200, 100);
        var options = new ServeOptions
        {
            RunsDirectory = TinyData.TempDir("web-runs"), Token = Token, Port = 0, Jobs = jobs, Threads = 2, ReportDirectory = report,
            MaxUploadBytes = maxUploadBytes, MaxUploadPixels = 1_000_000,
        };
        if (experiments is not null) options = options with { Experiments = experiments };
        var source = DataSource.Resolve(dataDir, null);
        var data = new WebData(source.Description, o => source.Load(o, new List<string>()));
        var app = WebServer.Build(options, data, kestrel ? null : b => b.WebHost.UseTestServer());
        await app.StartAsync();
        var address = kestrel ? new Uri(app.Urls.First()) : null;
        return new WebHost(app, options, dataDir, address);
    }

    /// <summary>Posts a Playground form (a JSON object).</summary>
    public Task<HttpResponseMessage> StartJob(string json) =>
        Client.PostAsync("/api/jobs", new StringContent(json, System.Text.Encoding.UTF8, "application/json"));

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
        Client.Dispose();
    }
}
