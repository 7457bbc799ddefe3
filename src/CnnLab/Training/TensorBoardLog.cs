using CnnLab.Nn;
using CnnLab.Training.TensorBoard;

namespace CnnLab.Training;

/// <summary>
/// What the <see cref="Trainer"/> writes to TensorBoard (<see cref="Trainer.TensorBoard"/>), the x axis always the
/// optimizer step: per step the batch's <c>train/loss</c>, <c>train/accuracy</c> and <c>train/lr</c> (the rate the step
/// used); per epoch <c>epoch/train_loss</c>, <c>epoch/train_accuracy</c>, <c>epoch/test_loss</c>, <c>epoch/test_accuracy</c>
/// and <c>epoch/lr</c>; and at the end of each epoch and of the run, one histogram per parameter of its values,
/// <c>weights/NAME</c>, and of the last step's gradient, <c>gradients/NAME</c> (NAME as in the state_dict, e.g. 0.weight).
/// </summary>
/// <remarks>PyTorch: the add_scalar / add_histogram calls of a training loop written around torch.utils.tensorboard.</remarks>
public static class TensorBoardLog
{
    /// <summary>The scalars of one optimizer step: the batch's loss (before the step) and accuracy, and group 0's lr.</summary>
    public static void Step(SummaryWriter writer, long step, float loss, double accuracy, double lr)
    {
        writer.AddScalar("train/loss", loss, step);
        writer.AddScalar("train/accuracy", accuracy, step);
        writer.AddScalar("train/lr", lr, step);
    }

    /// <summary>The scalars of <c>metrics.jsonl</c>'s line for an epoch, at the step the epoch ended on.</summary>
    public static void Epoch(SummaryWriter writer, EpochMetrics m)
    {
        writer.AddScalar("epoch/train_loss", m.TrainLoss, m.Step);
        writer.AddScalar("epoch/train_accuracy", m.TrainAcc, m.Step);
        writer.AddScalar("epoch/test_loss", m.TestLoss, m.Step);
        writer.AddScalar("epoch/test_accuracy", m.TestAcc, m.Step);
        writer.AddScalar("epoch/lr", m.Lr, m.Step);
    }

    /// <summary>A histogram of every parameter and of its gradient (when it has one), then a flush.</summary>
    public static void Parameters(SummaryWriter writer, Module model, long step)
    {
        foreach (var (name, p) in model.NamedParameters())
        {
            writer.AddHistogram($"weights/{name}", p.Elements, step);
            if (p.Grad is { } grad) writer.AddHistogram($"gradients/{name}", grad.Elements, step);
        }
        writer.Flush();
    }
}
