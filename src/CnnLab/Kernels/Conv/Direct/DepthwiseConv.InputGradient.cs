using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnLab.Kernels;

internal static unsafe partial class DepthwiseConv
{
    /// <summary>
    /// The input gradient as a gather, per channel c: dx[h, w] = Σ_{k, kh, kw} w[c·M + k, kh, kw] · dy_k[i, j] over the
    /// taps with h + PH = i·SH + kh·DH and w + PW = j·SW + kw·DW (the forward's scatter, turned around). For dx's row
    /// phase τh = h mod SH and column phase τw = w mod SW the contributing taps are fixed, and i = h / SH − eh,
    /// j = w / SW − ew with eh = (kh·DH − PH − τh) / SH, ew = (kw·DW − PW − τw) / SW: a stride-1 correlation of the zero-
    /// padded dy planes (dyp[a, b] = dy[a − A, b − B]) with those taps, which is <see cref="GatherRows"/>. At stride 1 it
    /// is the correlation of padded dy with the flipped kernel, written straight into dx; at SW &gt; 1 each column phase
    /// goes to a row of phases that are then interleaved into dx. Each dx sum is written once, no read-modify-write passes.
    /// </summary>
    private sealed class InputGradientPlan
    {
        /// <summary>dy's shift in its padded copy: dyp[a, b] = dy[a − Top, b − Left].</summary>
        public readonly int Top, Left;

        /// <summary>Rows of one padded dy plane, floats per row (a multiple of 16), floats per plane.</summary>
        public readonly int Rows, Row, Plane;

        /// <summary>Floats per column phase of one dx row (SW &gt; 1).</summary>
        public readonly int PhaseRow;

        /// <summary>Phase (τh·SW + τw)'s taps are [Start[p], Start[p + 1]) of <see cref="Offsets"/> and <see cref="Weights"/>.</summary>
        public readonly int[] Start, Offsets, Weights;

        public InputGradientPlan(in Conv2dGeometry g)
        {
            int phases = g.SH * g.SW, taps = g.KH * g.KW;
            int maxEh = 0, maxEw = 0, lastI = g.OH - 1, lastJ = g.OW - 1;
            var list = new List<(int Phase, int K, int Kh, int Kw, int Eh, int Ew)>();
            for (int th = 0; th < g.SH; th++)
                for (int tw = 0; tw < g.SW; tw++)
                    for (int k = 0; k < g.OCg; k++)
                        for (int kh = 0; kh < g.KH; kh++)
                            for (int kw = 0; kw < g.KW; kw++)
                            {
                                int dh = kh * g.DH - g.PH - th, dw = kw * g.DW - g.PW - tw;
                                if (Mod(dh, g.SH) != 0 || Mod(dw, g.SW) != 0) continue;
                                int eh = dh / g.SH, ew = dw / g.SW;
                                list.Add((th * g.SW + tw, k, kh, kw, eh, ew));
                                maxEh = Math.Max(maxEh, eh);
                                maxEw = Math.Max(maxEw, ew);
                                // The last dx row (column) of this phase reads dy row (g.H - 1 - th) / SH - eh.
                                lastI = Math.Max(lastI, (g.H - 1 - th) / g.SH - eh);
                                lastJ = Math.Max(lastJ, (g.W - 1 - tw) / g.SW - ew);
                            }
            Top = maxEh;
            Left = maxEw;
            Rows = Top + lastI + 1;
            Row = (Left + lastJ + 1 + 15) / 16 * 16;
            Plane = Rows * Row;
            PhaseRow = ((g.W + g.SW - 1) / g.SW + 15) / 16 * 16;
            Start = new int[phases + 1];
            Offsets = new int[list.Count];
            Weights = new int[list.Count];
            for (int i = 0; i < list.Count; i++)
            {
                var (phase, k, kh, kw, eh, ew) = list[i];
                Start[phase + 1]++;
                Offsets[i] = k * Plane + (Top - eh) * Row + Left - ew;
                Weights[i] = k * taps + kh * g.KW + kw;
            }
            for (int p = 0; p < phases; p++) Start[p + 1] += Start[p];
        }

        /// <summary>Floats of one thread's scratch: M padded dy planes and their slack, M·taps weights, SW phases per dx row.</summary>
        public int ScratchLength(in Conv2dGeometry g) =>
            g.OCg * Plane + (int)TileSlack(Row) + g.OCg * g.KH * g.KW + (g.SW > 1 ? g.H * g.SW * PhaseRow : 0);

        private static int Mod(int a, int m) => ((a % m) + m) % m;
    }

    /// <summary>
    /// dx [H, W] (+)= ∂L/∂x of one image and channel, from its M dy planes [M, OH·OW] and weights
    /// [M, KH, KW]; scratch as <see cref="InputGradientPlan.ScratchLength"/>, zeroed once (the padded planes' borders and slack).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void InputGradient(in Conv2dGeometry g, InputGradientPlan plan, int* offsets, int* weightIndex, float* dy,
        float* w, float* dx, bool overwrite, float* scratch)
    {
        int m = g.OCg, p = g.OH * g.OW;
        float* dyp = scratch, wt = scratch + m * plan.Plane + TileSlack(plan.Row), phases = wt + m * g.KH * g.KW;
        // Only the inside of each padded plane is written: its border stays as the scratch was zeroed.
        for (int k = 0; k < m; k++)
            for (int a = 0; a < g.OH; a++)
                RowCopy.Copy(dy + (long)k * p + (long)a * g.OW, dyp + (long)k * plan.Plane + (long)(plan.Top + a) * plan.Row + plan.Left, g.OW);
        int count = plan.Start[^1];
        for (int i = 0; i < count; i++) wt[i] = w[weightIndex[i]];
        for (int th = 0; th < g.SH; th++)
            for (int tw = 0; tw < g.SW; tw++)
            {
                int phase = th * g.SW + tw, first = plan.Start[phase], rows = (g.H - th + g.SH - 1) / g.SH;
                if (g.SW == 1)
                    GatherRows(dyp, plan.Row, offsets + first, wt + first, plan.Start[phase + 1] - first, 0f, false, !overwrite,
                        dx + (long)th * g.W, (long)g.SH * g.W, rows, g.W);
                else
                    GatherRows(dyp, plan.Row, offsets + first, wt + first, plan.Start[phase + 1] - first, 0f, false, false,
                        phases + ((long)th * g.SW + tw) * plan.PhaseRow, (long)g.SH * g.SW * plan.PhaseRow, rows, (g.W - tw + g.SW - 1) / g.SW);
            }
        if (g.SW == 1) return;
        for (int h = 0; h < g.H; h++)
        {
            float* row = phases + (long)h * g.SW * plan.PhaseRow, d = dx + (long)h * g.W;
            if (g.SW == 2) StrideTwoRows.Interleave(row, row + plan.PhaseRow, d, g.W, !overwrite);
            else
                for (int c = 0; c < g.W; c++)
                {
                    float v = row[(long)(c % g.SW) * plan.PhaseRow + c / g.SW];
                    d[c] = overwrite ? v : d[c] + v;
                }
        }
    }
}
