namespace CnnLab.Kernels;

internal sealed unsafe partial class WinogradBlock
{
    // One image's planes of a tiny block (2x2 F(4x4, 3x3) tiles, a quarter of a vector) are only copied in: the block's
    // images are transformed 4 at a time when it is multiplied (the forward gets them all at once, the backward's dx one
    // image at a time).
    private void Stage(Buffers b, float* planes, int channels, int first, int slot)
    {
        long plane = (long)H * W;
        var staging = b.Staging!;
        for (int c = 0; c < channels; c++)
            new ReadOnlySpan<float>(planes + c * plane, (int)plane).CopyTo(staging.AsSpan((int)(((first + c) * (long)Images + slot) * plane)));
    }

    // V's channels first … first + channels − 1 of the block's count images from their staged planes.
    private void TransformStaged(Buffers b, int first, int channels, int count)
    {
        long plane = (long)H * W;
        fixed (float* staging = b.Staging)
            for (int c = first; c < first + channels; c++)
                Winograd4x4.TransformTinyInputs(staging + c * Images * plane, count, H, W, b.VStart + (long)Positions * c * Ldv, Ldv);
    }
}
