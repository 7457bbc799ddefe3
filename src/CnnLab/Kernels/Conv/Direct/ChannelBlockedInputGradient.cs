using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

// Legend as in Conv2dKernel.cs; a phase (ry, rx): the dx pixels y = ry + a·SH, x = rx + b·SW (A rows, B columns of them);
// dy is copied into planes padded by zeros so that every read lands inside them (InputGradientPhases).

/// <summary>
/// The input gradient of a strided convolution computed directly, 16 input channels per vector:
/// dx[c, y, x] = Σ_{o, kh, kw} w[o, c, kh, kw] · dy[o, (y + PH − kh·DH)/SH, (x + PW − kw·DW)/SW] over the taps whose
/// divisions are exact. Which taps those are depends only on y mod SH and x mod SW, so the pixels of one phase share a
/// tap list, and within a phase tap (o, kh, kw) of pixel (a, b) reads dy at a fixed offset from (a, b): the forward's
/// channel-blocked loop (<see cref="ChannelBlockedConv"/>) runs on dy with the roles of channels swapped. At stride 2
/// im2col's route multiplies into a column matrix whose sum runs over only the output channels, then adds it back
/// through col2im. Each phase's 16 or 32 channels are computed into a scratch and its rows merged into dx (at stride 2 in x,
/// two phase rows interleaved, <see cref="StrideTwoRows.InterleaveRows"/>). Each dx is one sum per phase in tap order
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
    private readonly InputGradientPhases _layout;
    private readonly List<Phase> _phases = [];
    private readonly int _phaseColumns;
    private readonly long[] _phaseStart;   // where each phase's [32, P] region starts in the phase scratch
    private readonly long _asks;           // taps the phases' blocks of pixels run: one ask of the dx stream each

    public ChannelBlockedInputGradient(in Conv2dGeometry g, ReadOnlySpan<float> w)
    {
        if (!Supports(g) || g.G != 1) throw new ArgumentException($"the channel-blocked input gradient does not take {g}");
        _g = g;
        _layout = new InputGradientPhases(g, readPast: 0);
        foreach (var (ry, kh, dh) in _layout.RowPhases)
            foreach (var (rx, kw, dw) in _layout.ColumnPhases)
                _phases.Add(MakePhase(ry, rx, kh, dh, kw, dw, w));
        _phaseColumns = _layout.ColumnPhases.Length;
        _asks = _phases.Sum(Asks);
        _phaseStart = new long[_phases.Count];
        for (int i = 1; i < _phases.Count; i++) _phaseStart[i] = _phaseStart[i - 1] + (long)2 * Lanes * LaneStride(_phases[i - 1]);
    }

    /// <summary>Floats of the padded dy plane set (zero it once per thread: only its inside is written).</summary>
    public int PaddedLength => _layout.PaddedLength;

    private Phase MakePhase(int ry, int rx, int[] kh, int[] dh, int[] kw, int[] dw, ReadOnlySpan<float> w)
    {
        var g = _g;
        int rowsOut = InputGradientPhases.Count(g.H, ry, g.SH), columnsOut = InputGradientPhases.Count(g.W, rx, g.SW);
        int p = rowsOut * columnsOut;
        var pixels = new int[(p + Block - 1) / Block * Block];
        for (int i = 0; i < pixels.Length; i++)
        {
            int pixel = Math.Min(i, p - 1);
            pixels[i] = pixel / columnsOut * _layout.PaddedWidth + pixel % columnsOut;
        }
        var (offsets, weights) = _layout.Taps(kh, dh, kw, dw, w, Lanes);
        return new Phase(rowsOut, columnsOut, pixels, offsets, weights);
    }

    /// <summary>
    /// dx [C, H, W] of one image (overwritten, or added to with <paramref name="accumulate"/>) from its dy [OC, OH·OW].
    /// <paramref name="padded"/>: <see cref="PaddedLength"/> floats, zeroed once; <paramref name="phaseOut"/>: <see cref="PhaseOutLength"/>.
    /// </summary>
    public void Image(float* dy, float* dx, bool accumulate, float* padded, float* phaseOut)
    {
        var g = _g;
        _layout.CopyIn(dy, padded);
        for (int c0 = 0; c0 < g.C;)
        {
            // Every phase's 16 or 32 channels into its own region, [32, P] each, then the rows of dx from them.
            int width = ChannelBlockedConv.StepWidth(c0, g.C);
            // The dx channels the merges below write, asked for a line a tap while the phases run: dx is a fresh buffer, and
            // a store to a line not in cache first waits for it.
            var ahead = PrefetchStream.Over(dx + (long)c0 * g.H * g.W, (long)width * g.H * g.W, _asks);
            for (int i = 0; i < _phases.Count; i++)
            {
                var phase = _phases[i];
                int p = phase.Rows * phase.Columns, taps = phase.Taps.Length;
                fixed (int* pixels = phase.Pixels, offsets = phase.Taps)
                fixed (float* weights = phase.Weights)
                    ChannelBlockedConv.ForwardPixels(padded, pixels, offsets, weights + (long)c0 * taps, taps, null, false,
                        phaseOut + _phaseStart[i], LaneStride(phase), 0, p, width, ahead);
                ahead = ahead.After(Asks(phase));
            }
            for (int lane = 0; lane < width; lane++)
                for (int ry = 0; ry < _layout.RowPhases.Length; ry++)
                    MergeRows(phaseOut, lane, ry, dx + (long)(c0 + lane) * g.H * g.W, accumulate);
            c0 += width;
        }
    }

    // The asks a phase's run makes of the dx stream: one a tap for each block of pixels.
    private static long Asks(Phase phase) => (long)(phase.Rows * phase.Columns + Block - 1) / Block * phase.Taps.Length;

    /// <summary>Floats of <see cref="Image"/>'s phase scratch: 32 rows of every phase's pixels.</summary>
    public int PhaseOutLength => 2 * Lanes * _phases.Sum(LaneStride) + 16;

    // A channel's row of a phase region: its pixels, and 16 floats more where rows P apart would alias in L1
    // (ChannelBlockedConv.RowsAlias).
    private static int LaneStride(Phase phase)
    {
        int p = phase.Rows * phase.Columns;
        return ChannelBlockedConv.RowsAlias(p) ? p + 16 : p;
    }

    // The dx rows y ≡ ry (mod SH) of one channel plane from its row phase's column phases: at stride 2 in x the two phase rows
    // interleaved, else element by element. The phases' rows are found once per plane, not per row.
    private void MergeRows(float* phaseOut, int lane, int ry, float* plane, bool accumulate)
    {
        var g = _g;
        int rows = InputGradientPhases.Count(g.H, ry, g.SH);
        long step = (long)g.SH * g.W;
        float* row = plane + (long)ry * g.W;
        if (g.SW == 2 && g.W >= 2)
        {
            float* even = PhaseRow(phaseOut, lane, ry, 0, 0), odd = PhaseRow(phaseOut, lane, ry, 1, 0);
            int evenColumns = _phases[ry * _phaseColumns].Columns, oddColumns = _phases[ry * _phaseColumns + 1].Columns;
            StrideTwoRows.InterleaveRows(even, evenColumns, odd, oddColumns, row, step, rows, g.W, accumulate);
            return;
        }
        for (int rx = 0; rx < _phaseColumns; rx++)
        {
            float* from = PhaseRow(phaseOut, lane, ry, rx, 0);
            int columns = _phases[ry * _phaseColumns + rx].Columns;
            float* at = row;
            for (int a = 0; a < rows; a++, at += step, from += columns)
                for (int x = rx, b = 0; x < g.W; x += g.SW, b++) at[x] = accumulate ? at[x] + from[b] : from[b];
        }
    }

    // Row a of phase (ry, rx)'s channel `lane` in the phase scratch.
    private float* PhaseRow(float* phaseOut, int lane, int ry, int rx, int a)
    {
        var phase = _phases[ry * _phaseColumns + rx];
        return phaseOut + _phaseStart[ry * _phaseColumns + rx] + (long)lane * LaneStride(phase) + (long)a * phase.Columns;
    }
}
