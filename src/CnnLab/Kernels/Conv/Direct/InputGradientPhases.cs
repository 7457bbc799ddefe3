namespace CnnLab.Kernels;

/// <summary>
/// The phases of a strided convolution's input gradient, and the padded dy plane their direct loops read. The dx pixels
/// y = ry + a·SH take the kernel rows kh with (ry + PH − kh·DH) divisible by SH, each reading dy row a + dh with
/// dh = (ry + PH − kh·DH) / SH; likewise the columns x = rx + b·SW. So within a phase (ry, rx) every tap reads dy at a fixed
/// offset from (a, b). dy is copied into planes padded by (MH, MW) zeros, Hq x Wq, so that every such read lands inside.
/// </summary>
internal sealed unsafe class InputGradientPhases
{
    private readonly Conv2dGeometry _g;
    private readonly int _mh, _mw, _hq, _readPast;

    /// <summary>Each row phase ry (of min(SH, H)): its kernel rows and their dy row offsets.</summary>
    public readonly (int Ry, int[] Kh, int[] Dh)[] RowPhases;

    /// <summary>Each column phase rx (of min(SW, W)): its kernel columns and their dy column offsets.</summary>
    public readonly (int Rx, int[] Kw, int[] Dw)[] ColumnPhases;

    /// <summary>Wq, the padded plane's row length.</summary>
    public readonly int PaddedWidth;

    /// <param name="g">One group's geometry.</param>
    /// <param name="readPast">Floats readable past the last plane (a vector loop's unused lanes).</param>
    public InputGradientPhases(in Conv2dGeometry g, int readPast)
    {
        (_g, _readPast) = (g, readPast);
        var geo = g;
        RowPhases = [.. Enumerable.Range(0, Math.Min(g.SH, g.H)).Select(ry => Phase(ry, geo.PH, geo.KH, geo.DH, geo.SH))];
        ColumnPhases = [.. Enumerable.Range(0, Math.Min(g.SW, g.W)).Select(rx => Phase(rx, geo.PW, geo.KW, geo.DW, geo.SW))];
        _mh = Math.Max(0, -RowPhases.SelectMany(r => r.Dh).DefaultIfEmpty(0).Min());
        _mw = Math.Max(0, -ColumnPhases.SelectMany(c => c.Dw).DefaultIfEmpty(0).Min());
        int lastRow = RowPhases.Max(r => Count(geo.H, r.Ry, geo.SH) - 1 + r.Dh.DefaultIfEmpty(0).Max());
        int lastColumn = ColumnPhases.Max(c => Count(geo.W, c.Rx, geo.SW) - 1 + c.Dw.DefaultIfEmpty(0).Max());
        _hq = Math.Max(_mh + g.OH, _mh + lastRow + 1);
        PaddedWidth = Math.Max(_mw + g.OW, _mw + lastColumn + 1);
    }

    /// <summary>The pixels of a side <paramref name="size"/> long in the phase starting at <paramref name="first"/>.</summary>
    public static int Count(int size, int first, int stride) => (size - first + stride - 1) / stride;

    /// <summary>Columns of column phase <paramref name="rx"/>.</summary>
    public int Columns(int rx) => Count(_g.W, rx, _g.SW);

    /// <summary>Floats of the padded dy planes (zero them once per thread: only their inside is written).</summary>
    public int PaddedLength => _g.OC * _hq * PaddedWidth + _readPast;

    /// <summary>Where tap (o, dh, dw) of phase pixel (0, 0) reads the padded planes.</summary>
    public int Offset(int o, int dh, int dw) => (o * _hq + dh + _mh) * PaddedWidth + dw + _mw;

    /// <summary>
    /// The taps of phase (kh, dh) x (kw, dw) in the order (o, kh, kw): where each reads the padded planes (<see cref="Offset"/>),
    /// and the one-group weights w [OC, C, KH, KW] packed as [⌈C / lanes⌉, taps, lanes] (zero past the last channel), so
    /// that a step over <paramref name="lanes"/> input channels reads each tap's weights side by side.
    /// </summary>
    public (int[] Offsets, float[] Weights) Taps(int[] kh, int[] dh, int[] kw, int[] dw, ReadOnlySpan<float> w, int lanes)
    {
        var g = _g;
        int taps = g.OC * kh.Length * kw.Length, blocks = (g.C + lanes - 1) / lanes;
        var offsets = new int[taps];
        var weights = new float[blocks * taps * lanes];
        int t = 0, kernel = g.KH * g.KW;
        for (int o = 0; o < g.OC; o++)
            for (int i = 0; i < kh.Length; i++)
                for (int j = 0; j < kw.Length; j++, t++)
                {
                    offsets[t] = Offset(o, dh[i], dw[j]);
                    // Channel c = b·lanes + l goes to [b, t, l]; lanes is not a constant, so no division per channel.
                    int from = (o * g.C * g.KH + kh[i]) * g.KW + kw[j];
                    for (int b = 0, c = 0; c < g.C; b++)
                    {
                        int to = (b * taps + t) * lanes;
                        for (int l = 0; l < lanes && c < g.C; l++, c++) weights[to + l] = w[from + c * kernel];
                    }
                }
        return (offsets, weights);
    }

    // The kernel taps k with (r + P − k·D) divisible by S, and the quotients.
    private static (int R, int[] Taps, int[] Offsets) Phase(int r, int pad, int kernel, int dilation, int stride)
    {
        var taps = new List<int>();
        var offsets = new List<int>();
        for (int k = 0; k < kernel; k++)
        {
            int v = r + pad - k * dilation;
            if (((v % stride) + stride) % stride != 0) continue;
            taps.Add(k);
            offsets.Add(v / stride);
        }
        return (r, [.. taps], [.. offsets]);
    }

    /// <summary>dy [OC, OH, OW] into the inside of the padded planes.</summary>
    public void CopyIn(float* dy, float* padded)
    {
        // The output's sides read once: each is a division, which the JIT does not move out of a loop.
        int oc = _g.OC, oh = _g.OH, ow = _g.OW, wq = PaddedWidth;
        float* from = dy;
        for (int o = 0; o < oc; o++)
        {
            float* to = padded + ((long)o * _hq + _mh) * wq + _mw;
            for (int oy = 0; oy < oh; oy++, from += ow, to += wq) RowCopy.Copy(from, to, ow);
        }
    }
}
