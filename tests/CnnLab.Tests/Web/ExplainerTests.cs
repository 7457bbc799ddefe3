using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Xunit;

namespace CnnLab.Tests.Web;

/// <summary>The Explainer's API: an uploaded image through a run's checkpoint; uploads capped in bytes and pixels.</summary>
public class ExplainerTests
{
    private static MultipartFormDataContent Form(string run, byte[] image, string? top = null)
    {
        var form = new MultipartFormDataContent { { new StringContent(run), "run" } };
        if (top is not null) form.Add(new StringContent(top), "top");
        var file = new ByteArrayContent(image);
        file.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        form.Add(file, "image", "image.png");
        return form;
    }

    private static byte[] Png(int width, int height) =>
        File.ReadAllBytes(ImageFiles.Write(Path.Combine(TinyData.TempDir("web-image"), "x.png"), width, height, seed: 3));

    [Fact]
    public async Task AnImageGetsTopClassesFeatureMapsAndOnePixelsArithmetic()
    {
        await using var host = await WebHost.Start();
        RunsTests.Train(host, "cnn", "lenet5");
        using var response = await host.Client.PostAsync("/api/explain", Form("cnn", Png(40, 30), top: "4"));
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        var result = JsonDocument.Parse(text).RootElement;
        var top = result.GetProperty("top").EnumerateArray().ToList();
        Assert.Equal(4, top.Count);
        Assert.True(top.Select(t => t.GetProperty("probability").GetDouble()).SequenceEqual(
            top.Select(t => t.GetProperty("probability").GetDouble()).OrderDescending()));
        var stages = result.GetProperty("stages").EnumerateArray().ToList();
        Assert.Equal("input", stages[0].GetProperty("stage").GetString());
        Assert.Contains(stages, s => s.GetProperty("stage").GetString()!.Contains("Conv2d 1→6 5x5"));
        foreach (var stage in stages)
        {
            using var picture = await host.Client.GetAsync(stage.GetProperty("url").GetString());
            Assert.Equal(HttpStatusCode.OK, picture.StatusCode);
            Assert.Equal([0x89, 0x50, 0x4E, 0x47], (await picture.Content.ReadAsByteArrayAsync())[..4]);
        }
        var arithmetic = result.GetProperty("arithmetic").EnumerateArray().Select(l => l.GetString()!).ToList();
        Assert.StartsWith("Output pixel: channel", arithmetic[0]);
        Assert.Contains(arithmetic, l => l.StartsWith("Σ products = ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task BadUploadsAreRefusedWithOneLine()
    {
        await using var host = await WebHost.Start(maxUploadBytes: 20_000);
        RunsTests.Train(host, "run");
        async Task<(HttpStatusCode, string)> Post(HttpContent content)
        {
            using var response = await host.Client.PostAsync("/api/explain", content);
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }
        Assert.Equal((HttpStatusCode.BadRequest, "the uploaded image: not an image CnnLab can decode (PNG, JPEG, BMP, GIF or TGA)\n"),
            await Post(Form("run", "not an image at all"u8.ToArray())));
        Assert.Equal((HttpStatusCode.BadRequest, "the uploaded image has 1100x1000 pixels, more than the server's 1,000,000\n"),
            await Post(Form("run", Claiming(1100, 1000))));
        Assert.Equal((HttpStatusCode.RequestEntityTooLarge, "the upload is over the server's 20,000 bytes\n"),
            await Post(Form("run", new byte[30_000])));
        Assert.Equal((HttpStatusCode.NotFound, "no run 'other' in the runs folder\n"), await Post(Form("other", Png(8, 8))));
        Assert.Equal((HttpStatusCode.BadRequest, "--top must be between 1 and 1000, got 0\n"), await Post(Form("run", Png(8, 8), top: "0")));
        Assert.Equal((HttpStatusCode.BadRequest, "--top must be a whole number, got 'x'\n"), await Post(Form("run", Png(8, 8), top: "x")));
        Assert.Equal((HttpStatusCode.BadRequest, "send a multipart form with the fields run and image\n"), await Post(new StringContent("{}")));
    }

    // A small PNG whose header claims another size: the pixel budget is checked from the header, before decoding.
    private static byte[] Claiming(int width, int height)
    {
        var png = Png(8, 8);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(16), width);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(20), height);
        return png;
    }

    [Fact]
    public async Task TheReportFolderIsServedWhenPresent()
    {
        string report = TinyData.TempDir("web-report");
        await using (var host = await WebHost.Start(report: report))
        {
            using var missing = await host.Client.GetAsync("/report/index.html");
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
            Assert.StartsWith("no lab report in", await missing.Content.ReadAsStringAsync());
            File.WriteAllText(Path.Combine(report, "index.html"), "<h1>The lab</h1>");
            Directory.CreateDirectory(Path.Combine(report, "figures"));
            File.WriteAllText(Path.Combine(report, "figures", "a.svg"), "<svg/>");
            Assert.Equal("<h1>The lab</h1>", await host.Client.GetStringAsync("/report/index.html"));
            using var figure = await host.Client.GetAsync("/report/figures/a.svg");
            Assert.Equal("image/svg+xml", figure.Content.Headers.ContentType?.MediaType);
            using var outside = await host.Client.GetAsync("/report/..%2F..%2Fetc%2Fpasswd");
            Assert.Equal(HttpStatusCode.NotFound, outside.StatusCode);
            var info = JsonDocument.Parse(await host.Client.GetStringAsync("/api/info")).RootElement;
            Assert.True(info.GetProperty("report").GetBoolean());
        }
    }
}
