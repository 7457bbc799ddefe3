using System.Buffers.Binary;
using System.Text;
using CnnLab.Training;
using Xunit;

namespace CnnLab.Tests.Commands;

/// <summary>
/// Bad or tricky input through the real entry point, one case per way a user (or a damaged file) can get it wrong:
/// each must end with one line "cnnlab: …" naming what was wrong and exit code 2 — never a stack trace, never the
/// internal-error code 70 that any other exception reaching <c>Main</c> gets, never a huge allocation first.
/// </summary>
[Collection("cli")]
public class HostileInputTests
{
    private static readonly Lazy<string> Data = new(() => TinyData.Folder(64, 32));

    // One finished run of lenet5 (1 epoch, 2 steps), copied by the cases that damage it.
    private static readonly Lazy<string> Run = new(() =>
    {
        var dir = TinyData.TempDir("hostile-run");
        var r = CnnLab.Tests.Cli.Run("train", "--model", "lenet5", "--epochs", "1", "--batch-size", "32", "--threads", "1",
            "--optimizer", "sgd", "--data", Data.Value, "--out", dir, "--overwrite");
        Assert.True(r.ExitCode == 0, r.Stderr);
        return dir;
    });

    private static string Copy(string from)
    {
        var dir = TinyData.TempDir("hostile-copy");
        foreach (var f in Directory.GetFiles(from).Where(f => !Path.GetFileName(f).StartsWith('.')))
            File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        return dir;
    }

    private static string Spec(string name, string json)
    {
        var path = Path.Combine(TinyData.TempDir("hostile-spec"), name);
        File.WriteAllText(path, json);
        return path;
    }

    private static string Edit(string file, Func<string, string> change)
    {
        var dir = Copy(Run.Value);
        var path = Path.Combine(dir, file);
        File.WriteAllText(path, change(File.ReadAllText(path)));
        return dir;
    }

    public static TheoryData<string> Cases() => new(CaseTable.Keys.Order());

