using CnnLab.Kernels;
using CnnLab.Tensors;

namespace CnnLab.Nn;

public static partial class Functional
{
    /// <summary>
    /// 2-D convolution (cross-correlation) of x [N, C, H, W] (or unbatched [C, H, W]) with
    /// w [OC, C/groups, KH, KW] and optional b [OC]:
    /// y[n, o, i, j] = b[o] + Σ_{c, u, v} w[o, c, u, v] · x[n, g·C/groups + c, i·sH − pH + u·dH, j·sW − pW + v·dW],
    /// zero padding, output OH = ⌊(H + 2·pH − dH·(KH − 1) − 1) / sH⌋ + 1 (likewise OW).
    /// Defaults: stride 1, padding 0, dilation 1, groups 1. Each pass runs by the algorithm <see cref="ConvPlanner"/> chooses for the
    /// shapes, or by <paramref name="algorithm"/> when pinned (an error if it cannot run them).
    /// Convolutional networks: LeCun et al. 1998, "Gradient-Based Learning Applied to Document Recognition".
    /// </summary>
    /// <remarks>PyTorch: <c>torch.nn.functional.conv2d(input, weight, bias, stride, padding, dilation, groups)</c>;
    /// the string paddings 'same' and 'valid' are not offered (pass the numbers).</remarks>
    public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias = null, Pair? stride = null, Pair? padding = null,
        Pair? dilation = null, int groups = 1, ConvAlgorithm algorithm = ConvAlgorithm.Auto)
    {
        Pair s = stride ?? 1, p = padding ?? 0, d = dilation ?? 1;
        if (input.Rank == 3)
        {
            var y3 = Conv2d(input.Reshape(1, input.Shape[0], input.Shape[1], input.Shape[2]), weight, bias, s, p, d, groups, algorithm);
            return y3.Reshape(y3.Shape[1], y3.Shape[2], y3.Shape[3]);
        }
        var g = Conv2dGeometryOf(input, weight, bias, s, p, d, groups);
        var y = Tensor.ForOp([g.N, g.OC, g.OH, g.OW]);
        Tensor[] inputs = bias is null ? [input, weight] : [input, weight, bias];
        Conv2dKernel.ForwardCached(g, input.Elements, weight.Elements, bias is null ? default : bias.Elements, bias is not null,
            y.Elements, false, default, default,
            PlanKey(inputs, weight), algorithm);
        return Autograd.RecordWithAddends(y, "ConvolutionBackward", inputs, (dy, addends) =>
        {
            // y = W ⋆ x + b, per image and group Y_g = W_g·col(x_g) + b  →
            // dx = col2im(W_gᵀ·dY_g), dW_g = Σ_n dY_g·col(x_g)ᵀ, db = Σ_{n,i,j} dy
            var grads = new ConvGradients(input, weight, bias, addends);
            unsafe
            {
                fixed (float* pdy = dy.Elements)
                    grads.Run(g, weight, new PlainGradient(g, pdy), algorithm);
            }
            return grads.ForInputs();
        });
    }

    /// <summary>
    /// relu(conv2d(x, w, b)) as one op: the ReLU is applied in the convolution's GEMM epilogue and its
    /// backward (dy·[y &gt; 0]) inside the convolution's backward, one image at a time, so neither takes a
    /// pass over memory of its own. Same values as <c>Relu(Conv2d(...))</c>, bit for bit.
    /// <see cref="Sequential"/> runs a Conv2d followed by a ReLU this way when neither has forward hooks.
    /// </summary>
    /// <remarks>PyTorch: what <c>torch.jit</c>/oneDNN fusion does for <c>F.relu(F.conv2d(...))</c>.</remarks>
    public static Tensor Conv2dRelu(Tensor input, Tensor weight, Tensor? bias = null, Pair? stride = null, Pair? padding = null,
        Pair? dilation = null, int groups = 1, ConvAlgorithm algorithm = ConvAlgorithm.Auto)
    {
        if (input.Rank != 4) return Relu(Conv2d(input, weight, bias, stride, padding, dilation, groups, algorithm));
        var g = Conv2dGeometryOf(input, weight, bias, stride ?? 1, padding ?? 0, dilation ?? 1, groups);
        var y = Tensor.ForOp([g.N, g.OC, g.OH, g.OW]);
        Tensor[] inputs = bias is null ? [input, weight] : [input, weight, bias];
        Conv2dKernel.ForwardCached(g, input.Elements, weight.Elements, bias is null ? default : bias.Elements, bias is not null,
            y.Elements, true, default, default,
            PlanKey(inputs, weight), algorithm);
        y.IsReluOutput = true;   // this op's backward skips the mask for a premasked gradient (taken only once it is recorded)
        return Autograd.RecordWithAddends(y, "ConvolutionReluBackward", inputs, (dy, addends) =>
        {
            // y = max(0, W ⋆ x + b)  →  dz = dy·[y > 0] (unless the next convolution masked dy already), then the convolution's
            // backward with dz.
            var grads = new ConvGradients(input, weight, bias, addends);
            unsafe
            {
                fixed (float* pdy = dy.Elements, py = y.Elements)
                {
                    ConvOutputGradient source = ReferenceEquals(dy.PremaskedFor, y) ? new PlainGradient(g, pdy) : new ReluMaskedGradient(g, pdy, py);
                    grads.Run(g, weight, source, algorithm);
                }
            }
            return grads.ForInputs();
        });
    }

    // Inference (nothing recorded: no-grad, or nothing requires grad) keeps the weights' prepared plan between calls
    // (ConvPlanCache); training changes them every step, so it prepares them per call.
    private static CachedWeights? PlanKey(Tensor[] inputs, Tensor weight) => Autograd.NeedsGrad(inputs) ? null : CachedWeightsOf(weight);

    // The weights' array, under which their forward plan is kept, and the epoch they are unchanged in (Tensor.TrustedEpoch).
    private static CachedWeights CachedWeightsOf(Tensor weight) => new(weight.Buffer, weight.TrustedEpoch);

    // Checks a batched conv2d call the way PyTorch does and returns its geometry.
    // 2^28 floats (1 GiB) per padded channel plane: far beyond any image, and small enough that every
    // index the kernels compute in 32 bits stays in range.
    private const long MaxPaddedPlane = 1L << 28;

    private static Conv2dGeometry Conv2dGeometryOf(Tensor input, Tensor weight, Tensor? bias, Pair s, Pair p, Pair d, int groups)
    {
        if (input.Rank != 4)
            throw new ArgumentException(
                $"Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: {Shape.Format(input.Shape)}");
        if (weight.Rank != 4)
            throw new ArgumentException(
                $"conv2d weight must be 4-D [out_channels, in_channels/groups, kH, kW], but got weight of size {Shape.Format(weight.Shape)}");
        if (s.H <= 0 || s.W <= 0) throw new ArgumentException($"non-positive stride is not supported (stride={s.TupleString()})");
        if (p.H < 0 || p.W < 0) throw new ArgumentException($"negative padding is not supported (padding={p.TupleString()})");
        if (d.H <= 0 || d.W <= 0) throw new ArgumentException($"dilation should be greater than zero (dilation={d.TupleString()})");
        if (groups <= 0) throw new ArgumentException($"non-positive groups is not supported (groups={groups})");
        int oc = weight.Shape[0], kh = weight.Shape[2], kw = weight.Shape[3];
        if (oc % groups != 0)
            throw new ArgumentException($"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, "
                + $"but got weight of size {Shape.Format(weight.Shape)} instead");
        if (input.Shape[1] != weight.Shape[1] * groups)
            throw new ArgumentException($"Given groups={groups}, weight of size {Shape.Format(weight.Shape)}, "
                + $"expected input{Shape.Format(input.Shape)} to have {weight.Shape[1] * groups} channels, "
                + $"but got {input.Shape[1]} channels instead");
        if (bias is not null && (bias.Rank != 1 || bias.Shape[0] != oc))
            throw new ArgumentException($"Given weight of size {Shape.Format(weight.Shape)}, expected bias to be 1-dimensional with {oc} elements, "
                + $"but got bias of size {Shape.Format(bias.Shape)} instead");
        // In 64 bits: a padding or dilation near int.MaxValue must be rejected, not wrap around to a
        // small plausible size that the kernels would then index far outside of.
        long paddedH = input.Shape[2] + 2L * p.H, paddedW = input.Shape[3] + 2L * p.W;
        long effH = d.H * (kh - 1L) + 1, effW = d.W * (kw - 1L) + 1;
        if (kh <= 0 || kw <= 0 || paddedH < effH || paddedW < effW)
            throw new ArgumentException($"Calculated padded input size per channel: ({paddedH} x {paddedW}). Kernel size: ({effH} x {effW}). "
                + "Kernel size can't be greater than actual input size");
        if (paddedH * paddedW > MaxPaddedPlane)
            throw new ArgumentException($"Calculated padded input size per channel: ({paddedH} x {paddedW}) "
                + $"is too large (padding={p.TupleString()}); "
                + $"at most {MaxPaddedPlane} elements per channel are supported");
        return new Conv2dGeometry(input.Shape[0], input.Shape[1], input.Shape[2], input.Shape[3], oc, kh, kw, s.H, s.W, p.H, p.W, d.H, d.W, groups);
    }
}
