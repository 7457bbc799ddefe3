using CnnLab.Data;
using CnnLab.Nn.Models;
using CnnLab.Optim;
using CnnLab.Optim.Schedules;
using CnnLab.Tensors;

namespace CnnLab.Lab.Experiments;

/// <summary>What one (method, lr, λ) training run of <see cref="AdamVsAdamWExperiment"/> measured.</summary>
internal sealed record DecayCellResult(
    DecayMethod Method, double Lr, double Lambda, double TestAccuracy, double TrainAccuracy,
    int[] CheckpointSteps, double[] TrainAccuracyCurve, double[] TestAccuracyCurve, double[] WeightNorm, double[] Losses,
    double MedianSqrtVHat)
{
    /// <summary>Train accuracy − test accuracy at the end.</summary>
    public double Gap => TrainAccuracy - TestAccuracy;
}

/// <summary>
/// One cell of the lr × λ grid: a fresh model from the same seed (same init), the same data order, a
/// cosine schedule over the whole run (so the paper form's η_t varies), weight decay on the [decay] group
/// only (conv/linear weights; biases undecayed), ‖W‖ of the decayed weights after every step, and train/test
/// accuracy at a few checkpoints.
/// </summary>
internal static class DecayGridCell
{
    public static DecayCellResult Run(DecayMethod method, double lr, double lambda, string modelName, ImageDataset train,
        ImageDataset trainEval, ImageDataset test, int steps, int batchSize, int checkpoints, long seed)
    {
        var model = ModelZoo.Create(modelName, new Generator(seed));
        var groups = WeightDecayGroups.Split(model, lambda);
        var decayed = groups[0].Params;
        var optimizer = DecayMethods.Create(method, groups, lr, lambda);
        var schedule = new CosineAnnealingLR(optimizer, steps);
        var norms = new double[steps + 1];
        norms[0] = Norm(decayed);
        var at = Enumerable.Range(1, checkpoints).Select(k => (int)Math.Round((double)steps * k / checkpoints)).ToArray();
        var trainCurve = Enumerable.Repeat(double.NaN, checkpoints).ToArray();
        var testCurve = Enumerable.Repeat(double.NaN, checkpoints).ToArray();
        int next = 0;
        var losses = LabTraining.Train(model, optimizer, LabTraining.Loader(train, batchSize, seed), steps, (step, _) =>
        {
            schedule.Step();
            norms[step + 1] = Norm(decayed);
            if (next < at.Length && step + 1 == at[next])
            {
                trainCurve[next] = LabTraining.Evaluate(model, trainEval).Accuracy;
                testCurve[next] = LabTraining.Evaluate(model, test).Accuracy;
                next++;
                model.Train();
            }
        });
        for (int s = 1; s <= steps; s++) if (double.IsNaN(losses[s - 1])) norms[s] = double.NaN;
        return new DecayCellResult(method, lr, lambda, testCurve[^1], trainCurve[^1], at, trainCurve, testCurve, norms, losses,
            MedianSqrtVHat(optimizer, decayed));
    }

    /// <summary>‖W‖₂ over all decayed weights together.</summary>
    public static double Norm(IEnumerable<Tensor> parameters)
    {
        double sum = 0;
        foreach (var p in parameters)
            foreach (float v in p.Data) sum += (double)v * v;
        return Math.Sqrt(sum);
    }

    /// <summary>Median over the decayed weights of √v̂ (bias-corrected exp_avg_sq): the factor Adam+L2 divides its
    /// decay by, so λ_L2 / √v̂ is the decoupled λ it amounts to.</summary>
    private static double MedianSqrtVHat(Optimizer optimizer, IReadOnlyList<Tensor> decayed)
    {
        var all = new List<float>();
        double beta2 = ((AdamOptions)optimizer.ParamGroups[0].Options).Beta2;
        foreach (var p in decayed)
        {
            var state = optimizer.StateOf(p);
            if (state is null || state.Step == 0) continue;
            double correction = 1 - Math.Pow(beta2, state.Step);
            foreach (float v in state.Buffer("exp_avg_sq", p).Data) all.Add((float)Math.Sqrt(v / correction));
        }
        if (all.Count == 0) return double.NaN;
        all.Sort();
        return all[all.Count / 2];
    }
}
