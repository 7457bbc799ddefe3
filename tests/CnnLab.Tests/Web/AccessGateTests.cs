using System.Net;
using Xunit;

namespace CnnLab.Tests.Web;

/// <summary>Every request needs the token and this server's Host name, as Jupyter's do; refusals are 403 with one line.</summary>
public class AccessGateTests
{
    private static async Task<(HttpStatusCode Status, string Text)> Get(HttpClient client, string url, Action<HttpRequestMessage>? change = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        change?.Invoke(request);
        using var response = await client.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/api/runs")]
    [InlineData("/api/info")]
    [InlineData("/static/app.js")]
    [InlineData("/report/index.html")]
    public async Task AMissingTokenIsRefusedEverywhere(string url)
    {
        await using var host = await WebHost.Start();
        var (status, text) = await Get(host.Anonymous(), url);
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal("an access token is required: open the URL with ?token=… that cnnlab serve printed\n", text);
    }

    [Fact]
    public async Task AWrongTokenIsRefusedAndTheRightOneSetsACookie()
    {
        await using var host = await WebHost.Start();
        var client = host.Anonymous();
        var (status, text) = await Get(client, "/?token=0123456789abcdef0123456789abcdee");
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal("wrong access token: open the URL with ?token=… that cnnlab serve printed\n", text);
        (status, text) = await Get(client, "/api/runs", r => r.Headers.Add("Cookie", "cnnlab_token=nope"));
        Assert.Equal(HttpStatusCode.Forbidden, status);

        using var page = await client.GetAsync($"/?token={WebHost.Token}");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("<title>CnnLab</title>", await page.Content.ReadAsStringAsync());
        string cookie = page.Headers.GetValues("Set-Cookie").Single();
        Assert.StartsWith($"cnnlab_token={WebHost.Token}", cookie);
        Assert.Contains("samesite=strict", cookie);
        Assert.Contains("httponly", cookie);
        (status, text) = await Get(client, "/api/runs", r => r.Headers.Add("Cookie", $"cnnlab_token={WebHost.Token}"));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("[]", text);
    }

    [Theory]
    [InlineData("evil.example")]
    [InlineData("evil.example:8080")]
    [InlineData("localhost.evil.example")]
    [InlineData("127.0.0.2")]
    public async Task AForeignHostIsRefusedEvenWithTheToken(string hostHeader)
    {
        await using var host = await WebHost.Start();
        var (status, text) = await Get(host.Client, "/api/runs", r => r.Headers.Host = hostHeader);
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal($"Host '{hostHeader}' is not this server's name: open the URL that cnnlab serve printed " +
            "(requests under other names are refused against DNS rebinding)\n", text);
    }

    [Theory]
    [InlineData("localhost:8080")]
    [InlineData("127.0.0.1:8080")]
    [InlineData("[::1]:8080")]
    public async Task LoopbackNamesAreAccepted(string hostHeader)
    {
        await using var host = await WebHost.Start();
        var (status, _) = await Get(host.Client, "/api/runs", r => r.Headers.Host = hostHeader);
        Assert.Equal(HttpStatusCode.OK, status);
    }

    [Fact]
    public async Task ACrossOriginPostIsRefused()
    {
        await using var host = await WebHost.Start();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/jobs") { Content = new StringContent("{}") };
        request.Headers.Add("Origin", "http://evil.example");
        using var response = await host.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("cross-origin POST from 'http://evil.example' refused: use this server's own pages\n",
            await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task ThePagesAndScriptsAreServedFromTheAssembly()
    {
        await using var host = await WebHost.Start();
        foreach (var (url, type) in new[] { ("/static/app.js", "text/javascript"), ("/static/chart.js", "text/javascript"),
                     ("/static/app.css", "text/css"), ("/", "text/html") })
        {
            using var response = await host.Client.GetAsync(url);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(type, response.Content.Headers.ContentType?.MediaType);
        }
        var (status, text) = await Get(host.Client, "/static/..%2Fsecret.js");
        Assert.Equal(HttpStatusCode.NotFound, status);
        // No page loads anything from another site: the server works offline.
        foreach (var name in new[] { "index.html", "app.js", "chart.js", "runs.js", "playground.js", "explainer.js", "app.css" })
        {
            string body = System.Text.Encoding.UTF8.GetString(CnnLab.Web.EmbeddedAssets.Read(name)!);
            Assert.DoesNotContain("http://", body);
            Assert.DoesNotContain("https://", body);
        }
    }
}
