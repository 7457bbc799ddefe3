using System.Runtime.InteropServices;
using CnnLab.Kernels;
using CnnLab.Tensors;

namespace CnnLab.Nn;

public static partial class Functional
{
    /// <summary>
    /// 2-D max pooling of x [N, C, H, W] (or [C, H, W]): y[n, c, i, j] = max of x over the window
    /// starting at (i·sH − pH, j·sW − pW) with taps every (dH, dW); padding counts as −∞.
    /// Defaults: stride = kernelSize, padding 0, dilation 1, floor mode. Output size as PyTorch
    /// (<see cref="Pool2dGeometry"/>); padding may be at most half the effective kernel size.
    /// </summary>
    /// <remarks>PyTorch: <c>torch.nn.functional.max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode)</c>.</remarks>
    public static Tensor MaxPool2d(Tensor input, Pair kernelSize, Pair? stride = null, Pair? padding = null, Pair? dilation = null,
        bool ceilMode = false)
    {
        if (input.Rank == 3)
        {
            var y3 = MaxPool2d(input.Reshape(1, input.Shape[0], input.Shape[1], input.Shape[2]), kernelSize, stride, padding, dilation, ceilMode);
            return y3.Reshape(y3.Shape[1], y3.Shape[2], y3.Shape[3]);
        }
        var g = Pool2dGeometryOf(input, kernelSize, stride ?? kernelSize, padding ?? 0, dilation ?? 1, ceilMode);
        var y = Tensor.ForOp([g.N, g.C, g.OH, g.OW]);
        if (!Autograd.NeedsGrad([input]))
        {
            // No backward will ask where each max came from.
            MaxPool2dKernel.ForwardValues(g, input.Elements, y.Elements);
            return y;
        }
        var argmaxIndices = RentArgmax(y.Numel);
        MaxPool2dKernel.Forward(g, input.Elements, y.Elements, AsIndices(argmaxIndices, y.Numel));
        return Autograd.Record(y, "MaxPool2DWithIndicesBackward", [input], dy =>
        {
            // y = x[argmax]  →  dx[argmax] += dy
            var dx = Tensor.ForOp(input.Shape);
            MaxPool2dKernel.Backward(g, dy.Elements, AsIndices(argmaxIndices, y.Numel), dx.Elements, overwrite: true);
            return [dx];
        });
    }

    /// <summary>
    /// 2-D average pooling of x [N, C, H, W] (or [C, H, W]): y = (1/divisor)·Σ x over the window
    /// (zero padding). The divisor counts the padded taps when <paramref name="countIncludePad"/>
    /// (default true), else only the real ones (<see cref="AvgPool2dKernel"/>). Defaults: stride =
    /// kernelSize, padding 0, floor mode.
    /// </summary>
    /// <remarks>PyTorch: <c>torch.nn.functional.avg_pool2d(input, kernel_size, stride, padding, ceil_mode, count_include_pad)</c>;
    /// <c>divisor_override</c> is not offered.</remarks>
    public static Tensor AvgPool2d(Tensor input, Pair kernelSize, Pair? stride = null, Pair? padding = null, bool ceilMode = false,
        bool countIncludePad = true)
    {
        if (input.Rank == 3)
        {
            var y3 = AvgPool2d(input.Reshape(1, input.Shape[0], input.Shape[1], input.Shape[2]), kernelSize, stride, padding, ceilMode,
                countIncludePad);
            return y3.Reshape(y3.Shape[1], y3.Shape[2], y3.Shape[3]);
        }
        var g = Pool2dGeometryOf(input, kernelSize, stride ?? kernelSize, padding ?? 0, 1, ceilMode);
        var y = Tensor.ForOp([g.N, g.C, g.OH, g.OW]);
        AvgPool2dKernel.Forward(g, countIncludePad, input.Elements, y.Elements);
        return Autograd.Record(y, "AvgPool2DBackward", [input], dy =>
        {
            // y = Σ_window x / divisor  →  dx += dy / divisor over the window
            var dx = Tensor.ForOp(input.Shape, zeroed: true);
            AvgPool2dKernel.Backward(g, countIncludePad, dy.Elements, dx.Elements);
            return [dx];
        });
    }

