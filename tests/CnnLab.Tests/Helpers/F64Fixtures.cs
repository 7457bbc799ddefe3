using System.Buffers.Binary;
using System.Text.Json;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// Reads the F64 tensors of a fixture file at full double precision (the library's SafeTensors reader
/// converts everything to float32, which would lose the 1e-9 agreement the schedule tests check).
/// </summary>
public static class F64Fixtures
{
    public sealed record Contents(Dictionary<string, (int[] Shape, double[] Data)> Tensors, JsonElement Config);

    public static Contents Load(string subdir, string name)
    {
        var path = Path.Combine(Fixtures.Root, subdir, name + ".safetensors");
        Assert.True(File.Exists(path), $"fixture {subdir}/{name} is missing: run tools/reference/make_optim_fixtures.py");
        var bytes = File.ReadAllBytes(path);
        long headerLen = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        using var doc = JsonDocument.Parse(bytes.AsMemory(8, (int)headerLen));
        var data = bytes.AsSpan(8 + (int)headerLen);
        var tensors = new Dictionary<string, (int[], double[])>();
        JsonElement config = default;
        foreach (var prop in doc.RootElement.EnumerateObject())
        {
            if (prop.Name == "__metadata__")
            {
                config = JsonDocument.Parse(prop.Value.GetProperty("config").GetString()!).RootElement.Clone();
                continue;
            }
            Assert.Equal("F64", prop.Value.GetProperty("dtype").GetString());
            var shape = prop.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()).ToArray();
            var off = prop.Value.GetProperty("data_offsets").EnumerateArray().Select(d => d.GetInt32()).ToArray();
            var values = new double[(off[1] - off[0]) / 8];
            for (int i = 0; i < values.Length; i++) values[i] = BinaryPrimitives.ReadDoubleLittleEndian(data[(off[0] + 8 * i)..]);
            tensors[prop.Name] = (shape, values);
        }
        return new Contents(tensors, config);
    }
}
