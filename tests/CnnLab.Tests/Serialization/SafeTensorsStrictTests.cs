using System.Buffers.Binary;
using System.Text;
using CnnLab.Nn.Models;
using CnnLab.Optim;
using CnnLab.Serialization;
using CnnLab.Tensors;
using CnnLab.Training;
using Xunit;
using CnnLab.IO;

namespace CnnLab.Tests;

// In the "cli" collection: the CLI sets the process-wide thread count, which TrainCliTests' determinism checks rely on.
[Collection("cli")]
public class SafeTensorsStrictTests
{
    public static TheoryData<string> CaseNames()
    {
        var data = new TheoryData<string>();
        foreach (var c in MalformedSafeTensors.All()) data.Add(c.Name);
        return data;
    }

    private static MalformedSafeTensors.Case Get(string name) => MalformedSafeTensors.All().Single(c => c.Name == name);

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void EachMalformedFileIsRejectedWithItsOwnMessage(string name)
    {
        var c = Get(name);
        var e = Assert.Throws<InvalidFileException>(() => SafeTensors.Parse(c.Bytes, "bad.safetensors"));
        Assert.Contains(c.Expected, e.Problem);
        Assert.StartsWith("bad.safetensors: ", e.Message);
    }

    [Fact]
    public void TheCorpusHasAtLeastTwentyCasesAndNoTwoShareAMessage()
    {
        var messages = MalformedSafeTensors.All()
            .Select(c => Assert.Throws<InvalidFileException>(() => SafeTensors.Parse(c.Bytes, "x")).Problem).ToList();
        Assert.True(messages.Count >= 20, $"{messages.Count} cases");
        Assert.Equal(messages.Count, messages.Distinct().Count());
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void TheCliRejectsEachWithExitCode2AndOneLine(string name)
    {
        var c = Get(name);
        var path = Path.Combine(TinyData.TempDir("bad-st"), "bad.safetensors");
        File.WriteAllBytes(path, c.Bytes);
        var r = Cli.Run("eval", "--model", "lenet5", "--weights", path);
        AssertOneLineError(r, c.Expected);
    }

    internal static void AssertOneLineError(Cli.Result r, string expected)
    {
        Assert.Equal(2, r.ExitCode);
        var lines = r.Stderr.TrimEnd('\n', '\r').Split('\n');
        Assert.True(lines.Length == 1, r.Stderr);
        Assert.StartsWith("cnnlab: ", lines[0]);
        Assert.Contains(expected, lines[0]);
        Assert.DoesNotContain(" at CnnLab", r.Stderr);
        Assert.Equal("", r.Stdout);
    }

    [Fact]
    public void ValidFileWithWrongTensorsForTheModelIsRejectedByName()
    {
        var path = Path.Combine(TinyData.TempDir("st-keys"), "w.safetensors");
        File.WriteAllBytes(path, MalformedSafeTensors.Valid());
        var r = Cli.Run("eval", "--model", "lenet5", "--weights", path);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("w.safetensors", r.Stderr);
        Assert.Single(r.Stderr.TrimEnd().Split('\n'));
    }

    [Fact]
    public void NonFinitePayloadsAreDataAndReadAsTheyAre()
    {
        // PyTorch and the upstream reader accept NaN/Inf values; the NaN guard catches them in a forward pass.
        var data = new byte[12];
        BinaryPrimitives.WriteSingleLittleEndian(data, float.NaN);
        BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(4), float.PositiveInfinity);
        BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(8), float.NegativeInfinity);
        var c = SafeTensors.Parse(MalformedSafeTensors.File("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}", data), "x");
        var w = c.Tensors["w"].ToArray();
        Assert.True(float.IsNaN(w[0]));
        Assert.Equal(float.PositiveInfinity, w[1]);
        Assert.Equal(float.NegativeInfinity, w[2]);
    }

    [Fact]
    public void WriterPadsTheHeaderToEightBytesAndTheReaderAcceptsAnyPadding()
    {
        using var ms = new MemoryStream();
        SafeTensors.Write(ms, [new("abc", Tensor.FromArray([1f, 2f, 3f], 3))], new Dictionary<string, string> { ["k"] = "v" });
        var bytes = ms.ToArray();
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0ul, n % 8);
        Assert.Equal((byte)' ', bytes[8 + (int)n - 1]);
        // Unpadded and over-padded (spaces, newline) headers both read.
        const string h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
        foreach (var header in new[] { h, h + "   \n\t " })
            Assert.Equal(0f, SafeTensors.Parse(MalformedSafeTensors.File(header, new byte[4]), "x").Tensors["a"].Item());
    }

    [Fact]
    public void ReadsF16Bf16F64AndI64AsFloat32()
    {
        var data = new byte[2 + 2 + 8 + 8];
        BinaryPrimitives.WriteHalfLittleEndian(data, (Half)1.5f);
        BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(2), (ushort)(BitConverter.SingleToInt32Bits(-2.5f) >> 16));
        BinaryPrimitives.WriteDoubleLittleEndian(data.AsSpan(4), 0.125);
        BinaryPrimitives.WriteInt64LittleEndian(data.AsSpan(12), 42);
        var header = "{\"h\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,2]},\"b\":{\"dtype\":\"BF16\",\"shape\":[],\"data_offsets\":[2,4]},"
            + "\"d\":{\"dtype\":\"F64\",\"shape\":[1,1],\"data_offsets\":[4,12]},\"i\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[12,20]}}";
        var c = SafeTensors.Parse(MalformedSafeTensors.File(header, data), "x").Tensors;
        Assert.Equal(1.5f, c["h"].Item());
        Assert.Equal(-2.5f, c["b"].Item());
        Assert.Equal(0.125f, c["d"].Item());
        Assert.Equal(42f, c["i"].Item());
    }

    public static TheoryData<string, string> BadSpecs() => new()
    {
        { "not json at all", "not valid JSON" },
        { "[1]", "must be a JSON object" },
        { "{\"layers\": 3}", "missing field 'layers'" },
        { "{\"layers\": []}", "'layers' is empty" },
        { "{\"layers\": [{\"type\": \"conv3d\"}]}", "layer 0: field 'type' is 'conv3d'" },
        { "{\"layers\": [{\"type\": \"linear\", \"out_features\": 3}]}", "layer 0 (linear): needs a 2-D input" },
        { "{\"input\": [1, -28, 28], \"layers\": [{\"type\": \"relu\"}]}", "'input' must hold integers" },
        { "{\"layers\": [{\"type\": \"relu\"}], \"extra\": 1}", "unknown top-level field 'extra'" },
    };

    [Theory]
    [MemberData(nameof(BadSpecs))]
    public void MalformedModelSpecsGiveOneLineAndExitCode2(string json, string expected)
    {
        var dir = TinyData.TempDir("bad-spec");
        var spec = Path.Combine(dir, "net.json");
        File.WriteAllText(spec, json);
        var weights = Path.Combine(dir, "w.safetensors");
        File.WriteAllBytes(weights, MalformedSafeTensors.Valid());
        AssertOneLineError(Cli.Run("eval", "--model", spec, "--weights", weights), expected);
    }

    public static TheoryData<string, string, string> BadCheckpointFiles() => new()
    {
        { "config.json", "{\"model\": ", "config.json: not a valid training config" },
        { "config.json", "null", "config.json: config is null" },
        { "config.json", "[\"lenet5\"]", "config.json: not a valid training config" },
        { "state.json", "{", "state.json: not a valid training state" },
        { "state.json", "{\"epoch\": -1, \"batch_in_epoch\": 0, \"step\": 0, \"model_generator\": [1,2,3,4,5,6,7]}", "state.json: fields epoch" },
        { "state.json", "{\"epoch\": 1, \"batch_in_epoch\": 0, \"step\": 0, \"model_generator\": [1]}", "model_generator must hold 7 words" },
        { ".commit.json", "{not json", ".commit.json: corrupt checkpoint journal" },
        { ".commit.json", "{\"../evil\": \"model.safetensors\"}", "journal names an unexpected file" },
        { "model.safetensors", "short", "model.safetensors: file is 5 bytes" },
        { "optimizer.safetensors", "", "optimizer.safetensors: file is 0 bytes" },
    };

    [Theory]
    [MemberData(nameof(BadCheckpointFiles))]
    public void MalformedCheckpointFilesGiveOneLineAndExitCode2(string file, string content, string expected)
    {
        var dir = TinyData.TempDir("bad-ckpt");
        var model = ModelZoo.Create("lenet5", new Generator(1));
        Checkpoint.Save(dir, model, new AdamW(model.Parameters()), new TrainingConfig { Model = "lenet5" },
            new TrainingState(1, 0, 1, new Generator(1).GetState()));
        File.WriteAllText(Path.Combine(dir, file), content);
        AssertOneLineError(Cli.Run("eval", "--checkpoint", dir), expected);
    }
}
