using System.Buffers;

namespace CnnLab.Kernels;

// Legend as in ConvColumns.cs; Hp = H + 2·PH, Wp = W + 2·PW the padded plane; S = SW the column stride;
// Q = ⌈Wp / S⌉ floats per phase row. Phase r of a padded row holds its columns r, r + S, r + 2S, …

/// <summary>
/// im2col and col2im for a column stride S &gt; 1 (column dilation 1) through each plane's S column phases: output
/// column ox of tap kw reads padded column ox·S + kw, which is element ox + ⌊kw / S⌋ of phase kw mod S, so every
/// row of the column matrix is a run of OW consecutive floats of one phase row: one copy (or one add) per output row,
/// where the general loop moved every other float with a mask per 16. The phases are built once per channel, from a
/// padded row, by <see cref="StrideTwoRows.Gather"/> at stride 2. The same values as the general loop; col2im sums
/// each input's terms in the same (kh, kw, oh) order, so overwriting gives its bits exactly.
/// </summary>
internal static unsafe class PhasedColumns
{
    /// <summary>Column stride above 1 and no column dilation (the stride-1 cases have their own fast paths).</summary>
    public static bool Applies(int sw, int dw) => sw > 1 && dw == 1;

    /// <summary>col[(c·KH + kh)·KW + kw, oh·OW + ow] = padded[c, oh·SH + kh·DH, ow·S + kw]; columns from OH·OW to the stride zeroed.</summary>
    public static void Im2Col(ReadOnlySpan<float> image, int c, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw, int dh,
        int oh, int ow, Span<float> col, int stride)
    {
        int hp = h + 2 * ph, wp = w + 2 * pw, q = (wp + sw - 1) / sw, phaseFloats = sw * hp * q;
        float[] phases = ArrayPool<float>.Shared.Rent(phaseFloats + wp + 16);
        phases.AsSpan(0, phaseFloats + wp + 16).Clear();   // the padding rows and columns stay zero
        fixed (float* pImage = image, pCol = col, pPhases = phases)
        {
            float* padded = pPhases + phaseFloats;
            for (int ci = 0; ci < c; ci++)
            {
                Split(pImage + (long)ci * h * w, h, w, ph, pw, sw, q, padded, pPhases);
                for (int ki = 0; ki < kh; ki++)
                    for (int kj = 0; kj < kw; kj++)
                    {
                        float* row = pCol + (long)((ci * kh + ki) * kw + kj) * stride;
                        float* source = pPhases + (long)(kj % sw) * hp * q + ki * dh * q + kj / sw;
                        for (int oy = 0; oy < oh; oy++)
                            new ReadOnlySpan<float>(source + (long)oy * sh * q, ow).CopyTo(new Span<float>(row + (long)oy * ow, ow));
                        new Span<float>(row + (long)oh * ow, stride - oh * ow).Clear();
                    }
            }
        }
        ArrayPool<float>.Shared.Return(phases);
    }

    /// <summary>
    /// The adjoint: image[c, y, x] (+)= Σ col over every (kh, kw, oh, ow) that read (y, x) (overwritten unless
    /// <paramref name="accumulate"/>).
    /// </summary>
    public static void Col2Im(ReadOnlySpan<float> col, int c, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw, int dh,
        int oh, int ow, Span<float> image, int stride, bool accumulate)
    {
        int hp = h + 2 * ph, wp = w + 2 * pw, q = (wp + sw - 1) / sw, phaseFloats = sw * hp * q;
        float[] phases = ArrayPool<float>.Shared.Rent(phaseFloats + 16);   // + 16: the merge's last vector reads may pass the end
        fixed (float* pImage = image, pCol = col, pPhases = phases)
            for (int ci = 0; ci < c; ci++)
            {
                new Span<float>(pPhases, phaseFloats).Clear();
                for (int ki = 0; ki < kh; ki++)
                    for (int kj = 0; kj < kw; kj++)
                    {
                        float* row = pCol + (long)((ci * kh + ki) * kw + kj) * stride;
                        float* target = pPhases + (long)(kj % sw) * hp * q + ki * dh * q + kj / sw;
                        for (int oy = 0; oy < oh; oy++)
                        {
                            var sum = new Span<float>(target + (long)oy * sh * q, ow);
                            TensorPrimitives.Add(sum, new ReadOnlySpan<float>(row + (long)oy * ow, ow), sum);
                        }
                    }
                Merge(pPhases, hp, q, h, w, ph, pw, sw, pImage + (long)ci * h * w, accumulate);
            }
        ArrayPool<float>.Shared.Return(phases);
    }

    // The S phases of one padded plane: each image row padded into `padded` (its borders zero), then split.
    private static void Split(float* plane, int h, int w, int ph, int pw, int sw, int q, float* padded, float* phases)
    {
        int hp = h + 2 * ph, wp = w + 2 * pw;
        for (int y = 0; y < h; y++)
        {
            new ReadOnlySpan<float>(plane + (long)y * w, w).CopyTo(new Span<float>(padded + pw, w));
            for (int r = 0; r < sw; r++)
            {
                int count = (wp - r + sw - 1) / sw;
                if (count <= 0) continue;
                float* dst = phases + ((long)r * hp + y + ph) * q;
                if (sw == 2) StrideTwoRows.Gather(new ReadOnlySpan<float>(padded + r, wp - r), new Span<float>(dst, count));
                else
                    for (int j = 0; j < count; j++) dst[j] = padded[j * sw + r];
            }
        }
    }

    // image[y, x] (+)= phase[(x + PW) mod S][y + PH][(x + PW) / S]: the phases' sums back into the plane; at S = 2 each row
    // is its two phase rows interleaved.
    private static void Merge(float* phases, int hp, int q, int h, int w, int ph, int pw, int sw, float* plane, bool accumulate)
    {
        for (int y = 0; y < h; y++)
        {
            float* dst = plane + (long)y * w;
            if (sw == 2)
            {
                // Output x reads padded column x + PW: the phase of its parity, at (x + PW) / 2.
                float* even = phases + ((long)(pw % 2) * hp + y + ph) * q + pw / 2;
                float* odd = phases + ((long)(1 - pw % 2) * hp + y + ph) * q + pw / 2 + pw % 2;
                StrideTwoRows.Interleave(even, odd, dst, w, accumulate);
                continue;
            }
            for (int x = 0; x < w; x++)
            {
                int column = x + pw;
                float v = phases[((long)(column % sw) * hp + y + ph) * q + column / sw];
                dst[x] = accumulate ? dst[x] + v : v;
            }
        }
    }
}
