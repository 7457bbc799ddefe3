using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using CnnLab.Data;
using CnnLab.Nn.Models;
using CnnLab.Serialization;
using CnnLab.Tensors;
using CsCheck;
using Xunit;
using Xunit.Abstractions;
using CnnLab.IO;

namespace CnnLab.Tests;

/// <summary>
/// Property: for any input, the IDX reader, the safetensors reader and the model-spec parser either
/// succeed or throw <see cref="InvalidFileException"/>, never anything else.
/// <para>
/// CsCheck, rather than FsCheck or SharpFuzz: it is plain C# (no F# runtime, no instrumented build),
/// fast (generators are allocation-light and run on all cores), seedable (a failure prints a seed
/// that replays it exactly) and it shrinks a failing input to a small one. Inputs are mutations of
/// valid files: bit flips, byte overwrites, truncations, insertions, edits of length fields with
/// boundary values, and for the JSON formats, token-level edits of the JSON with the length re-fixed,
/// so that mutants get past the framing checks into the semantic ones.
/// </para>
/// The bounded run is 110,000 inputs; CNNLAB_FUZZ_SCALE=N multiplies every count by N for a longer
/// local run (e.g. CNNLAB_FUZZ_SCALE=100: 11 million inputs).
/// </summary>
public class ReaderFuzzTests(ITestOutputHelper output)
{
    private static readonly long Scale = long.TryParse(Environment.GetEnvironmentVariable("CNNLAB_FUZZ_SCALE"), out long s) && s > 0 ? s : 1;

    private static readonly long[] Boundary =
        [0, 1, 2, 3, 7, 8, 255, 256, 65535, int.MaxValue, (long)int.MaxValue + 1, uint.MaxValue, long.MaxValue, -1, -8];

    // One mutation: (kind, position fraction, value).
    private static readonly Gen<(int Kind, double At, long Value)> Mutation =
        Gen.Select(Gen.Int[0, 5], Gen.Double[0, 1], Gen.OneOf(Gen.Long[-300, 300], Gen.OneOf(Boundary)));

    /// <summary>Applies 1–4 byte-level mutations to a copy of one of <paramref name="seeds"/>.</summary>
    private static Gen<byte[]> Mutants(params byte[][] seeds) =>
        Gen.Select(Gen.Int[0, seeds.Length - 1], Mutation.Array[1, 4]).Select(t => Apply(seeds[t.Item1], t.Item2));

    private static byte[] Apply(byte[] seed, (int Kind, double At, long Value)[] mutations)
    {
        var b = new List<byte>(seed);
        foreach (var (kind, at, value) in mutations)
        {
            int pos = (int)(at * b.Count);
            switch (kind)
            {
                case 0 when b.Count > 0: b[Math.Min(pos, b.Count - 1)] ^= (byte)(1 << (int)(value & 7)); break;      // bit flip
                case 1 when b.Count > 0: b[Math.Min(pos, b.Count - 1)] = (byte)value; break;                         // byte overwrite
                case 2: b.RemoveRange(pos, b.Count - pos); break;                                                    // truncation
                case 3: b.InsertRange(pos, Enumerable.Repeat((byte)value, (int)(Math.Abs(value) % 9) + 1)); break;  // insertion
                case 4: b.RemoveRange(pos, Math.Min(b.Count - pos, (int)(Math.Abs(value) % 9) + 1)); break;        // deletion
                case 5:                                                                                               // length field
                    var arr = b.ToArray();
                    int field = Math.Min(pos & ~3, Math.Max(0, arr.Length - 8));
                    if (arr.Length >= 8)
                    {
                        if (at < 0.5) BinaryPrimitives.WriteInt64LittleEndian(arr.AsSpan(field), value);
                        else BinaryPrimitives.WriteInt32BigEndian(arr.AsSpan(field), (int)value);
                    }
                    b = new List<byte>(arr);
                    break;
            }
        }
        return b.ToArray();
    }

