namespace CnnLab.Kernels;

// Legend: C channels, H, W image height/width, KH, KW kernel, SH, SW stride, PH, PW padding,
// DH, DW dilation, OH, OW output height/width. Column matrix: [C·KH·KW, OH·OW], row (c, kh, kw), rows
// colStride ≥ OH·OW floats apart (a stride rounded up to the GEMM's vector width keeps its fast tiles busy).

/// <summary>
/// im2col and col2im for one NCHW image: im2col lays every receptive field out as a column so that
/// a convolution becomes one matrix product (Chellapilla, Puri, Simard 2006, "High Performance
/// Convolutional Neural Networks for Document Processing"); col2im is its adjoint (the sum of
/// columns back into the image), used for the input gradient.
/// </summary>
/// <remarks>PyTorch: <c>torch.nn.functional.unfold</c> (im2col) and <c>torch.nn.functional.fold</c> (col2im).</remarks>
public static partial class ConvColumns
{
    /// <summary>
    /// col[(c·KH + kh)·KW + kw, oh·OW + ow] = image[c, oh·SH − PH + kh·DH, ow·SW − PW + kw·DW] (0 outside).
    /// Rows are <paramref name="colStride"/> apart (0: OH·OW); the columns past OH·OW are zeroed.
    /// </summary>
    public static void Im2Col(ReadOnlySpan<float> image, int c, int h, int w, int kh, int kw,
        int sh, int sw, int ph, int pw, int dh, int dw, int oh, int ow, Span<float> col, int colStride = 0)
    {
        int stride = Stride(colStride, oh, ow);
        if (CanUseFastPath(sw, dw))
        {
            CheckSizes(image.Length, c, h, w, col.Length, kh, kw, stride, oh, ow);
            // The flat im2col writes every row whole, the last one too.
            if (CanUseFlatPath(sh, dh, w, ow) && (long)c * kh * kw * stride <= col.Length)
                Im2ColFlat(image, c, h, w, kh, kw, ph, pw, oh, col, stride);
            else Im2ColStride1(image, c, h, w, kh, kw, sh, ph, pw, dh, oh, ow, col, stride);
            return;
        }
        if (PhasedColumns.Applies(sw, dw))
        {
            CheckSizes(image.Length, c, h, w, col.Length, kh, kw, stride, oh, ow);
            long whole = (long)c * kh * kw * stride;
            if (whole > col.Length) throw new ArgumentException($"column matrix has {col.Length} elements, needs {whole}");
            PhasedColumns.Im2Col(image, c, h, w, kh, kw, sh, sw, ph, pw, dh, oh, ow, col, stride);
            return;
        }
        Im2ColGeneral(image, c, h, w, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, col, stride);
    }

    /// <summary><see cref="Im2Col"/> by the general loop: the readable form every fast path is tested against.</summary>
    internal static void Im2ColGeneral(ReadOnlySpan<float> image, int c, int h, int w, int kh, int kw,
        int sh, int sw, int ph, int pw, int dh, int dw, int oh, int ow, Span<float> col, int colStride = 0)
    {
        int stride = Stride(colStride, oh, ow);
        for (int ci = 0; ci < c; ci++)
        {
            var plane = image.Slice(ci * h * w, h * w);
            for (int ki = 0; ki < kh; ki++)
                for (int kj = 0; kj < kw; kj++)
                {
                    var row = col.Slice(((ci * kh + ki) * kw + kj) * stride, oh * ow);
                    if (stride > oh * ow) col.Slice(((ci * kh + ki) * kw + kj) * stride + oh * ow, stride - oh * ow).Clear();
                    int dx = kj * dw - pw;
                    // Output columns whose input x = ox·SW + dx falls inside [0, w): computed once per kernel tap.
                    int oxLo = dx >= 0 ? 0 : Math.Min(ow, (-dx + sw - 1) / sw);
                    int oxHi = w - dx <= 0 ? 0 : Math.Min(ow, (w - dx - 1) / sw + 1);
                    if (oxHi < oxLo) oxHi = oxLo;
                    for (int oy = 0; oy < oh; oy++)
                    {
                        int y = oy * sh - ph + ki * dh;
                        var dst = row.Slice(oy * ow, ow);
                        if ((uint)y >= (uint)h)
                        {
                            dst.Clear();
                            continue;
                        }
                        var src = plane.Slice(y * w, w);
                        dst[..oxLo].Clear();
                        if (sw == 1)
                        {
                            // oxLo == oxHi (no tap inside) would slice past the row: skip.
                            if (oxHi > oxLo) src.Slice(oxLo + dx, oxHi - oxLo).CopyTo(dst[oxLo..oxHi]);
                        }
                        else if (sw == 2)
                        {
                            if (oxHi > oxLo) StrideTwoRows.Gather(src[(oxLo * 2 + dx)..], dst[oxLo..oxHi]);
                        }
                        else
                            for (int ox = oxLo; ox < oxHi; ox++) dst[ox] = src[ox * sw + dx];
                        dst[oxHi..].Clear();
                    }
                }
        }
    }

