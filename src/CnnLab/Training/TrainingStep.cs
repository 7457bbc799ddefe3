using CnnLab.Nn;
using CnnLab.Optim;
using CnnLab.Tensors;

namespace CnnLab.Training;

/// <summary>What one <see cref="TrainingStep.Run"/> did.</summary>
/// <param name="Loss">The batch's mean loss (before the update).</param>
/// <param name="Diverged">
/// Null when the step was taken cleanly; else where the first NaN or Inf appeared: in the loss or a gradient (then no update
/// was made), or in a weight after the update (the step itself was too large).
/// </param>
/// <param name="Predicted">The argmax class of each row, when asked for.</param>
public sealed record StepOutcome(float Loss, NonFiniteReport? Diverged, int[]? Predicted);

/// <summary>
/// One step of cross-entropy training: gradients zeroed in place, forward, loss, backward, optimizer step, with a
/// NaN/Inf check on the loss and the gradients before anything is updated, and on the weights after. The Trainer, the lab's experiments and
/// <c>cnnlab bench --arena</c> all run this one step, so they zero gradients, treat divergence and recycle buffers alike.
/// </summary>
/// <remarks>
/// Gradients are zeroed in place (PyTorch 1.13's <c>zero_grad()</c> default) so that they keep their buffers. Each
/// step's activations and gradients are recycled through a <see cref="TensorArena"/> unless a module or parameter has a
/// hook when this object is made (a hook may keep a tensor past its step), or <c>recycleBuffers</c> is false.
/// </remarks>
public sealed class TrainingStep(Module model, Optimizer optimizer, float labelSmoothing = 0f, bool recycleBuffers = true)
{
    private readonly NonFiniteGuard _guard = new(model);

    /// <summary>The model trained.</summary>
    public Module Model { get; } = model;

    /// <summary>The optimizer that makes the update.</summary>
    public Optimizer Optimizer { get; } = optimizer;

    /// <summary>
    /// Trains on (<paramref name="x"/>, <paramref name="y"/>); <paramref name="step"/> is the 1-based number a divergence
    /// report names. The optimizer steps only when the loss and every gradient are finite.
    /// </summary>
    public StepOutcome Run(Tensor x, int[] y, long step, bool predictions = false)
    {
        Optimizer.ZeroGrad(setToNone: false);
        float loss;
        NonFiniteReport? report;
        int[]? predicted = null;
        using (Arena?.Use())
        {
            var logits = Model.Forward(x);
            var lossTensor = Functional.CrossEntropy(logits, y, labelSmoothing);
            loss = lossTensor.Item();
            report = _guard.CheckLoss(loss, step, x);
            if (report is null)
            {
                lossTensor.Backward();
                report = _guard.CheckGradients(step);
            }
            if (predictions) predicted = Evaluation.ArgMaxRows(logits);
        }
        if (report is null)
        {
            Optimizer.Step();
            report = _guard.CheckWeights(step);
        }
        return new StepOutcome(loss, report, predicted);
    }

    /// <summary>The arena each step runs in, or null when buffers are not recycled (evaluation may use it too).</summary>
    public TensorArena? Arena { get; } = recycleBuffers && !model.HasAnyHooks ? new TensorArena() : null;
}
