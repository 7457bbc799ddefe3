using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

// Legend as in Conv2dKernel.cs; a phase (ry, rx): the dx pixels y = ry + a·SH, x = rx + b·SW (A rows, B columns of them);
// dy is copied into a plane padded by (MH, MW) zeros, Hq x Wq, so that every read lands inside it.

/// <summary>
/// The input gradient of a strided convolution computed directly, 16 input channels per vector:
/// dx[c, y, x] = Σ_{o, kh, kw} w[o, c, kh, kw] · dy[o, (y + PH − kh·DH)/SH, (x + PW − kw·DW)/SW] over the taps whose
/// divisions are exact. Which taps those are depends only on y mod SH and x mod SW, so the pixels of one phase share a
/// tap list, and within a phase tap (o, kh, kw) of pixel (a, b) reads dy at a fixed offset from (a, b): the forward's
/// channel-blocked loop (<see cref="ChannelBlockedConv"/>) runs on dy with the roles of channels swapped. At stride 2
/// im2col's route multiplies into a column matrix whose sum runs over only the output channels, then adds it back
/// through col2im. Each phase's 16 or 32 channels are computed into a scratch and its rows merged into dx (at stride 2 in x,
/// two phase rows interleaved, <see cref="StrideTwoRows.Interleave"/>). Each dx is one sum per phase in tap order
/// (o, kh, kw): within rounding of <see cref="Conv2dReference"/>, the same bits for any thread count.
/// </summary>
internal sealed unsafe class ChannelBlockedInputGradient
{
    private const int Lanes = ChannelBlockedConv.Lanes, Block = 8;

    /// <summary>Input channels per group that fill whole vectors, and AVX-512.</summary>
    public static bool Supports(in Conv2dGeometry g) => Avx512F.IsSupported && g.Cg % Lanes == 0;

    /// <summary>
    /// One per group: group k's dx channels take only its dy channels and weights, so each is the one-group problem on
    /// the slices (C = Cg, OC = OCg, the weights [OCg, Cg, KH, KW] from k·OCg on).
    /// </summary>
    public static ChannelBlockedInputGradient[] PerGroup(in Conv2dGeometry g, ReadOnlySpan<float> w)
    {
        var one = g with { C = g.Cg, OC = g.OCg, G = 1 };
        int length = g.OCg * g.ColRows;
        var groups = new ChannelBlockedInputGradient[g.G];
        for (int k = 0; k < g.G; k++) groups[k] = new ChannelBlockedInputGradient(one, w.Slice(k * length, length));
        return groups;
    }

    private sealed record Phase(int Rows, int Columns, int[] Pixels, int[] Taps, float[] Weights);

    private readonly Conv2dGeometry _g;
    private readonly int _mh, _mw, _hq, _wq;
    private readonly List<Phase> _phases = [];
    private readonly int _phaseColumns;
    private readonly long[] _phaseStart;   // where each phase's [32, P] region starts in the phase scratch

    public ChannelBlockedInputGradient(in Conv2dGeometry g, ReadOnlySpan<float> w)
    {
        if (!Supports(g) || g.G != 1) throw new ArgumentException($"the channel-blocked input gradient does not take {g}");
        _g = g;
        var geo = g;
        // Each phase's kernel rows and columns, with dy's row (column) offset for them: dh = (ry + PH − kh·DH) / SH.
        var rows = new List<(int Ry, int[] Kh, int[] Dh)>();
        for (int ry = 0; ry < Math.Min(g.SH, g.H); ry++)
        {
            var (kh, dh) = Offsets(ry, g.PH, g.KH, g.DH, g.SH);
            rows.Add((ry, kh, dh));
        }
        var columns = new List<(int Rx, int[] Kw, int[] Dw)>();
        for (int rx = 0; rx < Math.Min(g.SW, g.W); rx++)
        {
            var (kw, dw) = Offsets(rx, g.PW, g.KW, g.DW, g.SW);
            columns.Add((rx, kw, dw));
        }
        _mh = Math.Max(0, -rows.SelectMany(r => r.Dh).DefaultIfEmpty(0).Min());
        _mw = Math.Max(0, -columns.SelectMany(c => c.Dw).DefaultIfEmpty(0).Min());
        int lastRow = rows.Max(r => Count(geo.H, r.Ry, geo.SH) - 1 + r.Dh.DefaultIfEmpty(0).Max());
        int lastColumn = columns.Max(c => Count(geo.W, c.Rx, geo.SW) - 1 + c.Dw.DefaultIfEmpty(0).Max());
        _hq = Math.Max(_mh + g.OH, _mh + lastRow + 1);
        _wq = Math.Max(_mw + g.OW, _mw + lastColumn + 1);
        foreach (var (ry, kh, dh) in rows)
            foreach (var (rx, kw, dw) in columns)
                _phases.Add(MakePhase(ry, rx, kh, dh, kw, dw, w));
        _phaseColumns = columns.Count;
        _phaseStart = new long[_phases.Count];
        for (int i = 1; i < _phases.Count; i++) _phaseStart[i] = _phaseStart[i - 1] + (long)2 * Lanes * LaneStride(_phases[i - 1]);
    }

    /// <summary>Floats of the padded dy plane set (zero it once per thread: only its inside is written).</summary>
    public int PaddedLength => _g.OC * _hq * _wq;

