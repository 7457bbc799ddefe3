namespace CnnLab.Kernels;

// Legend: N batch, C channels, H, W input height/width, KH, KW window, SH, SW stride,
// PH, PW padding, DH, DW dilation, OH, OW output height/width.

/// <summary>
/// The sizes of a 2-D pooling, NCHW, with PyTorch's output-size rule:
/// O = ⌊(I + 2·P − D·(K − 1) − 1 + (ceil ? S − 1 : 0)) / S⌋ + 1, and in ceil mode O is reduced by one
/// when the last window would start past the input and its left padding ((O − 1)·S ≥ I + P).
/// </summary>
/// <remarks>PyTorch: <c>pooling_output_shape</c> in ATen's Pool.h.</remarks>
public readonly record struct Pool2dGeometry(
    int N, int C, int H, int W, int KH, int KW, int SH, int SW,
    int PH = 0, int PW = 0, int DH = 1, int DW = 1, bool CeilMode = false)
{
    /// <summary>Output height.</summary>
    public int OH => OutputSize(H, KH, PH, SH, DH, CeilMode);

    /// <summary>Output width.</summary>
    public int OW => OutputSize(W, KW, PW, SW, DW, CeilMode);

    /// <summary>PyTorch's pooling output size along one axis (may be ≤ 0 for too-small inputs; callers reject that).</summary>
    public static int OutputSize(int input, int kernel, int pad, int stride, int dilation, bool ceilMode)
    {
        long numerator = (long)input + 2L * pad - (long)dilation * (kernel - 1) - 1 + (ceilMode ? stride - 1 : 0);
        long o = (long)Math.Floor((double)numerator / stride) + 1;
        // The last window must start inside the input or the left padding.
        if (ceilMode && (o - 1) * stride >= input + pad) o--;
        return (int)o;
    }
}