    /// <summary>
    /// The adjoint of <see cref="Im2Col"/>: image[c, y, x] += Σ col over every (kh, kw, oh, ow) that read (y, x).
    /// With <paramref name="accumulate"/> false the image is overwritten instead (what was there is never
    /// read, so a gradient buffer need not be zeroed first); the values are those of adding to a zeroed image.
    /// </summary>
    public static void Col2Im(ReadOnlySpan<float> col, int c, int h, int w, int kh, int kw,
        int sh, int sw, int ph, int pw, int dh, int dw, int oh, int ow, Span<float> image, int colStride = 0, bool accumulate = true)
    {
        int stride = Stride(colStride, oh, ow);
        if (CanUseFastPath(sw, dw))
        {
            CheckSizes(image.Length, c, h, w, col.Length, kh, kw, stride, oh, ow);
            if (CanUseFlatPath(sh, dh, w, ow)) Col2ImFlat(col, c, h, w, kh, kw, ph, pw, oh, image, stride, accumulate);
            else Col2ImStride1(col, c, h, w, kh, kw, sh, ph, pw, dh, oh, ow, image, stride, accumulate);
            return;
        }
        if (kh == 1 && kw == 1 && sw == 2 && ph == 0 && pw == 0 && StrideTwoRows.MapsPointwise(h, w, sh, oh, ow))
        {
            CheckSizes(image.Length, c, h, w, col.Length, kh, kw, stride, oh, ow);
            StrideTwoRows.Col2ImPointwise(col, c, h, w, sh, oh, ow, image, stride, accumulate);
            return;
        }
        if (PhasedColumns.Applies(sw, dw))
        {
            CheckSizes(image.Length, c, h, w, col.Length, kh, kw, stride, oh, ow);
            PhasedColumns.Col2Im(col, c, h, w, kh, kw, sh, sw, ph, pw, dh, oh, ow, image, stride, accumulate);
            return;
        }
        Col2ImGeneral(col, c, h, w, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, image, stride, accumulate);
    }

    /// <summary><see cref="Col2Im"/> by the general loop: the readable form every fast path is tested against.</summary>
    internal static void Col2ImGeneral(ReadOnlySpan<float> col, int c, int h, int w, int kh, int kw,
        int sh, int sw, int ph, int pw, int dh, int dw, int oh, int ow, Span<float> image, int colStride = 0, bool accumulate = true)
    {
        int stride = Stride(colStride, oh, ow);
        if (!accumulate) image[..(c * h * w)].Clear();
        for (int ci = 0; ci < c; ci++)
        {
            var plane = image.Slice(ci * h * w, h * w);
            for (int ki = 0; ki < kh; ki++)
                for (int kj = 0; kj < kw; kj++)
                {
                    var row = col.Slice(((ci * kh + ki) * kw + kj) * stride, oh * ow);
                    int dx = kj * dw - pw;
                    int oxLo = dx >= 0 ? 0 : Math.Min(ow, (-dx + sw - 1) / sw);
                    int oxHi = w - dx <= 0 ? 0 : Math.Min(ow, (w - dx - 1) / sw + 1);
                    if (oxHi <= oxLo) continue;
                    for (int oy = 0; oy < oh; oy++)
                    {
                        int y = oy * sh - ph + ki * dh;
                        if ((uint)y >= (uint)h) continue;
                        var src = row.Slice(oy * ow, ow);
                        var dst = plane.Slice(y * w, w);
                        if (sw == 1)
                        {
                            var d = dst.Slice(oxLo + dx, oxHi - oxLo);
                            TensorPrimitives.Add(d, src[oxLo..oxHi], d);
                        }
                        else if (sw == 2) StrideTwoRows.ScatterAdd(src[oxLo..oxHi], dst[(oxLo * 2 + dx)..]);
                        else
                            for (int ox = oxLo; ox < oxHi; ox++) dst[ox * sw + dx] += src[ox];
                    }
                }
        }
    }

    // The fast path works on raw pointers, so it checks up front what the general loop's slices check as they go.
    private static void CheckSizes(int imageLength, int c, int h, int w, int colLength, int kh, int kw, int stride, int oh, int ow)
    {
        if (imageLength < c * h * w) throw new ArgumentException($"image has {imageLength} elements, needs {c}x{h}x{w}");
        long needed = (long)(c * kh * kw - 1) * stride + oh * ow;
        if (colLength < needed) throw new ArgumentException($"column matrix has {colLength} elements, needs {needed}");
    }

    private static int Stride(int colStride, int oh, int ow)
    {
        if (colStride == 0) return oh * ow;
        if (colStride < oh * ow) throw new ArgumentOutOfRangeException(nameof(colStride), colStride,
            $"column stride must be at least OH·OW = {oh * ow}");
        return colStride;
    }
}
