using System.Buffers.Binary;

namespace CnnLab.Training.TensorBoard;

/// <summary>
/// Writes TFRecord framing, the container of TensorBoard's event files. Each record is
/// <c>uint64 length | uint32 masked_crc32c(length) | byte data[length] | uint32 masked_crc32c(data)</c>, integers
/// little-endian, CRC as <see cref="Crc32C.Masked"/> (TensorFlow's tf.io.TFRecordWriter; tensorflow/core/lib/io/record_writer.cc).
/// </summary>
/// <remarks>PyTorch: torch.utils.tensorboard's RecordWriter (tensorboard.summary.writer.record_writer).</remarks>
public sealed class TfRecordWriter(Stream stream) : IDisposable
{
    /// <summary>Appends one record holding <paramref name="data"/>.</summary>
    public void Write(ReadOnlySpan<byte> data)
    {
        Span<byte> header = stackalloc byte[12];
        BinaryPrimitives.WriteUInt64LittleEndian(header, (ulong)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], Crc32C.Masked(header[..8]));
        Span<byte> footer = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(footer, Crc32C.Masked(data));
        stream.Write(header);
        stream.Write(data);
        stream.Write(footer);
    }

    /// <summary>Hands what was written to the operating system, so that a reader (TensorBoard polls the file) sees it.</summary>
    public void Flush() => stream.Flush();

    public void Dispose() => stream.Dispose();
}