    /// <summary>
    /// Adaptive average pooling of x [N, C, H, W] (or [C, H, W]) to [N, C, OH, OW]: cell (i, j) averages
    /// rows ⌊i·H/OH⌋ … ⌈(i+1)·H/OH⌉ − 1 and the matching columns. outputSize 1 is global average pooling.
    /// </summary>
    /// <remarks>PyTorch: <c>torch.nn.functional.adaptive_avg_pool2d(input, output_size)</c> (sizes must be given, no None).</remarks>
    public static Tensor AdaptiveAvgPool2d(Tensor input, Pair outputSize)
    {
        if (outputSize.H <= 0 || outputSize.W <= 0)
            throw new ArgumentException($"adaptive_avg_pool2d: output size must be positive, but got {outputSize.TupleString()}");
        if (input.Rank == 3)
        {
            var y3 = AdaptiveAvgPool2d(input.Reshape(1, input.Shape[0], input.Shape[1], input.Shape[2]), outputSize);
            return y3.Reshape(y3.Shape[1], y3.Shape[2], y3.Shape[3]);
        }
        if (input.Rank != 4 || input.Shape[2] == 0 || input.Shape[3] == 0)
            throw new ArgumentException("adaptive_avg_pool2d(): Expected 3D or 4D tensor with non-zero height and width, "
                + $"but got input of size: {Shape.Format(input.Shape)}");
        int planes = input.Shape[0] * input.Shape[1], h = input.Shape[2], w = input.Shape[3], oh = outputSize.H, ow = outputSize.W;
        var y = Tensor.ForOp([input.Shape[0], input.Shape[1], oh, ow]);
        AdaptiveAvgPool2dKernel.Forward(planes, h, w, oh, ow, input.Elements, y.Elements);
        return Autograd.Record(y, "AdaptiveAvgPool2DBackward", [input], dy =>
        {
            // y = mean over the cell  →  dx += dy / cell size
            var dx = Tensor.ForOp(input.Shape, zeroed: true);
            AdaptiveAvgPool2dKernel.Backward(planes, h, w, oh, ow, dy.Elements, dx.Elements);
            return [dx];
        });
    }

    // A max pool's argmax indices for count outputs: a float tensor (viewed as int through AsIndices) so
    // that, like the op's output, its buffer is recycled (TensorArena or CachingAllocator) once the
    // backward that holds it is gone.
    private static Tensor RentArgmax(int count) => Tensor.ForOp([count]);

    private static Span<int> AsIndices(Tensor argmax, int count) => MemoryMarshal.Cast<float, int>(argmax.Elements[..count]);

    // Checks a batched pooling call the way ATen's pool2d_shape_check does and returns its geometry.
    private static Pool2dGeometry Pool2dGeometryOf(Tensor input, Pair k, Pair s, Pair p, Pair d, bool ceilMode) =>
        Pool2dGeometryOf(input.Shape, k, s, p, d, ceilMode);

    private static Pool2dGeometry Pool2dGeometryOf(int[] shape, Pair k, Pair s, Pair p, Pair d, bool ceilMode)
    {
        if (shape.Length != 4 || Shape.Numel(shape) == 0)
            throw new ArgumentException($"non-empty 3D or 4D (batch mode) tensor expected for input, but got input of size: {Shape.Format(shape)}");
        if (k.H <= 0 || k.W <= 0) throw new ArgumentException($"kernel size should be greater than zero, but got kH: {k.H} kW: {k.W}");
        if (s.H <= 0 || s.W <= 0) throw new ArgumentException($"stride should be greater than zero, but got dH: {s.H} dW: {s.W}");
        if (d.H <= 0 || d.W <= 0) throw new ArgumentException($"dilation should be greater than zero, but got dilationH: {d.H} dilationW: {d.W}");
        CheckPoolPad(p.H, k.H, d.H);
        CheckPoolPad(p.W, k.W, d.W);
        // The window must fit the padded input, checked in 64 bits so a huge kernel or dilation cannot
        // wrap around to a plausible output size.
        long effH = (k.H - 1L) * d.H + 1, effW = (k.W - 1L) * d.W + 1;
        const long Huge = int.MaxValue / 4; // below this the 32-bit output size formula cannot overflow
        if ((effH > shape[2] + 2L * p.H || effW > shape[3] + 2L * p.W) && Math.Max(effH, effW) > Huge)
            throw new ArgumentException($"Given input size: ({shape[1]}x{shape[2]}x{shape[3]}), padding {p.TupleString()}: "
                + $"the effective kernel ({effH}x{effW}) is larger than the padded input, so the output would be empty");
        var g = new Pool2dGeometry(shape[0], shape[1], shape[2], shape[3], k.H, k.W, s.H, s.W, p.H, p.W, d.H, d.W, ceilMode);
        if (g.OH < 1 || g.OW < 1)
            throw new ArgumentException(
                $"Given input size: ({g.C}x{g.H}x{g.W}). Calculated output size: ({g.C}x{g.OH}x{g.OW}). Output size is too small");
        return g;
    }

    private static void CheckPoolPad(int pad, int kernel, int dilation)
    {
        if (pad < 0) throw new ArgumentException($"pad must be non-negative, but got pad={pad}");
        if (pad > ((kernel - 1L) * dilation + 1) / 2)
            throw new ArgumentException(
                $"pad should be at most half of effective kernel size, but got pad={pad}, kernel_size={kernel} and dilation={dilation}");
    }
}
