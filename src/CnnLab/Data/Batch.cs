using CnnLab.Tensors;

namespace CnnLab.Data;

/// <summary>
/// One mini-batch from a <see cref="DataLoader"/>: images <see cref="X"/> [B, C, H, W] (normalized
/// float32) and labels <see cref="Y"/> [B]. The loader reuses a ring of three batch buffers: a
/// batch stays valid until the next-but-one batch is requested (you may keep the current and the
/// previous one); copy it (<c>X.Clone()</c>, <c>Y.ToArray()</c>) to keep it longer.
/// </summary>
/// <remarks>PyTorch: the <c>(images, labels)</c> pair a <c>DataLoader</c> yields.</remarks>
public sealed class Batch
{
    internal Batch(Tensor x, int[] y)
    {
        X = x;
        Y = y;
    }

    /// <summary>Images [B, C, H, W].</summary>
    public Tensor X { get; }

    /// <summary>Labels, one per image.</summary>
    public int[] Y { get; }

    /// <summary>Number of images B (smaller than the batch size for a last, partial batch).</summary>
    public int Size => Y.Length;

    /// <summary>The epoch this batch belongs to.</summary>
    public int Epoch { get; internal set; }

    /// <summary>The batch's position in its epoch (0-based).</summary>
    public int Index { get; internal set; }

    /// <summary>The dataset indices of the images, in batch order (valid as long as the batch).</summary>
    public ReadOnlyMemory<int> Indices { get; internal set; }

    public void Deconstruct(out Tensor x, out int[] y)
    {
        x = X;
        y = Y;
    }
}
