namespace CnnLab.Kernels;

// Legend: N batch, C input channels, H, W input height/width, OC output channels, KH, KW kernel,
// SH, SW stride, PH, PW zero padding, DH, DW dilation, G groups, OH, OW output height/width.

/// <summary>
/// The sizes of one 2-D convolution, NCHW. Output size as PyTorch:
/// OH = ⌊(H + 2·PH − DH·(KH − 1) − 1) / SH⌋ + 1 (likewise OW). Callers validate; this only computes.
/// </summary>
/// <remarks>PyTorch: the shape rule of <c>torch.nn.functional.conv2d</c>.</remarks>
public readonly record struct Conv2dGeometry(
    int N, int C, int H, int W, int OC, int KH, int KW,
    int SH = 1, int SW = 1, int PH = 0, int PW = 0, int DH = 1, int DW = 1, int G = 1)
{
    /// <summary>Output height.</summary>
    public int OH => (H + 2 * PH - DH * (KH - 1) - 1) / SH + 1;

    /// <summary>Output width.</summary>
    public int OW => (W + 2 * PW - DW * (KW - 1) - 1) / SW + 1;

    /// <summary>Input channels per group, C / G.</summary>
    public int Cg => C / G;

    /// <summary>Output channels per group, OC / G.</summary>
    public int OCg => OC / G;

    /// <summary>Rows of one group's column matrix: Cg·KH·KW.</summary>
    public int ColRows => Cg * KH * KW;

    /// <summary>Columns of the column matrix: OH·OW, one per output pixel.</summary>
    public int ColCols => OH * OW;

    /// <summary>True when the column matrix of a group is the input itself (1x1 kernel, stride 1, no padding).</summary>
    public bool IsPointwise => KH == 1 && KW == 1 && SH == 1 && SW == 1 && PH == 0 && PW == 0;

    /// <summary>Multiply-adds ×2 of the forward pass: 2·N·OC·OH·OW·Cg·KH·KW.</summary>
    public double Flops => 2.0 * N * OC * OH * OW * Cg * KH * KW;
}
