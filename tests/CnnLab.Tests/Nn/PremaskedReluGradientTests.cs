using CnnLab.Kernels;
using CnnLab.Nn;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

/// <summary>
/// A convolution whose input is a fused Conv → ReLU's output hands that input's gradient back already masked by
/// [input &gt; 0] (Tensor.PremaskedFor), and the ReLU then skips its own mask: every gradient keeps the bits of the ops run
/// one at a time, each algorithm's dx is exactly the masked one, and a hook or a retained gradient still sees dL/dy unmasked.
/// </summary>
public class PremaskedReluGradientTests
{
    public static TheoryData<ConvAlgorithm, Conv2dGeometry> Layers => new()
    {
        { ConvAlgorithm.Winograd4x4, new(5, 16, 14, 14, 16, 3, 3, 1, 1, 1, 1) },
        { ConvAlgorithm.Winograd4x4, new(6, 16, 8, 8, 16, 3, 3, 1, 1, 1, 1) },
        { ConvAlgorithm.Winograd5x5, new(3, 16, 12, 12, 16, 5, 5, 1, 1, 2, 2) },
        { ConvAlgorithm.Winograd, new(3, 16, 10, 9, 16, 3, 3, 1, 1, 1, 1) },
        { ConvAlgorithm.Winograd, new(4, 16, 6, 6, 16, 3, 3, 1, 1, 1, 1) },
        { ConvAlgorithm.WinogradGemm, new(3, 16, 10, 9, 16, 3, 3, 1, 1, 1, 1) },
        { ConvAlgorithm.ChannelBlocked, new(3, 3, 11, 9, 32, 3, 3, 2, 2, 1, 1) },
        { ConvAlgorithm.OutputRows, new(2, 8, 12, 10, 16, 3, 3, 1, 1, 1, 1) },
        { ConvAlgorithm.Im2ColGemm, new(4, 6, 7, 7, 5, 1, 1) },
        { ConvAlgorithm.Im2ColGemm, new(2, 4, 9, 9, 6, 3, 3, 1, 1, 2, 2, 2, 2, 2) },
        { ConvAlgorithm.Auto, new(3, 32, 16, 16, 64, 3, 3, 2, 2, 1, 1) },
        { ConvAlgorithm.Depthwise, new(3, 3, 11, 9, 6, 3, 3, 1, 1, 1, 1, 1, 1, 3) },
        { ConvAlgorithm.Depthwise, new(2, 8, 12, 10, 8, 3, 3, 2, 2, 1, 1, 1, 1, 8) },
    };

    // x and dy drawn from N(0, 1) (half of x at most zero, for the mask to cut), w from N(0, 0.25).
    private static (float[] X, float[] W, float[] Dy) Operands(Conv2dGeometry g, int seed)
    {
        var r = new Generator(seed);
        var x = new float[g.N * g.C * g.H * g.W];
        var w = new float[g.OC * g.ColRows];
        var dy = new float[g.N * g.OC * g.OH * g.OW];
        r.FillNormal(x, 0, 1);
        r.FillNormal(w, 0, 0.5f);
        r.FillNormal(dy, 0, 1);
        return (x, w, dy);
    }

    [Theory]
    [MemberData(nameof(Layers))]
    public void Each_algorithm_masks_dx_by_its_input_bit_for_bit(ConvAlgorithm algorithm, Conv2dGeometry g)
    {
        if (!Hardware.Runs(algorithm, g)) return;
        var (x, w, dy) = Operands(g, 3);
        var (plain, masked) = (new float[x.Length], new float[x.Length]);
        var (dw, dwMasked) = (new float[w.Length], new float[w.Length]);
        unsafe
        {
            fixed (float* pdy = dy)
            {
                Assert.False(Conv2dKernel.BackwardCore(g, x, w, new PlainGradient(g, pdy), plain, dw, default, true, algorithm).Masked);
                Assert.True(Conv2dKernel.BackwardCore(g, x, w, new PlainGradient(g, pdy), masked, dwMasked, default, true, algorithm,
                    maskDxByInput: true).Masked);
            }
        }
        var expected = new float[x.Length];
        ReluKernel.BackwardOnThisThread(x, plain, expected);
        Assert.Equal(expected, masked);
        Assert.Equal(dw, dwMasked);
        Assert.Contains(Enumerable.Range(0, x.Length), i => x[i] <= 0 && plain[i] != 0);   // the mask did cut something
    }

