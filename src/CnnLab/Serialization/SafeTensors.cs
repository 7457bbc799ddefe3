using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using CnnLab.Tensors;
using CnnLab.IO;

namespace CnnLab.Serialization;

/// <summary>
/// The safetensors format (Hugging Face): an 8-byte little-endian header length N, N bytes of JSON
/// mapping each tensor name to {dtype, shape, data_offsets: [begin, end)} plus an optional
/// "__metadata__" of string→string, then the tensors' bytes packed from offset 0.
/// CnnLab writes F32 (I64 for integer buffers such as num_batches_tracked), reads F32,
/// F64, F16, BF16 and I64 (converted to float32), and checks every rule before allocating.
/// <para>
/// Rules checked, each with its own message naming the tensor and offsets: file at least 8 bytes;
/// header length ≤ 100 MB and within the file; header valid UTF-8 and one JSON object with no
/// repeated key (the JSON parser keeps repeats, so names are counted); <c>__metadata__</c> an object
/// of strings with unique keys; each entry an object with exactly dtype (F32/F64/F16/BF16/I64), shape
/// (non-negative integers, at most 2³¹−1 elements, checked as it multiplies) and data_offsets (two
/// integers, 0 ≤ begin ≤ end ≤ data length); end − begin equal to dtype size × element count;
/// tensors packed from offset 0 with no gap or overlap, and the last one ending at end of file.
/// Non-finite payloads (NaN, ±Inf) are data, not format errors, and are read as they are, as
/// PyTorch and the upstream reader do; the NaN guard reports them when they reach a forward pass.
/// The writer pads the header with spaces to a multiple of 8; the reader accepts any padding.
/// </para>
/// </summary>
/// <remarks>PyTorch: safetensors.torch.save_file / load_file.</remarks>
public static class SafeTensors
{
    /// <summary>Largest header accepted (upstream's limit).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    /// <summary>Writes tensors in order to <paramref name="stream"/>.</summary>
    public static void Write(Stream stream, IEnumerable<KeyValuePair<string, Tensor>> tensors,
        IReadOnlyDictionary<string, string>? metadata = null, ISet<string>? int64Names = null)
    {
        var list = tensors.ToList();
        var names = new HashSet<string>();
        using var headerStream = new MemoryStream();
        using (var json = new Utf8JsonWriter(headerStream))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject("__metadata__");
                foreach (var (k, v) in metadata) json.WriteString(k, v);
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var (name, t) in list)
            {
                if (!names.Add(name)) throw new ArgumentException($"duplicate tensor name '{name}'");
                bool asInt = int64Names?.Contains(name) == true;
                long bytes = (long)t.Numel * (asInt ? 8 : 4);
                json.WriteStartObject(name);
                json.WriteString("dtype", asInt ? "I64" : "F32");
                json.WriteStartArray("shape");
                foreach (int d in t.Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + bytes);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += bytes;
            }
            json.WriteEndObject();
        }
        var header = headerStream.ToArray().ToList();
        while (header.Count % 8 != 0) header.Add((byte)' ');
        Span<byte> len = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)header.Count);
        stream.Write(len);
        stream.Write(header.ToArray());
        var buffer = new byte[1 << 16];
        foreach (var (name, t) in list)
        {
            bool asInt = int64Names?.Contains(name) == true;
            var data = t.Elements;
            int per = asInt ? 8 : 4;
            int chunk = buffer.Length / per;
            for (int start = 0; start < data.Length; start += chunk)
            {
                int count = Math.Min(chunk, data.Length - start);
                for (int i = 0; i < count; i++)
                {
                    if (asInt) BinaryPrimitives.WriteInt64LittleEndian(buffer.AsSpan(i * 8), (long)data[start + i]);
                    else BinaryPrimitives.WriteSingleLittleEndian(buffer.AsSpan(i * 4), data[start + i]);
                }
                stream.Write(buffer, 0, count * per);
            }
        }
    }

    /// <summary>Writes a file atomically: to a temporary file beside it, flushed to disk, then renamed over the target.</summary>
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors,
        IReadOnlyDictionary<string, string>? metadata = null, ISet<string>? int64Names = null)
    {
        AtomicFile.Write(path, s => Write(s, tensors, metadata, int64Names));
    }

    /// <summary>The tensors (in file order) and metadata of a safetensors file.</summary>
    public sealed record Contents(OrderedDictionary<string, Tensor> Tensors, IReadOnlyDictionary<string, string> Metadata);

    /// <summary>Reads and validates a safetensors file; any violation is an <see cref="InvalidFileException"/>.</summary>
    /// <remarks>
    /// The 8-byte header length is checked against the file's size before the rest is read, so a file that is not
    /// safetensors (or a device, or a file too big for one array) is refused from its first bytes.
    /// </remarks>
    public static Contents Load(string path)
    {
        byte[] bytes;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            long length = stream.CanSeek ? stream.Length : 0;
            Span<byte> head = stackalloc byte[8];
            if (length >= 8) stream.ReadExactly(head);
            HeaderLength(head, length, path);
            if (length > Array.MaxLength)
                throw new InvalidFileException(path, $"file is {length:N0} bytes; CnnLab reads safetensors files of up to {Array.MaxLength:N0}");
            bytes = new byte[length];
            head.CopyTo(bytes);
            stream.ReadExactly(bytes.AsSpan(8));
        }
        catch (EndOfStreamException)
        {
            throw new InvalidFileException(path, "file ended while it was read (was it being written?)");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw new InvalidFileException(path, $"cannot read file: {e.Message}", e);
        }
        return Parse(bytes, path);
    }

    // The header length in a file's first 8 bytes (start), checked against the limit and against the bytes that follow it
    // in a file of `length` bytes: the one framing check of Load (before reading the rest) and of Parse.
    private static ulong HeaderLength(ReadOnlySpan<byte> start, long length, string path)
    {
        if (length < 8) throw new InvalidFileException(path, $"file is {length} bytes, shorter than the 8-byte header length");
        ulong headerLen = BinaryPrimitives.ReadUInt64LittleEndian(start);
        if (headerLen > MaxHeaderBytes)
            throw new InvalidFileException(path, $"header length {headerLen} exceeds the limit of {MaxHeaderBytes} bytes");
        if (headerLen > (ulong)(length - 8))
            throw new InvalidFileException(path, $"header length {headerLen} is larger than the {length - 8} bytes after it");
        return headerLen;
    }

    /// <summary>Parses safetensors bytes; <paramref name="path"/> is used in error messages.</summary>
    public static Contents Parse(ReadOnlySpan<byte> file, string path)
    {
        ulong headerLen = HeaderLength(file, file.Length, path);
        var headerBytes = file.Slice(8, (int)headerLen);
        string headerText;
        try { headerText = new UTF8Encoding(false, true).GetString(headerBytes); }
        catch (DecoderFallbackException) { throw new InvalidFileException(path, "header is not valid UTF-8"); }
        JsonDocument doc;
        try { doc = JsonDocument.Parse(headerText, new JsonDocumentOptions { MaxDepth = 8 }); }
        catch (JsonException e) { throw new InvalidFileException(path, $"header is not valid JSON: {e.Message}"); }
        using var _ = doc;
        if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new InvalidFileException(path, "header must be a JSON object");
        JsonStrings.Check(doc.RootElement, path);
        var data = file[(8 + (int)headerLen)..];
        var metadata = new Dictionary<string, string>();
        var entries = new List<(string Name, string Dtype, int[] Shape, long Begin, long End)>();
        var seen = new HashSet<string>();
        foreach (var prop in doc.RootElement.EnumerateObject())
        {
            if (!seen.Add(prop.Name)) throw new InvalidFileException(path, $"duplicate tensor name '{prop.Name}' in header");
            if (prop.Name == "__metadata__")
            {
                if (prop.Value.ValueKind != JsonValueKind.Object) throw new InvalidFileException(path, "__metadata__ must be an object of strings");
                foreach (var m in prop.Value.EnumerateObject())
                {
                    if (m.Value.ValueKind != JsonValueKind.String)
                        throw new InvalidFileException(path, $"__metadata__ value '{m.Name}' must be a string, got {m.Value.ValueKind}");
                    if (!metadata.TryAdd(m.Name, m.Value.GetString()!))
                        throw new InvalidFileException(path, $"duplicate __metadata__ key '{m.Name}'");
                }
                continue;
            }
            entries.Add(ParseEntry(prop, path, data.Length));
        }
        var ordered = entries.OrderBy(e => e.Begin).ThenBy(e => e.End).ToList();
        long expected = 0;
        foreach (var e in ordered)
        {
            if (e.Begin != expected)
                throw new InvalidFileException(path, e.Begin < expected
                    ? $"tensor '{e.Name}' data_offsets [{e.Begin}, {e.End}) overlap the previous tensor (which ends at {expected})"
                    : $"tensor '{e.Name}' data_offsets [{e.Begin}, {e.End}) leave a gap after offset {expected}");
            expected = e.End;
        }
        if (expected != data.Length)
            throw new InvalidFileException(path, $"tensors end at byte {expected} of the data section but the data section is {data.Length} bytes");
        var tensors = new OrderedDictionary<string, Tensor>();
        foreach (var e in entries)
        {
            var t = new Tensor(e.Shape);
            Decode(data[(int)e.Begin..(int)e.End], e.Dtype, t.Elements);
            t.Name = e.Name;
            tensors.Add(e.Name, t);
        }
        return new Contents(tensors, metadata);
    }

    private static (string, string, int[], long, long) ParseEntry(JsonProperty prop, string path, long dataLength)
    {
        string name = prop.Name;
        var v = prop.Value;
        if (v.ValueKind != JsonValueKind.Object)
            throw new InvalidFileException(path, $"tensor '{name}': entry must be an object with dtype, shape, data_offsets");
        if (!v.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String)
            throw new InvalidFileException(path, $"tensor '{name}': missing or non-string 'dtype'");
        string dtype = dt.GetString()!;
        int size = DtypeSize(dtype);
        if (size == 0) throw new InvalidFileException(path, $"tensor '{name}': unsupported dtype '{dtype}' (expected F32, F64, F16, BF16 or I64)");
        if (!v.TryGetProperty("shape", out var sh) || sh.ValueKind != JsonValueKind.Array)
            throw new InvalidFileException(path, $"tensor '{name}': missing or non-array 'shape'");
        var shape = new List<int>();
        long numel = 1;
        foreach (var d in sh.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out long dim) || dim < 0)
                throw new InvalidFileException(path, $"tensor '{name}': shape entry {d.GetRawText()} is not a non-negative integer");
            if (dim > int.MaxValue || (numel = numel * dim) > int.MaxValue)
                throw new InvalidFileException(path, $"tensor '{name}': shape has more than {int.MaxValue} elements");
            shape.Add((int)dim);
        }
        if (!v.TryGetProperty("data_offsets", out var off) || off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2)
            throw new InvalidFileException(path, $"tensor '{name}': 'data_offsets' must be an array [begin, end]");
        if (off[0].ValueKind != JsonValueKind.Number || off[1].ValueKind != JsonValueKind.Number
            || !off[0].TryGetInt64(out long begin) || !off[1].TryGetInt64(out long end))
            throw new InvalidFileException(path, $"tensor '{name}': data_offsets {off.GetRawText()} must be two integers");
        if (begin < 0 || end < begin)
            throw new InvalidFileException(path, $"tensor '{name}': data_offsets [{begin}, {end}) must satisfy 0 <= begin <= end");
        if (end > dataLength)
            throw new InvalidFileException(path,
                $"tensor '{name}': data_offsets [{begin}, {end}) run past the end of the {dataLength}-byte data section");
        if (end - begin != numel * size)
            throw new InvalidFileException(path, $"tensor '{name}': data_offsets [{begin}, {end}) hold {end - begin} bytes "
                + $"but {dtype} {Shape.Format(shape.ToArray())} needs {numel * size}");
        foreach (var p in v.EnumerateObject())
            if (p.Name is not ("dtype" or "shape" or "data_offsets"))
                throw new InvalidFileException(path, $"tensor '{name}': unknown field '{p.Name}'");
        return (name, dtype, shape.ToArray(), begin, end);
    }

    private static int DtypeSize(string dtype) => dtype switch
    {
        "F32" => 4,
        "F64" => 8,
        "F16" => 2,
        "BF16" => 2,
        "I64" => 8,
        _ => 0,
    };

    private static void Decode(ReadOnlySpan<byte> src, string dtype, Span<float> dst)
    {
        for (int i = 0; i < dst.Length; i++)
        {
            dst[i] = dtype switch
            {
                "F32" => BinaryPrimitives.ReadSingleLittleEndian(src[(i * 4)..]),
                "F64" => (float)BinaryPrimitives.ReadDoubleLittleEndian(src[(i * 8)..]),
                "F16" => (float)BinaryPrimitives.ReadHalfLittleEndian(src[(i * 2)..]),
                "BF16" => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(src[(i * 2)..]) << 16),
                _ => BinaryPrimitives.ReadInt64LittleEndian(src[(i * 8)..]),
            };
        }
    }
}