    private static readonly Dictionary<string, Func<(string[] Args, string Expected)>> CaseTable = new()
    {
        ["zoo mlp too big"] = () => (["train", "--model", "mlp-1000-46340-relu", "--data", Data.Value], "CNNLAB_MAX_PARAMETERS"),
        ["zoo mlp number overflow"] = () => (["models", "mlp-1-99999999999999999999-relu"], "width 1..65536"),
        ["zoo plain-cnn overflow"] = () => (["doctor", "--model", "plain-cnn-99999999999"], "depth must be 1..200"),
        ["doctor huge batch"] = () => (["doctor", "--model", "cnn-small", "--batch", "2000000"], "CNNLAB_MAX_ACTIVATION_BYTES"),
        ["spec billion-weight linear"] = () => (["models", Spec("big.json",
            """{"layers": [{"type": "flatten"}, {"type": "linear", "out_features": 1000000000}]}""")], "CNNLAB_MAX_PARAMETERS"),
        ["spec kernel larger than input"] = () => (["models", Spec("k.json",
            """{"layers": [{"type": "conv2d", "out_channels": 4, "kernel_size": 40}]}""")], "layer 0 (conv2d)"),
        ["spec huge adaptive pool"] = () => (["models", Spec("a.json",
            """{"layers": [{"type": "conv2d", "out_channels": 64, "kernel_size": 3}, {"type": "adaptive_avgpool2d", "output_size": 100000}]}""")],
            "CNNLAB_MAX_ACTIVATION_BYTES"),
        ["spec huge input"] = () => (["models", Spec("i.json",
            """{"input": [4096, 4096, 4096], "layers": [{"type": "conv2d", "out_channels": 512, "kernel_size": 1}]}""")], "budget"),
        ["spec huge batchnorm"] = () => (["models", Spec("b.json",
            """{"input": [100], "layers": [{"type": "batchnorm1d", "num_features": 2000000000}]}""")], "CNNLAB_MAX_PARAMETERS"),
        ["model is /dev/zero"] = () => (["models", "/dev/zero"], "CNNLAB_MAX_TEXT_FILE_BYTES"),
        ["model with 12 outputs on 10 classes"] = () => (["train", "--model", Spec("w.json",
            """{"layers": [{"type": "flatten"}, {"type": "linear", "out_features": 12}]}"""), "--data", Data.Value,
            "--out", TinyData.TempDir("w")], "last layer must have 10 outputs"),
        ["config.json with null fields"] = () => (["eval", "--checkpoint", Edit("config.json",
            t => t.Replace("\"lenet5\"", "null")), "--data", Data.Value], "field 'model'"),
        ["config.json with a bad lr"] = () => (["eval", "--checkpoint", Edit("config.json",
            t => t.Replace("\"lr\": 0.001", "\"lr\": -1")), "--data", Data.Value], "config.json"),
        ["state.json step 9e18"] = () => (["train", "--resume", Edit("state.json",
            t => System.Text.RegularExpressions.Regex.Replace(t, "\"step\": \\d+", "\"step\": 9000000000000000000")),
            "--data", Data.Value], "state.json"),
        ["optimizer metadata of the wrong type"] = () => (["train", "--resume", OptimizerGroups("[{\"lr\": \"fast\"}]"),
            "--data", Data.Value], "optimizer.safetensors"),
        ["optimizer metadata not json"] = () => (["train", "--resume", OptimizerGroups("{{{"), "--data", Data.Value],
            "optimizer.safetensors"),
        ["resume with --lr"] = () => (["train", "--resume", Copy(Run.Value), "--lr", "0.5", "--data", Data.Value], "--lr"),
        ["bench threads 1000000"] = () => (["bench", "--threads", "1000000"], "--threads must be between 1 and 256"),
        ["bench gemm seconds -1"] = () => (["bench", "--gemm", "--seconds", "-1"], "--seconds"),
        ["safetensors header length huge"] = () => (["eval", "--model", "lenet5", "--weights", Bytes("w.safetensors",
            [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, (byte)'{', (byte)'}']), "--data", Data.Value], "header length"),
        ["safetensors with 3000 unexpected tensors"] = () => (["eval", "--model", "lenet5", "--weights", ManyTensors(3000),
            "--data", Data.Value], "and 2,990 more"),
        ["png claiming 60000x60000"] = () => (["predict", "--checkpoint", Run.Value, Png(60000, 60000, truncate: true)],
            "CNNLAB_MAX_IMAGE_PIXELS"),
        ["truncated png"] = () => (["predict", "--checkpoint", Run.Value, Png(64, 64, truncate: true)], "ends early"),
        ["NaN weights"] = () => (["predict", "--checkpoint", NaNWeights(), "--index", "0", "--data", Data.Value], "holds NaN or Inf"),
        ["export NaN weights"] = () => (["export", "onnx", "--checkpoint", NaNWeights(), "--out",
            Path.Combine(TinyData.TempDir("onnx"), "m.onnx")], "holds NaN or Inf"),
        ["visualize an image past the test set"] = () => (["visualize", "--checkpoint", Run.Value, "--image", "999999",
            "--data", Data.Value, "--out", TinyData.TempDir("viz")], "--image must be between 0 and 31"),
        ["lab with an unknown experiment"] = () => (["lab", "--only", "nonexistent", "--out", TinyData.TempDir("lab")],
            "unknown experiment 'nonexistent'"),
        ["checkpoint folder missing"] = () => (["eval", "--checkpoint", "/nonexistent/run"], "does not exist"),
        ["sweep grid is /dev/zero"] = () => (["sweep", "/dev/zero", "--out", TinyData.TempDir("sweep")], "CNNLAB_MAX_TEXT_FILE_BYTES"),
        ["sweep data folder missing"] = () => (["sweep", Spec("g.json", """{"fixed": {"data": "/nonexistent/idx"}, "grid": {"lr": [0.1]}}"""),
            "--out", TinyData.TempDir("sweep")], "g.json: field 'data': '/nonexistent/idx'"),
        ["sweep batch larger than its images"] = () => (["sweep", Spec("b.json",
            """{"budget": {"train_images": 100}, "fixed": {"batch_size": 200}, "grid": {"lr": [0.1]}}"""), "--out", TinyData.TempDir("sweep")],
            "batch_size 200 is larger than the 100 training images"),
        ["a sane spec passes"] = () => (["models", Spec("ok.json", """{"layers": [{"type": "flatten"}]}""")], ""),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void EndsWithOneLineAndExitCode2(string name)
    {
        var (args, expected) = CaseTable[name]();
        var r = CnnLab.Tests.Cli.Run(args);
        if (name == "a sane spec passes")
        {
            Assert.True(r.ExitCode == 0, r.Stderr);   // the budgets refuse only what is over them
            return;
        }
        var lines = r.Stderr.TrimEnd().Split('\n');
        Assert.True(r.ExitCode == 2, $"{name}: exit {r.ExitCode}, stderr: {r.Stderr}");
        Assert.StartsWith("cnnlab: ", lines[^1]);
        Assert.Contains(expected, lines[^1]);
        Assert.DoesNotContain(lines, l => l.TrimStart().StartsWith("at ", StringComparison.Ordinal));
        Assert.True(lines[^1].Length < 1200, $"{name}: a {lines[^1].Length}-character message");
    }

    private static string OptimizerGroups(string groups)
    {
        var dir = Copy(Run.Value);
        var path = Path.Combine(dir, Checkpoint.OptimizerFile);
        var c = CnnLab.Serialization.SafeTensors.Load(path);
        var meta = c.Metadata.ToDictionary(kv => kv.Key, kv => kv.Value);
        meta["param_groups"] = groups;
        CnnLab.Serialization.SafeTensors.Save(path, c.Tensors, meta);
        return dir;
    }

    private static string NaNWeights()
    {
        var dir = Copy(Run.Value);
        var path = Path.Combine(dir, Checkpoint.ModelFile);
        var c = CnnLab.Serialization.SafeTensors.Load(path);
        c.Tensors.Values.First().Data[0] = float.NaN;
        CnnLab.Serialization.SafeTensors.Save(path, c.Tensors, c.Metadata.ToDictionary(kv => kv.Key, kv => kv.Value));
        return dir;
    }

    private static string Bytes(string name, byte[] content)
    {
        var path = Path.Combine(TinyData.TempDir("hostile-bytes"), name);
        File.WriteAllBytes(path, content);
        return path;
    }

    private static string ManyTensors(int count)
    {
        var tensors = Enumerable.Range(0, count)
            .Select(i => KeyValuePair.Create($"extra.layer{i}.weight", new CnnLab.Tensors.Tensor([1])));
        var path = Path.Combine(TinyData.TempDir("hostile-many"), "many.safetensors");
        CnnLab.Serialization.SafeTensors.Save(path, tensors);
        return path;
    }

    // A PNG whose IHDR says width x height, with one IDAT cut short when truncate is set (no IEND).
    private static string Png(int width, int height, bool truncate)
    {
        var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0d, 0x0a, 0x1a, 0x0a]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8;   // bit depth
        ihdr[9] = 0;   // grayscale
        Chunk(png, "IHDR", ihdr);
        // A zlib stream of a few rows only: the picture's data ends early either way.
        var raw = new MemoryStream();
        using (var z = new System.IO.Compression.ZLibStream(raw, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
            for (int row = 0; row < Math.Min(height, 8); row++) z.Write(new byte[1 + width]);
        var data = raw.ToArray();
        Chunk(png, "IDAT", truncate ? data[..(data.Length / 2)] : data);
        if (!truncate) Chunk(png, "IEND", []);
        var path = Path.Combine(TinyData.TempDir("hostile-png"), "image.png");
        File.WriteAllBytes(path, png.ToArray());
        return path;
    }

    private static void Chunk(Stream s, string type, byte[] data)
    {
        var len = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(len, data.Length);
        s.Write(len);
        var body = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        s.Write(body);
        var crc = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32(body));
        s.Write(crc);
    }

    private static uint Crc32(byte[] bytes)
    {
        uint c = 0xffffffff;
        foreach (byte b in bytes)
        {
            c ^= b;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xedb88320 ^ (c >> 1) : c >> 1;
        }
        return ~c;
    }
}