    // conv → relu → conv → relu → conv, fused or one op at a time; returns every leaf's gradient and, where asked, the first
    // ReLU output's gradient as a hook or a retained gradient sees it, and a second use of that output.
    private static (float[][] Grads, float[]? Seen) Chain(bool fused, int threads, bool hook = false, bool retain = false,
        bool secondUse = false)
    {
        using var threadCount = ThreadCount.Use(threads);
        var r = new Generator(9);
        Tensor Leaf(params int[] shape)
        {
            var v = new float[Shape.Numel(shape)];
            r.FillNormal(v, 0, 0.5f);
            return Tensor.FromArray(v, shape).RequiresGrad_();
        }
        var x = Leaf(4, 3, 12, 12);
        var (w1, b1, w2, b2, w3) = (Leaf(16, 3, 3, 3), Leaf(16), Leaf(16, 16, 3, 3), Leaf(16), Leaf(8, 16, 3, 3));
        Tensor ConvRelu(Tensor t, Tensor w, Tensor b) =>
            fused ? Functional.Conv2dRelu(t, w, b, padding: 1) : Functional.Relu(Functional.Conv2d(t, w, b, padding: 1));
        var y1 = ConvRelu(x, w1, b1);
        float[]? seen = null;
        if (hook) y1.RegisterHook(g => { seen = g.Data.ToArray(); });
        if (retain) y1.RetainGrad();
        var y2 = ConvRelu(y1, w2, b2);
        var y3 = Functional.Conv2d(y2, w3, padding: 1);
        var up = new float[y3.Numel];
        r.FillNormal(up, 0, 1);
        var loss = Functional.Sum(Functional.Mul(y3, Tensor.FromArray(up, y3.Shape)));
        if (secondUse)
        {
            // A second reader whose gradient is not zero where y1 is: the sum must be masked again.
            var weights = new float[y1.Numel];
            r.FillNormal(weights, 0, 1);
            loss = Functional.Add(loss, Functional.Sum(Functional.Mul(y1, Tensor.FromArray(weights, y1.Shape))));
        }
        loss.Backward();
        if (retain) seen = y1.Grad!.Data.ToArray();
        return ([.. new[] { x, w1, b1, w2, b2, w3 }.Select(t => t.Grad!.Data.ToArray())], seen);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void A_fused_chain_has_the_bits_of_the_ops_one_at_a_time(int threads)
    {
        var (plain, _) = Chain(false, threads);
        var (fused, _) = Chain(true, threads);
        for (int i = 0; i < plain.Length; i++) Assert.Equal(plain[i], fused[i]);
        var (twice, _) = Chain(true, threads, secondUse: true);
        var (twicePlain, _) = Chain(false, threads, secondUse: true);
        for (int i = 0; i < plain.Length; i++) Assert.Equal(twicePlain[i], twice[i]);
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void A_hook_or_a_retained_gradient_sees_dy_unmasked(bool hook, bool retain)
    {
        var (plain, plainSeen) = Chain(false, 1, hook, retain);
        var (fused, fusedSeen) = Chain(true, 1, hook, retain);
        Assert.Equal(plainSeen, fusedSeen);
        for (int i = 0; i < plain.Length; i++) Assert.Equal(plain[i], fused[i]);
    }

    [Fact]
    public void A_leaf_made_from_a_fused_output_gets_its_gradient_unmasked()
    {
        // Features computed under no-grad, then trained on (a frozen backbone's output): no ReLU backward follows to undo a mask.
        var r = new Generator(6);
        var x = new float[2 * 3 * 8 * 8]; r.FillNormal(x, 0, 1);
        var w = new float[8 * 3 * 9]; r.FillNormal(w, 0, 0.5f);
        var w2 = new float[4 * 8 * 9]; r.FillNormal(w2, 0, 0.5f);
        float[] GradOfFeatures(bool fused)
        {
            Tensor features;
            using (Autograd.NoGrad())
            {
                var (xt, wt) = (Tensor.FromArray(x, 2, 3, 8, 8), Tensor.FromArray(w, 8, 3, 3, 3));
                features = fused ? Functional.Conv2dRelu(xt, wt, padding: 1) : Functional.Relu(Functional.Conv2d(xt, wt, padding: 1));
            }
            features.RequiresGrad_();
            Functional.Sum(Functional.Conv2d(features, Tensor.FromArray(w2, 4, 8, 3, 3), padding: 1)).Backward();
            return features.Grad!.Data.ToArray();
        }
        var fused = GradOfFeatures(true);
        Assert.Equal(GradOfFeatures(false), fused);
        Assert.Contains(fused, v => v != 0f);
    }

    [Fact]
    public void The_next_convolution_hands_back_a_masked_gradient_unless_someone_watches()
    {
        foreach (bool watched in new[] { false, true })
        {
            var r = new Generator(2);
            var x = new float[2 * 4 * 8 * 8]; r.FillNormal(x, 0, 1);
            var w = new float[8 * 4 * 9]; r.FillNormal(w, 0, 0.5f);
            var w2 = new float[8 * 8 * 9]; r.FillNormal(w2, 0, 0.5f);
            var y1 = Functional.Conv2dRelu(Tensor.FromArray(x, 2, 4, 8, 8).RequiresGrad_(), Tensor.FromArray(w, 8, 4, 3, 3), padding: 1);
            using var handle = watched ? y1.RegisterHook(_ => { }) : null;
            var y2 = Functional.Conv2d(y1, Tensor.FromArray(w2, 8, 8, 3, 3), padding: 1);
            var grads = y2.GradFn!.BackwardFunction!(Tensor.Ones(y2.Shape), InputGradientAddends.None);
            if (watched) Assert.Null(grads[0]!.PremaskedFor);
            else Assert.Same(y1, grads[0]!.PremaskedFor);
        }
    }
}
