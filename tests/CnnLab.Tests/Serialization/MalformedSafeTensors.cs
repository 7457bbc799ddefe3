using System.Buffers.Binary;
using System.Text;

namespace CnnLab.Tests;

/// <summary>
/// The corpus of malformed safetensors files, built in code: each case breaks one rule of the
/// format and names the words its error message must contain.
/// </summary>
public static class MalformedSafeTensors
{
    public sealed record Case(string Name, byte[] Bytes, string Expected)
    {
        public override string ToString() => Name;
    }

    /// <summary>A file with this header text and data section; <paramref name="headerLength"/> overrides the length field.</summary>
    public static byte[] File(string header, byte[]? data = null, ulong? headerLength = null) =>
        File(Encoding.UTF8.GetBytes(header), data, headerLength);

    public static byte[] File(byte[] header, byte[]? data = null, ulong? headerLength = null)
    {
        data ??= [];
        var bytes = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, headerLength ?? (ulong)header.Length);
        header.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + header.Length);
        return bytes;
    }

    private static string T(string name, string dtype, string shape, string offsets) =>
        $"\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":{shape},\"data_offsets\":{offsets}}}";

    private static readonly byte[] Eight = new byte[8];

    /// <summary>A valid two-tensor file: "a" F32 [2] at [0,8), "b" F32 [1] at [8,12).</summary>
    public static byte[] Valid() => File("{" + T("a", "F32", "[2]", "[0,8]") + "," + T("b", "F32", "[1]", "[8,12]") + "}", new byte[12]);

    public static IReadOnlyList<Case> All() =>
    [
        new("empty file", [], "shorter than the 8-byte header length"),
        new("truncated length field", [1, 0, 0], "3 bytes, shorter than the 8-byte"),
        new("header length over the cap", File("{}", headerLength: 100_000_001), "exceeds the limit of 100000000"),
        new("header length past end of file", File("{}", headerLength: 64), "header length 64 is larger than the 2 bytes after it"),
        new("header length cuts the JSON", File("{" + T("a", "F32", "[2]", "[0,8]") + "}", Eight, headerLength: 20), "header is not valid JSON"),
        new("header length 0xFFFF... (overflow)", File("{}", headerLength: ulong.MaxValue), "exceeds the limit"),
        new("header not UTF-8", File([(byte)'{', 0xFF, 0xFE, (byte)'}']), "not valid UTF-8"),
        new("header not JSON", File("{\"a\":"), "not valid JSON"),
        new("header with a lone surrogate escape", File("{\"w\\ud800\":{}}"), "holds an unpaired UTF-16 surrogate escape"),
        new("header a JSON array", File("[1,2]"), "header must be a JSON object"),
        new("header nested too deep", File(new string('[', 40) + new string(']', 40)), "not valid JSON"),
        new("duplicate tensor names", File("{" + T("a", "F32", "[1]", "[0,4]") + "," + T("a", "F32", "[1]", "[4,8]") + "}", Eight),
            "duplicate tensor name 'a'"),
        new("metadata not an object", File("{\"__metadata__\":[1]}"), "__metadata__ must be an object of strings"),
        new("metadata value not a string", File("{\"__metadata__\":{\"epoch\":3}}"), "__metadata__ value 'epoch' must be a string"),
        new("duplicate metadata keys", File("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}"), "duplicate __metadata__ key 'k'"),
        new("entry not an object", File("{\"w\":5}"), "tensor 'w': entry must be an object"),
        new("missing dtype", File("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[4]), "tensor 'w': missing or non-string 'dtype'"),
        new("unsupported dtype", File("{" + T("w", "I8", "[4]", "[0,4]") + "}", new byte[4]), "tensor 'w': unsupported dtype 'I8'"),
        new("shape not an array", File("{\"w\":{\"dtype\":\"F32\",\"shape\":4,\"data_offsets\":[0,16]}}", new byte[16]),
            "tensor 'w': missing or non-array 'shape'"),
        new("negative dimension", File("{" + T("w", "F32", "[-1]", "[0,4]") + "}", new byte[4]), "shape entry -1 is not a non-negative integer"),
        new("fractional dimension", File("{" + T("w", "F32", "[2.5]", "[0,10]") + "}", new byte[10]), "shape entry 2.5 is not"),
        new("huge dimensions", File("{" + T("w", "F32", "[2147483647,2147483647]", "[0,4]") + "}", new byte[4]),
            "tensor 'w': shape has more than 2147483647 elements"),
        new("data_offsets of three numbers", File("{" + T("w", "F32", "[1]", "[0,4,8]") + "}", new byte[4]),
            "'data_offsets' must be an array [begin, end]"),
        new("data_offsets strings", File("{" + T("w", "F32", "[1]", "[\"0\",\"4\"]") + "}", new byte[4]),
            "data_offsets [\"0\",\"4\"] must be two integers"),
        new("data_offsets fractional", File("{" + T("w", "F32", "[1]", "[0,4.0001]") + "}", new byte[4]),
            "data_offsets [0,4.0001] must be two integers"),
        new("data_offsets beyond int64", File("{" + T("w", "F32", "[1]", "[0,1e30]") + "}", new byte[4]),
            "data_offsets [0,1e30] must be two integers"),
        new("data_offsets negative", File("{" + T("w", "F32", "[1]", "[-4,0]") + "}", new byte[4]),
            "data_offsets [-4, 0) must satisfy 0 <= begin <= end"),
        new("data_offsets reversed", File("{" + T("w", "F32", "[0]", "[4,0]") + "}", new byte[4]), "data_offsets [4, 0) must satisfy"),
        new("data_offsets past end of file", File("{" + T("w", "F32", "[4]", "[0,16]") + "}", new byte[8]),
            "data_offsets [0, 16) run past the end of the 8-byte data section"),
        new("byte count disagrees with shape", File("{" + T("w", "F32", "[3]", "[0,8]") + "}", Eight), "hold 8 bytes but F32 [3] needs 12"),
        new("byte count disagrees with dtype", File("{" + T("w", "F64", "[2]", "[0,8]") + "}", Eight), "hold 8 bytes but F64 [2] needs 16"),
        new("overlapping tensors", File("{" + T("a", "F32", "[2]", "[0,8]") + "," + T("b", "F32", "[1]", "[4,8]") + "}", Eight),
            "tensor 'b' data_offsets [4, 8) overlap the previous tensor (which ends at 8)"),
        new("gap between tensors", File("{" + T("a", "F32", "[1]", "[0,4]") + "," + T("b", "F32", "[1]", "[8,12]") + "}", new byte[12]),
            "tensor 'b' data_offsets [8, 12) leave a gap after offset 4"),
        new("not starting at offset 0", File("{" + T("a", "F32", "[1]", "[4,8]") + "}", Eight),
            "tensor 'a' data_offsets [4, 8) leave a gap after offset 0"),
        new("trailing bytes after the last tensor", File("{" + T("a", "F32", "[1]", "[0,4]") + "}", new byte[7]),
            "tensors end at byte 4 of the data section but the data section is 7 bytes"),
        new("truncated data section", Valid()[..^3], "tensor 'b': data_offsets [8, 12) run past the end of the 9-byte data section"),
        new("unknown field in an entry", File("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"strides\":[1]}}", new byte[4]),
            "tensor 'w': unknown field 'strides'"),
    ];
}
