namespace CnnLab.Training.TensorBoard;

/// <summary>
/// CRC-32C (Castagnoli et al. 1993, "Optimization of Cyclic Redundancy-Check Codes with 24 and 32 Parity Bits"): the
/// CRC with the polynomial 0x1EDC6F41, bits reflected (0x82F63B78 in the reflected form used here), initial value and
/// final XOR 0xFFFFFFFF, as in RFC 3720 §B.4 (iSCSI) and in TFRecord files. Check value: CRC-32C("123456789") = 0xE3069283.
/// </summary>
/// <remarks>
/// .NET's System.IO.Hashing has only the IEEE polynomial. Byte-at-a-time table lookup is enough here: an event record is
/// a few kilobytes at most, written once per step. PyTorch: the crc32c that torch.utils.tensorboard's RecordWriter uses
/// (tensorboard.compat.tensorflow_stub).
/// </remarks>
public static class Crc32C
{
    private const uint ReflectedPolynomial = 0x82F63B78;

    private static readonly uint[] Table = BuildTable();

    /// <summary>The CRC-32C of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data) crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return ~crc;
    }

    /// <summary>
    /// TFRecord's masked CRC, <c>((crc &gt;&gt; 15) | (crc &lt;&lt; 17)) + 0xA282EAD8</c> (mod 2^32): a CRC of data that itself
    /// holds CRCs is a poor check, so the stored value is rotated and offset (tensorflow/core/lib/hash/crc32c.h, Mask).
    /// </summary>
    public static uint Masked(ReadOnlySpan<byte> data)
    {
        uint crc = Compute(data);
        return unchecked(((crc >> 15) | (crc << 17)) + 0xA282EAD8);
    }

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? (c >> 1) ^ ReflectedPolynomial : c >> 1;
            table[i] = c;
        }
        return table;
    }
}
