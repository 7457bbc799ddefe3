using CnnLab.Kernels;
using CnnLab.Nn;
using CnnLab.Nn.Models;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// Functional.Conv2dRelu and Sequential's Conv2d → ReLU fusion give the same bits as the two ops run
/// one after the other, forward and backward (dx, dW, db), for any thread count, and stand aside when a
/// hook must see the convolution's own output.
/// </summary>
public class ConvReluFusionTests
{
    // x, w, b as leaves that require gradients, shaped for the geometry.
    private static (Tensor X, Tensor W, Tensor B) Leaves(Conv2dGeometry g, float[] x0, float[] w0, float[] b0) =>
        (Tensor.FromArray(x0, g.N, g.C, g.H, g.W).RequiresGrad_(), Tensor.FromArray(w0, g.OC, g.C / g.G, g.KH, g.KW).RequiresGrad_(),
         Tensor.FromArray(b0, g.OC).RequiresGrad_());

    private static (float[] Y, float[] Dx, float[] Dw, float[] Db) Results(Tensor y, Tensor x, Tensor w, Tensor b) =>
        (y.Data.ToArray(), x.Grad!.Data.ToArray(), w.Grad!.Data.ToArray(), b.Grad!.Data.ToArray());

    private static (float[] Y, float[] Dx, float[] Dw, float[] Db) Run(bool fused, Conv2dGeometry g, float[] x0, float[] w0, float[] b0,
        float[] upstream)
    {
        var (x, w, b) = Leaves(g, x0, w0, b0);
        Pair s = (g.SH, g.SW), p = (g.PH, g.PW), d = (g.DH, g.DW);
        var y = fused ? Functional.Conv2dRelu(x, w, b, s, p, d, g.G) : Functional.Relu(Functional.Conv2d(x, w, b, s, p, d, g.G));
        y.Backward(Tensor.FromArray(upstream, y.Shape));
        return Results(y, x, w, b);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void FusedEqualsReluOfConvBitForBit(int threads)
    {
        var r = new Generator(11);
        using var threadCount = ThreadCount.Use(threads);
        Conv2dGeometry[] cases =
        [
            new(5, 3, 9, 11, 4, 3, 3, 1, 1, 1, 1),
            new(4, 1, 28, 28, 8, 3, 3, 1, 1, 1, 1),
            new(3, 4, 10, 7, 6, 3, 2, 2, 1, 0, 1, 1, 2, 2),
            new(2, 6, 8, 8, 6, 1, 1),
        ];
        foreach (var g in cases)
        {
            var x = new float[g.N * g.C * g.H * g.W]; r.FillNormal(x, 0, 1);
            var w = new float[g.OC * g.ColRows]; r.FillNormal(w, 0, 0.5f);
            var b = new float[g.OC]; r.FillNormal(b, 0, 0.5f);
            x[3] = float.NaN;                      // NaN stays NaN through both
            var up = new float[g.N * g.OC * g.OH * g.OW]; r.FillNormal(up, 0, 1);
            var plain = Run(false, g, x, w, b, up);
            var fused = Run(true, g, x, w, b, up);
            Assert.Equal(plain.Y, fused.Y);
            Assert.Equal(plain.Dx, fused.Dx);
            Assert.Equal(plain.Dw, fused.Dw);
            Assert.Equal(plain.Db, fused.Db);
            Assert.Contains(fused.Y, float.IsNaN);
            Assert.Contains(fused.Y, v => v == 0f);   // the ReLU did cut something
        }
    }

    private static (float[] Y, float[] Dx, float[] Dw, float[] Db) RunPool(bool fused, Conv2dGeometry g, Pool2dGeometry pg, float[] x0,
        float[] w0, float[] b0, Generator r)
    {
        var (x, w, b) = Leaves(g, x0, w0, b0);
        Pair s = (g.SH, g.SW), p = (g.PH, g.PW), d = (g.DH, g.DW);
        Pair pk = (pg.KH, pg.KW), ps = (pg.SH, pg.SW), pp = (pg.PH, pg.PW), pd = (pg.DH, pg.DW);
        var y = fused ? Functional.Conv2dReluMaxPool2d(x, w, b, s, p, d, g.G, pk, ps, pp, pd, pg.CeilMode)
            : Functional.MaxPool2d(Functional.Relu(Functional.Conv2d(x, w, b, s, p, d, g.G)), pk, ps, pp, pd, pg.CeilMode);
        var up = new float[y.Numel];
        r.FillNormal(up, 0, 1);
        y.Backward(Tensor.FromArray(up, y.Shape));
        return Results(y, x, w, b);
    }

    // Dilation 2 in phases and a 2x2 pool over them: one group on 6x8 phases, two groups of 16 on 16x16 phases, a single image.
    internal static readonly Conv2dGeometry[] DilatedPhaseShapes =
    [
        new(2, 32, 12, 16, 32, 3, 3, 1, 1, 2, 2, 2, 2),
        new(2, 32, 32, 32, 32, 3, 3, 1, 1, 2, 2, 2, 2, 2),
        new(1, 32, 12, 14, 32, 3, 3, 1, 1, 2, 2, 2, 2),
    ];

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void ConvReluMaxPoolEqualsTheThreeOpsBitForBit(int threads)
    {
        var r = new Generator(13);
        using var threadCount = ThreadCount.Use(threads);
        (Conv2dGeometry Conv, (int K, int S, int P, int D, bool Ceil) Pool)[] cases =
        [
            (new(5, 1, 28, 28, 8, 3, 3, 1, 1, 1, 1), (2, 2, 0, 1, false)),     // cnn-small's first stage
            (new(4, 3, 14, 14, 6, 3, 3, 1, 1, 1, 1), (3, 2, 1, 1, false)),     // overlapping windows share maxima
            (new(3, 4, 11, 9, 6, 3, 2, 2, 1, 0, 1, 1, 1, 2), (2, 2, 0, 1, true)), // groups, ceil mode
            (new(2, 2, 9, 9, 4, 1, 1), (3, 1, 1, 2, false)),                   // pointwise, dilated pool
            .. DilatedPhaseShapes.Select(g => (g, (2, 2, 0, 1, false))),      // pooled from the phases (PooledPhasesTests)
        ];
        foreach (var (g, pc) in cases)
        {
            var pg = new Pool2dGeometry(g.N, g.OC, g.OH, g.OW, pc.K, pc.K, pc.S, pc.S, pc.P, pc.P, pc.D, pc.D, pc.Ceil);
            var x = new float[g.N * g.C * g.H * g.W]; r.FillNormal(x, 0, 1);
            var w = new float[g.OC * g.ColRows]; r.FillNormal(w, 0, 0.5f);
            var b = new float[g.OC]; r.FillNormal(b, -0.3f, 0.5f);
            x[5] = float.NaN;
            var plain = RunPool(false, g, pg, x, w, b, new Generator(1));
            var fused = RunPool(true, g, pg, x, w, b, new Generator(1));
            Assert.Equal(plain.Y, fused.Y);
            Assert.Equal(plain.Dx, fused.Dx);
            Assert.Equal(plain.Dw, fused.Dw);
            Assert.Equal(plain.Db, fused.Db);
            Assert.Contains(fused.Y, v => v == 0f);
            // Inference (no gradient asked for): the fused op keeps no argmax, and its values are the same bits.
            using (Autograd.NoGrad())
            {
                var (xt, wt, bt) = (Tensor.FromArray(x, g.N, g.C, g.H, g.W), Tensor.FromArray(w, g.OC, g.C / g.G, g.KH, g.KW),
                    Tensor.FromArray(b, g.OC));
                var inferred = Functional.Conv2dReluMaxPool2d(xt, wt, bt, (g.SH, g.SW), (g.PH, g.PW), (g.DH, g.DW), g.G, pc.K, pc.S, pc.P, pc.D,
                    pc.Ceil);
                Assert.Null(inferred.GradFn);
                Assert.Equal(plain.Y, inferred.Data.ToArray());
            }
        }
    }

    [Fact]
    public void SequentialFusesOnlyWithoutHooks()
    {
        var model = (Sequential)ModelZoo.Create("cnn-small", new Generator(3));
        var x = Tensor.Randn(new Generator(4), 6, 1, 28, 28);
        var fused = model.Forward(x).Data.ToArray();
        Tensor? seen = null;
        using (model[0].RegisterForwardHook((m, i, o) => seen = o))
        {
            var hooked = model.Forward(x).Data.ToArray();
            Assert.Equal(fused, hooked);
        }
        // The hook saw the convolution's own output, negative values included (so the pair ran unfused).
        Assert.NotNull(seen);
        Assert.Contains(seen!.Data.ToArray(), v => v < 0f);
    }

    [Theory]
    [InlineData("cnn-small", 32 * 9 + 32)]
    [InlineData("lenet5", 6 * 25 + 6)]   // 5x5 first stage; conv2 channel-blocked, fused or not
    public void TrainingStepIsTheSameFusedOrNot(string model, int first)
    {
        var plain = FusionStep.Run(model, fuse: false).Grads;
        // The general fused path (the first convolution pinned to im2col + GEMM): the same bits.
        Assert.Equal(plain, FusionStep.Run(model, fuse: true, firstConv: ConvAlgorithm.Im2ColGemm).Grads);
        // The direct first stage (one input channel) sums its dW and db in another order: those agree to
        // rounding; every other gradient is the same bits.
        var direct = FusionStep.Run(model, fuse: true).Grads;
        Assert.Equal(plain[first..], direct[first..]);
        float scale = plain[..first].Max(MathF.Abs);
        for (int i = 0; i < first; i++)
            Assert.True(MathF.Abs(plain[i] - direct[i]) <= 1e-5f * scale, $"gradient {i}: {direct[i]} against {plain[i]}");
    }
}
