using System.Text.Json;
using Xunit;

namespace CnnLab.Tests;

/// <summary>Train, eval, predict and visualize on a folder of RGB images, as a user does after the lab.</summary>
public class OwnImagesCliTests
{
    private static readonly Lazy<(string Data, string Run)> Trained = new(() =>
    {
        var data = ImageFiles.Folder(["cat", "dog", "emu"], 6, width: 20, height: 14);
        var run = TinyData.TempDir("own-run");
        var r = Cli.Run("train", "--data", data, "--model", "cnn-small", "--image-size", "16", "--augment", "crop:2,flip,jitter",
            "--epochs", "2", "--batch-size", "8", "--threads", "1", "--out", run, "--no-cache");
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
        return (data, run);
    });

    [Fact]
    public void TrainingRecordsWhatTheModelWasTrainedOn()
    {
        var (_, run) = Trained.Value;
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "config.json")));
        var root = config.RootElement;
        Assert.Equal([3, 16, 16], root.GetProperty("input_shape").EnumerateArray().Select(v => v.GetInt32()));
        Assert.Equal(["cat", "dog", "emu"], root.GetProperty("class_names").EnumerateArray().Select(v => v.GetString()));
        Assert.Equal(3, root.GetProperty("normalize_mean").GetArrayLength());
        Assert.Equal("image-folder", root.GetProperty("data_format").GetString());
        Assert.Equal("crop:2,flip,jitter", root.GetProperty("augmentations").GetString());
    }

    [Fact]
    public void EvalReadsTheDataAsTrainingDid()
    {
        var (data, run) = Trained.Value;
        var r = Cli.Run("eval", "--checkpoint", run, "--data", data, "--json", "--no-cache");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var json = JsonDocument.Parse(r.Stdout);
        Assert.Equal(3, json.RootElement.GetProperty("per_class_acc").GetArrayLength());
        Assert.Contains("RGB 16x16", r.Stderr);
    }

    [Fact]
    public void PredictTakesAnyImageAndNamesTheClasses()
    {
        var (_, run) = Trained.Value;
        var image = ImageFiles.Write(Path.Combine(TinyData.TempDir("predict"), "big photo.jpg"), 90, 61, 4);
        var r = Cli.Run("predict", "--checkpoint", run, image, "--top", "2", "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var json = JsonDocument.Parse(r.Stdout);
        var top = json.RootElement.GetProperty("top").EnumerateArray().ToList();
        Assert.Equal(2, top.Count);
        Assert.Contains(top[0].GetProperty("class").GetString(), new[] { "cat", "dog", "emu" });
        Assert.True(top[0].GetProperty("probability").GetDouble() >= top[1].GetProperty("probability").GetDouble());
        var text = Cli.Run("predict", "--checkpoint", run, image);
        Assert.Equal(3, text.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length - 1);
    }

    [Fact]
    public void PredictAndVisualizeATestImageOfTheFolder()
    {
        var (data, run) = Trained.Value;
        var r = Cli.Run("predict", "--checkpoint", run, "--index", "1", "--data", data, "--no-cache");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("(true class: cat)", r.Stdout);
        var outDir = TinyData.TempDir("own-viz");
        var v = Cli.Run("visualize", "--checkpoint", run, "--image", "0", "--data", data, "--out", outDir, "--no-cache");
        Assert.True(v.ExitCode == 0, v.Stderr);
        Assert.True(File.Exists(Path.Combine(outDir, "filters.png")));
        Assert.True(File.Exists(Path.Combine(outDir, "image0-input.png")));
        Assert.Contains("first-layer filters", v.Stdout);
    }

    [Fact]
    public void TheOnnxExportCarriesTheNormalizationAndClassNames()
    {
        var (data, run) = Trained.Value;
        string path = Path.Combine(TinyData.TempDir("own-onnx"), "model.onnx");
        var r = Cli.Run("export", "onnx", "--checkpoint", run, "--out", path, "--normalize-in-graph");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var bytes = File.ReadAllBytes(path);
        using (var session = new Microsoft.ML.OnnxRuntime.InferenceSession(bytes))
        {
            var meta = session.ModelMetadata.CustomMetadataMap;
            Assert.Equal("[\"cat\",\"dog\",\"emu\"]", meta["cnnlab.class_names"]);
            Assert.Equal("[3,16,16]", meta["cnnlab.input_shape"]);
        }
        // The graph takes pixels / 255 and normalizes them itself: the same logits as CnnLab on its normalized batch.
        var config = CnnLab.Training.Checkpoint.Load(run).Config;
        var split = new CnnLab.Data.DataSource(CnnLab.Data.DataSourceKind.Argument, data, "t").Load(config.DataOptions, []);
        var image = split.Test.Subset([0]);
        var raw = new CnnLab.Data.DataLoader(image, 1, normalize: CnnLab.Data.Normalize.None).Epoch(0).Single().X;
        var normalized = new CnnLab.Data.DataLoader(image, 1, normalize: config.Normalization).Epoch(0).Single().X;
        var (net, _) = CnnLab.Training.Trainer.BuildModel(config, new CnnLab.Tensors.Generator(0));
        net.LoadStateDict(CnnLab.Training.Checkpoint.Load(run).Weights);
        net.Eval();
        var expected = net.Forward(normalized).ToArray();
        var actual = OnnxExportTests.RunOrt(bytes, raw, "logits");
        for (int k = 0; k < expected.Length; k++) Assert.Equal(expected[k], actual[k], 3);
    }

    [Fact]
    public void OtherDataThanTheRunWasTrainedOnIsRefused()
    {
        var (_, run) = Trained.Value;
        var other = ImageFiles.Folder(["x", "y"], 2, width: 16, height: 16);
        var r = Cli.Run("eval", "--checkpoint", run, "--data", other, "--no-cache");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("the run was made for the classes cat, dog, emu", r.Stderr);
    }

    [Theory]
    [InlineData("--channels", "2", "--channels must be 1, 3 or auto")]
    [InlineData("--image-size", "12x", "image size '12x' is not N or HxW")]
    [InlineData("--val-split", "1.5", "--val-split must be between 0 and 1")]
    [InlineData("--normalize", "0.5", "--normalize must be auto, none or MEAN/STD")]
    [InlineData("--augment", "rotate", "--augment: unknown 'rotate'")]
    [InlineData("--center-crop", null, "--center-crop needs --image-size")]
    public void BadOptionsGiveOneLineAndExitCode2(string option, string? value, string message)
    {
        var data = ImageFiles.Folder(["a", "b"], 2);
        string[] args = ["train", "--data", data, "--max-steps", "1", "--out", TinyData.TempDir("bad-opt"), "--no-cache", option];
        var r = Cli.Run(value is null ? args : [.. args, value]);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(message, r.Stderr);
        Assert.Single(r.Stderr.Trim().Split('\n'));
    }

    [Theory]
    [InlineData("corrupt image", "broken.png: not an image CnnLab can decode")]
    [InlineData("decompression bomb", "CNNLAB_MAX_IMAGE_PIXELS")]
    [InlineData("empty class folder", "class folder 'c' holds no images")]
    [InlineData("no data at all", "holds no data CnnLab reads")]
    public void BadFoldersGiveOneLineNamingTheFileAndExitCode2(string what, string message)
    {
        var data = ImageFiles.Folder(["a", "b"], 2);
        switch (what)
        {
            case "corrupt image": File.WriteAllBytes(Path.Combine(data, "train", "b", "broken.png"), [1, 2, 3, 4, 5]); break;
            case "decompression bomb": File.Copy(BombPng(), Path.Combine(data, "train", "a", "bomb.png")); break;
            case "empty class folder": Directory.CreateDirectory(Path.Combine(data, "train", "c")); break;
            case "no data at all": data = TinyData.TempDir("no-data"); break;
        }
        var r = Cli.Run("train", "--data", data, "--max-steps", "1", "--out", TinyData.TempDir("bad-folder"), "--no-cache");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(message, r.Stderr);
        Assert.Single(r.Stderr.Trim().Split('\n'));
    }

    // A PNG whose header claims 50000 x 50000 pixels: refused from the header, nothing decoded.
    private static string BombPng()
    {
        var ihdr = new byte[13];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(ihdr, 50000);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), 50000);
        ihdr[8] = 8;
        ihdr[9] = 2;
        var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0d, 0x0a, 0x1a, 0x0a]);
        png.Write([0, 0, 0, 13]);
        png.Write("IHDR"u8);
        png.Write(ihdr);
        png.Write([0, 0, 0, 0]);
        var path = Path.Combine(TinyData.TempDir("bomb"), "bomb.png");
        File.WriteAllBytes(path, png.ToArray());
        return path;
    }
}