    private static int Count(int size, int first, int stride) => (size - first + stride - 1) / stride;

    // The kernel taps k with (r + P − k·D) divisible by S, and the quotients.
    private static (int[] Taps, int[] Offsets) Offsets(int r, int pad, int kernel, int dilation, int stride)
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
        return ([.. taps], [.. offsets]);
    }

    private Phase MakePhase(int ry, int rx, int[] kh, int[] dh, int[] kw, int[] dw, ReadOnlySpan<float> w)
    {
        var g = _g;
        int rowsOut = Count(g.H, ry, g.SH), columnsOut = Count(g.W, rx, g.SW), p = rowsOut * columnsOut;
        var pixels = new int[(p + Block - 1) / Block * Block];
        for (int i = 0; i < pixels.Length; i++)
        {
            int pixel = Math.Min(i, p - 1);
            pixels[i] = pixel / columnsOut * _wq + pixel % columnsOut;
        }
        int taps = g.OC * kh.Length * kw.Length;
        var offsets = new int[taps];
        var weights = new float[g.C / Lanes * taps * Lanes];
        int t = 0;
        for (int o = 0; o < g.OC; o++)
            for (int i = 0; i < kh.Length; i++)
                for (int j = 0; j < kw.Length; j++, t++)
                {
                    offsets[t] = (o * _hq + dh[i] + _mh) * _wq + dw[j] + _mw;
                    for (int c = 0; c < g.C; c++)
                        weights[((c / Lanes) * taps + t) * Lanes + c % Lanes] = w[((o * g.C + c) * g.KH + kh[i]) * g.KW + kw[j]];
                }
        return new Phase(rowsOut, columnsOut, pixels, offsets, weights);
    }

    /// <summary>
    /// dx [C, H, W] of one image (overwritten, or added to with <paramref name="accumulate"/>) from its dy [OC, OH·OW].
    /// <paramref name="padded"/>: <see cref="PaddedLength"/> floats, zeroed once; <paramref name="phaseOut"/>: <see cref="PhaseOutLength"/>.
    /// </summary>
    public void Image(float* dy, float* dx, bool accumulate, float* padded, float* phaseOut)
    {
        var g = _g;
        for (int o = 0; o < g.OC; o++)
            for (int oy = 0; oy < g.OH; oy++)
                new ReadOnlySpan<float>(dy + ((long)o * g.OH + oy) * g.OW, g.OW)
                    .CopyTo(new Span<float>(padded + ((long)o * _hq + oy + _mh) * _wq + _mw, g.OW));
        for (int c0 = 0; c0 < g.C;)
        {
            // Every phase's 16 or 32 channels into its own region, [32, P] each, then the rows of dx from them.
            int width = ChannelBlockedConv.StepWidth(c0, g.C);
            for (int i = 0; i < _phases.Count; i++)
            {
                var phase = _phases[i];
                int p = phase.Rows * phase.Columns, taps = phase.Taps.Length;
                fixed (int* pixels = phase.Pixels, offsets = phase.Taps)
                fixed (float* weights = phase.Weights)
                    ChannelBlockedConv.ForwardPixels(padded, pixels, offsets, weights + (long)c0 * taps, taps, null, false,
                        phaseOut + _phaseStart[i], LaneStride(phase), 0, p, width);
            }
            for (int lane = 0; lane < width; lane++)
                for (int y = 0; y < g.H; y++)
                    MergeRow(phaseOut, lane, y, dx + ((long)(c0 + lane) * g.H + y) * g.W, accumulate);
            c0 += width;
        }
    }

    /// <summary>Floats of <see cref="Image"/>'s phase scratch: 32 rows of every phase's pixels.</summary>
    public int PhaseOutLength => 2 * Lanes * _phases.Sum(LaneStride) + 16;

    // A channel's row of a phase region: its pixels, and 16 floats more where rows P apart would alias in L1
    // (ChannelBlockedConv.RowsAlias).
    private static int LaneStride(Phase phase)
    {
        int p = phase.Rows * phase.Columns;
        return ChannelBlockedConv.RowsAlias(p) ? p + 16 : p;
    }

    // dx row y of one channel from the phases of y mod SH: at stride 2 in x the two phase rows interleaved, else element by element.
    private void MergeRow(float* phaseOut, int lane, int y, float* row, bool accumulate)
    {
        var g = _g;
        int ry = y % g.SH, a = y / g.SH;
        if (g.SW == 2 && g.W >= 2)
        {
            StrideTwoRows.Interleave(PhaseRow(phaseOut, lane, ry, 0, a), PhaseRow(phaseOut, lane, ry, 1, a), row, g.W, accumulate);
            return;
        }
        for (int rx = 0; rx < Math.Min(g.SW, g.W); rx++)
        {
            float* from = PhaseRow(phaseOut, lane, ry, rx, a);
            for (int x = rx, b = 0; x < g.W; x += g.SW, b++) row[x] = accumulate ? row[x] + from[b] : from[b];
        }
    }

    // Row a of phase (ry, rx)'s channel `lane` in the phase scratch.
    private float* PhaseRow(float* phaseOut, int lane, int ry, int rx, int a)
    {
        var phase = _phases[ry * _phaseColumns + rx];
        return phaseOut + _phaseStart[ry * _phaseColumns + rx] + (long)lane * LaneStride(phase) + (long)a * phase.Columns;
    }
}
