using CnnLab.Kernels;
using CnnLab.Tensors;

namespace CnnLab.Nn;

public static partial class Functional
{
    /// <summary>
    /// What the backward of a convolution op (plain, with ReLU, with ReLU and max pooling) writes into:
    /// a gradient for each of x, w and b that requires one, nothing for the rest (the kernels skip an
    /// empty span), and the list the autograd tape expects back, in input order. dw and db are zeroed (the
    /// kernels add to them); dx is not: the ops ask the kernels to overwrite it.
    /// </summary>
    private readonly struct ConvGradients
    {
        private readonly Tensor? _dx, _dw, _db;
        private readonly Tensor _input;
        private readonly bool _hasBias;
        private readonly InputGradientAddends _addends;

        /// <summary>
        /// The gradients of a convolution's inputs; <paramref name="addends"/> (the engine's, input 0 being x) lets the kernels
        /// add the gradient already pending for x into dx (<see cref="DxAddend"/>).
        /// </summary>
        public ConvGradients(Tensor input, Tensor weight, Tensor? bias, InputGradientAddends? addends = null)
        {
            _input = input;
            _addends = addends ?? InputGradientAddends.None;
            _dx = input.RequiresGrad ? Tensor.ForOp(input.Shape) : null;
            _dw = weight.RequiresGrad ? Tensor.ForOp(weight.Shape, zeroed: true) : null;
            _db = bias is not null && bias.RequiresGrad ? Tensor.ForOp(bias.Shape, zeroed: true) : null;
            _hasBias = bias is not null;
        }

        public Span<float> Dx => _dx is null ? default : _dx.Elements;
        public Span<float> Dw => _dw is null ? default : _dw.Elements;
        public Span<float> Db => _db is null ? default : _db.Elements;

        /// <summary>Whether the kernels may hand dx back masked by [x &gt; 0] (x a ReLU's output: Tensor.PremaskedFor).</summary>
        public bool MaskDx => _dx is not null && _input.AcceptsPremaskedGradient;

        /// <summary>The batch norm sums x's producer wants from its masked gradient (null: none, or no mask).</summary>
        public BatchNormGradientSums? InputSums => MaskDx ? _input.BatchNormSumsWanted : null;

        /// <summary>The gradient pending for x, for the kernels to add into dx (empty: none, or no dx wanted).</summary>
        private ReadOnlySpan<float> DxAddend => _dx is not null && _addends.For(0) is { } pending ? pending.Elements : default;

        /// <summary>
        /// Marks dx as masked for x where the kernels say they masked it, and tells the engine that dx holds its pending gradient
        /// where they added it.
        /// </summary>
        public void DxFinished(DxFinish done)
        {
            if (done.Masked) _dx!.PremaskedFor = _input;
            if (done.AddendAdded) _addends.Take(0);
            if (done.BatchNormSummed) _input.BatchNormSumsWanted!.TakenFrom = _dx;
        }

        /// <summary>
        /// The convolution's backward into these gradients (dx overwritten), with dL/d(its output) from <paramref name="source"/>:
        /// the kernels add x's pending gradient, mask dx and take x's producer's sums where this allows, and
        /// <see cref="DxFinished"/> records what they did.
        /// </summary>
        public void Run(in Conv2dGeometry g, Tensor weight, ConvOutputGradient source, ConvAlgorithm algorithm) =>
            DxFinished(Conv2dKernel.BackwardCore(g, _input.Elements, weight.Elements, source, Dx, Dw, Db, overwriteDx: true, algorithm,
                maskDxByInput: MaskDx, dxAddend: DxAddend, inputSums: InputSums));

        public Tensor?[] ForInputs() => _hasBias ? [_dx, _dw, _db] : [_dx, _dw];
    }
}
