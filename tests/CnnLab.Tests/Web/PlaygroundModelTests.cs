using System.Net;
using System.Text.Json;
using CnnLab.Nn.Models;
using CnnLab.Serialization;
using CnnLab.Tensors;
using CnnLab.Training;
using Xunit;

namespace CnnLab.Tests.Web;

/// <summary>The Playground's model choices beyond a zoo name: a pasted JSON spec, and the BatchNorm switch.</summary>
public class PlaygroundModelTests
{
    private const string Spec =
        """{"name": "tiny", "input": [1, 28, 28], "layers": [{"type": "flatten"}, {"type": "linear", "out_features": 10}]}""";

    private static string Job(object fields)
    {
        var body = new Dictionary<string, object> { ["batch_size"] = 16, ["epochs"] = 1, ["max_steps"] = 3 };
        foreach (var p in JsonSerializer.SerializeToElement(fields).EnumerateObject()) body[p.Name] = p.Value;
        return JsonSerializer.Serialize(body);
    }

    // Starts the job, waits for its end, and gives its run folder.
    private static async Task<string> Train(WebHost host, string body)
    {
        using var response = await host.StartJob(body);
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"{response.StatusCode}: {text}");
        var job = JsonDocument.Parse(text).RootElement;
        using var events = await EventStream.Open(host.Client, $"/api/jobs/{job.GetProperty("id").GetInt32()}/events");
        var (done, _) = await events.Until("done");
        Assert.Contains("\"completed\"", done);
        return Path.Combine(host.Runs, job.GetProperty("run").GetString()!);
    }

    private static async Task BadRequest(WebHost host, string body, string message)
    {
        using var response = await host.StartJob(body);
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{response.StatusCode}: {text}");
        Assert.StartsWith(message, text);
        Assert.Single(text.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Empty(Directory.EnumerateDirectories(host.Runs));
    }

    [Fact]
    public async Task AJobFromSpecTextTrainsAndItsRunFolderHoldsTheSpec()
    {
        await using var host = await WebHost.Start();
        string folder = await Train(host, Job(new { spec = Spec }));
        var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "config.json"))).RootElement;
        Assert.Equal(Spec, config.GetProperty("model_spec_json").GetString());
        Assert.Equal("tiny", config.GetProperty("model").GetString());
        // The checkpoint builds the spec's model: one Linear 784→10.
        var weights = SafeTensors.Load(Path.Combine(folder, Checkpoint.ModelFile)).Tensors;
        Assert.Equal(["1.bias", "1.weight"], weights.Keys.Order());
        Assert.Equal(7840, weights["1.weight"].Numel);
    }

    [Fact]
    public async Task BadSpecsAre400WithOneLine()
    {
        await using var host = await WebHost.Start();
        await BadRequest(host, Job(new { spec = "{\"layers\": [" }), "model spec: not valid JSON");
        await BadRequest(host, Job(new { spec = """{"layers": [{"type": "warp"}]}""" }), "model spec: ");
        await BadRequest(host, Job(new { spec = Spec + new string(' ', 64 * 1024) + "//" }), "the model spec is over 64 KiB");
        await BadRequest(host, Job(new { model = "mlp", spec = Spec }), "give either a zoo model or a model spec, not both");
        await BadRequest(host, Job(new { spec = Spec, batch_norm = true }), "batch_norm switches only zoo models");
        // The spec's input against the data: the Trainer's message.
        await BadRequest(host, Job(new { spec = Spec.Replace("[1, 28, 28]", "[3, 28, 28]") }), "model 'tiny' expects images");
    }

    [Fact]
    public async Task BatchNormOnTrainsTheBatchNormVariant()
    {
        await using var host = await WebHost.Start();
        string folder = await Train(host, Job(new { model = "cnn-small", batch_norm = "on" }));
        var keys = SafeTensors.Load(Path.Combine(folder, Checkpoint.ModelFile)).Tensors.Keys.Order().ToArray();
        var bn = ModelZoo.Create(ModelZoo.WithBatchNorm("cnn-small", true), new Generator(0)).StateDict().Keys.Order().ToArray();
        Assert.Equal(bn, keys);
        Assert.Contains(keys, k => k.EndsWith("running_mean", StringComparison.Ordinal));
        Assert.Equal("cnn-bn", Checkpoint.Load(folder).Config.Model);
    }

    [Fact]
    public async Task BatchNormOnAModelWithoutAVariantIs400()
    {
        await using var host = await WebHost.Start();
        await BadRequest(host, Job(new { model = "mlp", batch_norm = true }), "model 'mlp' has no BatchNorm variant");
        await BadRequest(host, Job(new { model = "cnn-small", batch_norm = "maybe" }), "--batch-norm must be on or off");
    }
}
