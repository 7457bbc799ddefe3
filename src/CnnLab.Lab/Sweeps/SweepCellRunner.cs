using CnnLab.Init.Networks;
using CnnLab.Nn.Models;
using CnnLab.Tensors;
using CnnLab.Training;

namespace CnnLab.Lab.Sweeps;

/// <summary>
/// Trains one cell: the zoo model from the cell's seed (then its init scheme), the optimizer and schedule of
/// <see cref="OptimizerFactory"/> (decay on weights, none on biases), <see cref="LabTraining.Train"/> for the budget's steps
/// with the data order of the cell's seed, and train/test accuracy at the budget's checkpoints.
/// </summary>
public static class SweepCellRunner
{
    /// <summary>
    /// Runs <paramref name="cell"/>. <paramref name="afterStep"/> sees each finished step (for progress; it may throw
    /// <see cref="OperationCanceledException"/> to stop the cell, which then leaves no result).
    /// </summary>
    public static SweepCellResult Run(SweepCell cell, SweepBudget budget, SweepData data, ICellProbe? probe = null, Action<int>? afterStep = null)
    {
        if (cell.BatchSize > data.Train.Count)
            throw new ArgumentException($"batch_size {cell.BatchSize} is larger than the {data.Train.Count} training images of the budget");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var generator = new Generator(cell.Seed);
        var options = new ModelOptions(ModelOptions.ParsePool(cell.Pool), ModelOptions.ParseReluOrder(cell.ReluOrder));
        var model = ModelZoo.Create(cell.BuiltModel, generator, options);
        // pytorch-default is what the layers drew for themselves when they were built: nothing to redo.
        if (cell.Init != "pytorch-default") InitScheme.Parse(cell.Init).Apply(model, generator);
        var config = cell.ToConfig(budget.Schedule);
        var optimizer = OptimizerFactory.Create(config, model);
        var schedule = OptimizerFactory.CreateSchedule(config, optimizer, budget.Steps);
        probe?.Start(model, optimizer);
        var at = budget.CheckpointSteps;
        var trainCurve = Enumerable.Repeat(double.NaN, at.Length).ToArray();
        var testCurve = Enumerable.Repeat(double.NaN, at.Length).ToArray();
        int next = 0;
        var losses = LabTraining.Train(model, optimizer, LabTraining.Loader(data.Train, cell.BatchSize, cell.Seed), budget.Steps, (step, _) =>
        {
            schedule?.Step();
            probe?.AfterStep(step);
            // Several checkpoints may fall on one step when there are nearly as many as steps.
            while (next < at.Length && step + 1 == at[next])
            {
                trainCurve[next] = LabTraining.Evaluate(model, data.TrainEval).Accuracy;
                testCurve[next] = LabTraining.Evaluate(model, data.Test).Accuracy;
                next++;
                model.Train();
            }
            afterStep?.Invoke(step);
        });
        return new SweepCellResult(cell, at, trainCurve, testCurve, losses, clock.Elapsed.TotalSeconds);
    }
}