    private static readonly string[] JsonReplacements =
        ["-1", "0", "1", "2.5", "1e30", "-0", "2147483647", "2147483648", "9223372036854775808", "\"7\"", "null", "true",
         "[]", "{}", "[0]", "[1,2,3]", "\"F32\"", "\"F16\"", "\"I64\"", "\"BF16\"", "\"U8\"", "\"relu\"", "\"conv2d\"", "\"linear\"",
         "\"flatten\"", "\"maxpool2d\"", "\"__metadata__\"", "\"\\u0000\"", "\"\\ud800\""];

    /// <summary>Token-level JSON edits: replace a number/string/literal/bracketed value, delete or duplicate a span.</summary>
    private static Gen<string> JsonMutants(params string[] seeds) =>
        Gen.Select(Gen.Int[0, seeds.Length - 1],
                Gen.Select(Gen.Int[0, 3], Gen.Double[0, 1], Gen.Int[0, JsonReplacements.Length - 1], Gen.Int[1, 12]).Array[1, 3])
            .Select(t =>
            {
                var text = seeds[t.Item1];
                foreach (var (kind, at, r, len) in t.Item2)
                {
                    int pos = (int)(at * text.Length);
                    int end = TokenEnd(text, pos);
                    text = kind switch
                    {
                        0 or 1 => text[..pos] + JsonReplacements[r] + text[end..],                           // replace a token
                        2 => text.Remove(pos, Math.Min(len, text.Length - pos)),                               // delete a span
                        _ => text.Insert(pos, text.Substring(pos, Math.Min(len * 4, text.Length - pos))),      // duplicate a span (keys too)
                    };
                }
                return text;
            });

    private static int TokenEnd(string s, int pos)
    {
        int i = pos;
        while (i < s.Length && (char.IsLetterOrDigit(s[i]) || s[i] is '-' or '.' or '_' or '+')) i++;
        if (i == pos && i < s.Length && s[i] == '"')
        {
            i++;
            while (i < s.Length && s[i] != '"') i++;
            i = Math.Min(i + 1, s.Length);
        }
        return i;
    }

    private static void ExpectOnlyInvalidFile(Action parse)
    {
        try { parse(); }
        catch (InvalidFileException) { }
    }

    private long Run<T>(string what, Gen<T> gen, long iter, Action<T> parse, string seed)
    {
        var sw = Stopwatch.StartNew();
        gen.Sample(x => ExpectOnlyInvalidFile(() => parse(x)), iter: iter * Scale, seed: seed);
        output.WriteLine($"{what}: {iter * Scale} inputs in {sw.Elapsed.TotalSeconds:0.0} s");
        return iter * Scale;
    }

    // ---- seeds ----

    private static byte[] IdxSeed(params int[] dims) => IdxTestFiles.Idx(dims);

