namespace CnnLab.Tensors;

// A ReLU's backward reads its output y from memory to mask dy by [y > 0]. Where y is the next convolution's input, that
// convolution read y for its own dW a moment before it wrote dy (its dx), while both were in cache: masking dx there saves
// the ReLU's pass over y. The mask is a select (dy where y > 0, else +0), so applying it twice, or to a sum of gradients of
// which only some were masked first, gives the same bits as applying it once to the sum.
public partial class Tensor
{
    /// <summary>
    /// Set on a ReLU's output by an op whose backward masks its output gradient by [output &gt; 0] itself and skips that when
    /// the gradient comes already masked for it (<see cref="PremaskedFor"/>). Only such ops set it.
    /// </summary>
    internal bool IsReluOutput { get; set; }

    /// <summary>
    /// On a gradient: it is already dy·[t &gt; 0] for <c>t</c>, a <see cref="IsReluOutput"/> tensor, as t's ReLU would make
    /// it (a convolution that reads t masked its dx image by image). Null for an ordinary gradient.
    /// </summary>
    internal Tensor? PremaskedFor { get; set; }

    /// <summary>
    /// Whether a gradient for this tensor may be handed over masked by [this &gt; 0]: a ReLU's output recorded with its op (a
    /// leaf made from one, under no-grad, would keep the masked values as its Grad) whose gradient no hook and no retained
    /// gradient sees (each would see the masked values instead of dL/dthis).
    /// </summary>
    internal bool AcceptsPremaskedGradient => IsReluOutput && GradFn is not null && !HasHooks && !RetainsGrad;

    /// <summary>
    /// Set on a batch norm → ReLU's output by the op that made it: a convolution that reads this tensor and masks its dx may take
    /// the batch norm's gradient sums from it as well (<see cref="Kernels.BatchNormGradientSums"/>), which the op then uses where
    /// the gradient it receives is the one they were taken from.
    /// </summary>
    internal Kernels.BatchNormGradientSums? BatchNormSumsWanted { get; set; }
}
