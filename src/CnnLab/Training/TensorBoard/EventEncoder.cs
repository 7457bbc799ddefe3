using Google.Protobuf;

namespace CnnLab.Training.TensorBoard;

/// <summary>
/// Encodes the Event protos of TensorBoard's event files (tensorboard/compat/proto/event.proto, summary.proto and
/// histogram.proto), with the field numbers of those files:
/// <c>Event { double wall_time = 1; int64 step = 2; oneof { string file_version = 3; Summary summary = 5; } }</c>,
/// <c>Summary { repeated Value value = 1; }</c>,
/// <c>Value { string tag = 1; oneof { float simple_value = 2; Image image = 4; HistogramProto histo = 5; } }</c>,
/// <c>Image { int32 height = 1; int32 width = 2; int32 colorspace = 3; bytes encoded_image_string = 4; }</c>,
/// <c>HistogramProto { double min = 1, max = 2, num = 3, sum = 4, sum_squares = 5; repeated double bucket_limit = 6,
/// bucket = 7 [packed]; }</c>.
/// </summary>
/// <remarks>
/// Written by hand with Google.Protobuf's <see cref="CodedOutputStream"/> rather than from generated classes: generating
/// summary.proto drags in TensorProto and its five imports (thousands of lines) for the four messages and fifteen
/// fields written here, and the event files are only ever written, never read, by CnnLab. PyTorch: the Event and Summary
/// protos that torch.utils.tensorboard.summary builds.
/// </remarks>
public static class EventEncoder
{
    /// <summary>The version record every event file starts with; TensorBoard reads files whose first event says "brain.Event:2".</summary>
    public static byte[] FileVersion(double wallTime) => Event(wallTime, 0, o =>
    {
        o.WriteTag(3, WireFormat.WireType.LengthDelimited);
        o.WriteString("brain.Event:2");
    });

    /// <summary>A scalar (TensorBoard's Scalars tab) as <c>simple_value</c>, as PyTorch's SummaryWriter.add_scalar writes it.</summary>
    public static byte[] Scalar(double wallTime, long step, string tag, float value) => Summary(wallTime, step, tag, o =>
    {
        o.WriteTag(2, WireFormat.WireType.Fixed32);
        o.WriteFloat(value);
    });

    /// <summary>A histogram (TensorBoard's Histograms and Distributions tabs) as <c>histo</c>.</summary>
    public static byte[] Histogram(double wallTime, long step, string tag, HistogramSummary h) => Summary(wallTime, step, tag, o =>
    {
        o.WriteTag(5, WireFormat.WireType.LengthDelimited);
        o.WriteBytes(Message(m =>
        {
            WriteDouble(m, 1, h.Min);
            WriteDouble(m, 2, h.Max);
            WriteDouble(m, 3, h.Count);
            WriteDouble(m, 4, h.Sum);
            WriteDouble(m, 5, h.SumSquares);
            WritePacked(m, 6, h.BucketLimits);
            WritePacked(m, 7, h.BucketCounts);
        }));
    });

    /// <summary>An encoded image (TensorBoard's Images tab) as <c>image</c>; <paramref name="colorspace"/> 1 grey, 3 RGB, 4 RGBA.</summary>
    public static byte[] Image(double wallTime, long step, string tag, int height, int width, int colorspace, ReadOnlySpan<byte> encoded)
    {
        var bytes = ByteString.CopyFrom(encoded);
        return Summary(wallTime, step, tag, o =>
        {
            o.WriteTag(4, WireFormat.WireType.LengthDelimited);
            o.WriteBytes(Message(m =>
            {
                m.WriteTag(1, WireFormat.WireType.Varint);
                m.WriteInt32(height);
                m.WriteTag(2, WireFormat.WireType.Varint);
                m.WriteInt32(width);
                m.WriteTag(3, WireFormat.WireType.Varint);
                m.WriteInt32(colorspace);
                m.WriteTag(4, WireFormat.WireType.LengthDelimited);
                m.WriteBytes(bytes);
            }));
        });
    }

    // Event { wall_time, step, summary { value { tag, <the value> } } }: one value per event, as PyTorch writes them.
    private static byte[] Summary(double wallTime, long step, string tag, Action<CodedOutputStream> writeValue)
    {
        if (string.IsNullOrEmpty(tag)) throw new ArgumentException("a TensorBoard tag must not be empty", nameof(tag));
        var value = Message(v =>
        {
            v.WriteTag(1, WireFormat.WireType.LengthDelimited);
            v.WriteString(tag);
            writeValue(v);
        });
        var summary = Message(s =>
        {
            s.WriteTag(1, WireFormat.WireType.LengthDelimited);
            s.WriteBytes(value);
        });
        return Event(wallTime, step, e =>
        {
            e.WriteTag(5, WireFormat.WireType.LengthDelimited);
            e.WriteBytes(summary);
        });
    }

    private static byte[] Event(double wallTime, long step, Action<CodedOutputStream> writeWhat) => Message(e =>
    {
        WriteDouble(e, 1, wallTime);
        e.WriteTag(2, WireFormat.WireType.Varint);
        e.WriteInt64(step);
        writeWhat(e);
    }).ToByteArray();

    private static void WriteDouble(CodedOutputStream o, int field, double value)
    {
        o.WriteTag(field, WireFormat.WireType.Fixed64);
        o.WriteDouble(value);
    }

    // A packed repeated double: one length-delimited field holding the values back to back, 8 bytes each.
    private static void WritePacked(CodedOutputStream o, int field, IReadOnlyList<double> values)
    {
        o.WriteTag(field, WireFormat.WireType.LengthDelimited);
        o.WriteLength(values.Count * sizeof(double));
        foreach (double v in values) o.WriteDouble(v);
    }

    private static ByteString Message(Action<CodedOutputStream> write)
    {
        using var buffer = new MemoryStream();
        using (var o = new CodedOutputStream(buffer, leaveOpen: true))
        {
            write(o);
            o.Flush();
        }
        return ByteString.CopyFrom(buffer.GetBuffer(), 0, (int)buffer.Length);
    }
}
