using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Xunit;

namespace CnnLab.Tests.Web;

/// <summary>The Explainer's clicked pixel: the arithmetic of any output pixel of any conv layer, checked against the layer itself.</summary>
public class PixelArithmeticTests
{
    private static async Task<JsonElement> Explain(WebHost host)
    {
        var form = new MultipartFormDataContent { { new StringContent("cnn"), "run" } };
        var png = File.ReadAllBytes(ImageFiles.Write(Path.Combine(TinyData.TempDir("web-image"), "x.png"), 28, 28, seed: 5));
        var file = new ByteArrayContent(png);
        file.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        form.Add(file, "image", "image.png");
        using var response = await host.Client.PostAsync("/api/explain", form);
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return JsonDocument.Parse(text).RootElement;
    }

    private static async Task<(HttpStatusCode, string)> Get(WebHost host, string url)
    {
        using var response = await host.Client.GetAsync(url);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task TheArithmeticOfAPixelOfTheSecondConvIsTheLayersOwnOutputThere()
    {
        await using var host = await WebHost.Start();
        RunsTests.Train(host, "cnn", "lenet5");
        var result = await Explain(host);
        string id = result.GetProperty("id").GetString()!;
        var convs = result.GetProperty("conv_layers").EnumerateArray().ToList();
        Assert.True(convs.Count >= 2, result.GetRawText());
        var second = convs[1];
        int layer = second.GetProperty("layer").GetInt32(), width = second.GetProperty("width").GetInt32();
        Assert.True(layer > 0);
        int channel = second.GetProperty("channels").GetInt32() - 1, row = second.GetProperty("height").GetInt32() - 2, col = 1;

        var (mapStatus, mapText) = await Get(host, $"/api/explain/{id}/map?layer={layer}&channel={channel}");
        Assert.True(mapStatus == HttpStatusCode.OK, mapText);
        var values = JsonDocument.Parse(mapText).RootElement.GetProperty("values").EnumerateArray().Select(v => v.GetDouble()).ToList();
        Assert.Equal(width * second.GetProperty("height").GetInt32(), values.Count);

        var (status, text) = await Get(host, $"/api/explain/{id}/arithmetic?layer={layer}&channel={channel}&row={row}&col={col}");
        Assert.True(status == HttpStatusCode.OK, text);
        var a = JsonDocument.Parse(text).RootElement;
        double hand = a.GetProperty("sum_plus_bias").GetDouble();
        double captured = values[row * width + col];
        Assert.Equal(captured, a.GetProperty("model_output").GetDouble(), 1e-6);
        Assert.True(Math.Abs(hand - captured) <= 1e-4 * (1 + Math.Abs(captured)), $"by hand {hand}, the layer {captured}");
        var lines = a.GetProperty("lines").EnumerateArray().Select(l => l.GetString()!).ToList();
        Assert.StartsWith($"Output pixel: channel {channel}, row {row}, column {col} of layer {layer} Conv2d", lines[0]);
        // Every input channel of the second conv contributes a window, a kernel and products: 6 channels for lenet5.
        Assert.Equal(6, lines.Count(l => l.StartsWith("kernel w[", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task BadPixelsAreA400WithOneLineAndAnUnknownExplanationA404()
    {
        await using var host = await WebHost.Start();
        RunsTests.Train(host, "cnn", "lenet5");
        string id = (await Explain(host)).GetProperty("id").GetString()!;
        string url = $"/api/explain/{id}/arithmetic";
        var (status, text) = await Get(host, $"{url}?layer=1&channel=0&row=0&col=0");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.StartsWith("layer 1 is not a conv layer of the model: expected one of 0, ", text);
        Assert.Equal((HttpStatusCode.BadRequest, "channel 6 is out of range: layer 0 Conv2d 1→6 5x5 has channels 0..5\n"),
            await Get(host, $"{url}?layer=0&channel=6&row=0&col=0"));
        (status, text) = await Get(host, $"{url}?layer=0&channel=0&row=0&col=99");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.StartsWith("pixel (0, 99) is out of range: layer 0 Conv2d 1→6 5x5 outputs ", text);
        Assert.Equal((HttpStatusCode.BadRequest, "row must be a whole number, got 'x' (ask ?layer=L&channel=C&row=R&col=Q)\n"),
            await Get(host, $"{url}?layer=0&channel=0&row=x&col=0"));
        Assert.Equal((HttpStatusCode.BadRequest, "channel must be a whole number, got '' (ask ?layer=L&channel=C&row=R&col=Q)\n"),
            await Get(host, $"/api/explain/{id}/map?layer=0"));
        Assert.Equal((HttpStatusCode.NotFound, "no explanation '0123456789abcdef' (kept: the last 16): explain the image again\n"),
            await Get(host, "/api/explain/0123456789abcdef/arithmetic?layer=0&channel=0&row=0&col=0"));
    }
}