    private static byte[] Gzip(byte[] raw)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true)) gz.Write(raw);
        return ms.ToArray();
    }

    private static byte[] SafeTensorsSeed(bool withMetadata, bool withInt)
    {
        using var ms = new MemoryStream();
        var tensors = new List<KeyValuePair<string, Tensor>>
        {
            new("0.weight", Tensor.FromArray([1f, 2f, 3f, 4f, 5f, 6f], 2, 3)),
            new("0.bias", Tensor.FromArray([0.5f, -0.5f], 2)),
            new("1.num_batches_tracked", Tensor.Scalar(3f)),
        };
        SafeTensors.Write(ms, tensors, withMetadata ? new Dictionary<string, string> { ["format"] = "pt", ["k"] = "v" } : null,
            withInt ? new HashSet<string> { "1.num_batches_tracked" } : null);
        return ms.ToArray();
    }

    private static (string Header, byte[] Data) Split(byte[] file)
    {
        int n = (int)BinaryPrimitives.ReadUInt64LittleEndian(file);
        return (Encoding.UTF8.GetString(file, 8, n), file[(8 + n)..]);
    }

    private const string SpecConv = """
        { "name": "f", "input": [1, 8, 8], "layers": [
          { "type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1, "stride": 1 },
          { "type": "batchnorm2d" }, { "type": "relu" }, { "type": "maxpool2d", "kernel_size": 2 },
          { "type": "avgpool2d", "kernel_size": 2, "stride": 1 }, { "type": "adaptive_avgpool2d", "output_size": 1 },
          { "type": "flatten" }, { "type": "dropout", "p": 0.1 }, { "type": "linear", "out_features": 10 } ] }
        """;

    private const string SpecMlp = """
        { "input": [16], "layers": [ { "type": "linear", "out_features": 8, "bias": true }, { "type": "leaky_relu", "negative_slope": 0.1 },
          { "type": "batchnorm1d", "eps": 0.001 }, { "type": "elu", "alpha": 1.0 }, { "type": "tanh" },
        """ + """ { "type": "linear", "in_features": 8, "out_features": 3 } ] }""";

    // ---- properties ----

    [Fact]
    public void FuzzedInputsNeverThrowAnythingButInvalidFileException()
    {
        long total = 0;
        var sw = Stopwatch.StartNew();

        var idxSeeds = new[] { IdxSeed(3, 4, 5), IdxSeed(7), IdxSeed(2, 3), IdxSeed(1, 2, 2, 2) };
        total += Run("IDX raw", Mutants(idxSeeds), 30_000, b => IdxReader.Read(new MemoryStream(b), "fuzz.idx"), "0000000000000");
        total += Run("IDX gzip", Mutants(idxSeeds.Select(Gzip).ToArray()), 5_000, b => IdxReader.Read(new MemoryStream(b), "fuzz.idx.gz"),
            "0000000000001");

        var stSeeds = new[] { SafeTensorsSeed(true, true), SafeTensorsSeed(false, false), SafeTensorsSeed(true, false) };
        total += Run("safetensors bytes", Mutants(stSeeds), 30_000, b => SafeTensors.Parse(b, "fuzz.safetensors"), "0000000000002");
        // JSON edits with a correct length field, so mutants reach the header's semantic checks.
        var parts = stSeeds.Select(Split).ToArray();
        var headerGen = Gen.Select(Gen.Int[0, parts.Length - 1], JsonMutants(parts.Select(p => p.Header).ToArray()));
        total += Run("safetensors header JSON", headerGen, 30_000,
            t => SafeTensors.Parse(MalformedSafeTensors.File(t.Item2, parts[t.Item1].Data), "fuzz.safetensors"), "0000000000003");

        total += Run("model spec JSON", JsonMutants(SpecConv, SpecMlp), 15_000,
            json => ModelSpec.Parse(json, "fuzz.json", new Generator(0)), "0000000000004");

        output.WriteLine($"total: {total} inputs in {sw.Elapsed.TotalSeconds:0.0} s");
        Assert.True(total >= 110_000);
    }

    [Fact]
    public void TheMutatorsReachTheDeepChecks()
    {
        // Guards the fuzzers against producing only trivially rejected inputs: across 2,000 header
        // mutants, both valid files and many distinct error messages must occur.
        var parts = new[] { SafeTensorsSeed(true, true) }.Select(Split).ToArray();
        int valid = 0;
        var problems = new HashSet<string>();
        JsonMutants(parts[0].Header).Sample(h =>
        {
            try { SafeTensors.Parse(MalformedSafeTensors.File(h, parts[0].Data), "x"); lock (problems) valid++; }
            catch (InvalidFileException e) { lock (problems) problems.Add(e.Problem.Split(':')[0]); }
        }, iter: 2_000, seed: "0000000000005", threads: 1);
        output.WriteLine($"valid {valid}, distinct problem kinds {problems.Count}");
        Assert.True(valid > 0, "no mutant was valid");
        Assert.True(problems.Count >= 10, $"only {problems.Count} kinds of error: {string.Join(" | ", problems)}");
    }
}
