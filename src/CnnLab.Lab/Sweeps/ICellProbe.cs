using CnnLab.Nn;
using CnnLab.Optim;

namespace CnnLab.Lab.Sweeps;

/// <summary>
/// Extra measurements inside a cell's training, for an experiment that needs more than accuracy and loss (the
/// adam-vs-adamw grid reads ‖W‖ after every step and Adam's second moments at the end).
/// </summary>
public interface ICellProbe
{
    /// <summary>Called once the model and optimizer exist, before the first step.</summary>
    void Start(Module model, Optimizer optimizer);

    /// <summary>Called after step <paramref name="step"/> (0-based) and the schedule's step, before any accuracy checkpoint.</summary>
    void AfterStep(int step);
}
