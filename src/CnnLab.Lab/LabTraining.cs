using CnnLab.Data;
using CnnLab.Nn;
using CnnLab.Optim;
using CnnLab.Tensors;
using CnnLab.Training;

namespace CnnLab.Lab;

/// <summary>Small training loops the experiments share (the CLI's Trainer is for whole runs with checkpoints).</summary>
public static class LabTraining
{
    /// <summary>A shuffled, normalized loader (Fashion-MNIST statistics).</summary>
    public static DataLoader Loader(ImageDataset data, int batchSize, long seed, bool shuffle = true) =>
        new(data, batchSize, shuffle: shuffle, dropLast: true, seed: seed, normalize: Normalize.FashionMnist);

    /// <summary>
    /// Runs <paramref name="steps"/> optimizer steps of cross-entropy training (<see cref="TrainingStep"/>), cycling
    /// through epochs, and returns the loss of every step (NaN once the loss or a gradient is not finite, or after the step
    /// whose update made a weight so; training then stops and the remaining entries stay NaN). <paramref name="afterStep"/>
    /// sees (step, loss) after each step.
    /// </summary>
    public static double[] Train(Module model, Optimizer optimizer, DataLoader loader, int steps, Action<int, double>? afterStep = null)
    {
        var losses = Enumerable.Repeat(double.NaN, steps).ToArray();
        model.Train();
        // The Trainer's step: gradients zeroed in place, buffers recycled, no update once a loss or gradient is not finite.
        var trainingStep = new TrainingStep(model, optimizer);
        int step = 0;
        for (int epoch = 0; step < steps; epoch++)
        {
            foreach (var batch in loader.Epoch(epoch))
            {
                var outcome = trainingStep.Run(batch.X, batch.Y, step + 1);
                // A step whose update made a weight NaN or Inf still had its (finite) loss; training stops after it.
                if (outcome.Diverged is { Where: "update" }) losses[step] = outcome.Loss;
                if (outcome.Diverged is not null) return losses;
                losses[step] = outcome.Loss;
                afterStep?.Invoke(step, outcome.Loss);
                if (++step >= steps) break;
            }
            if (loader.Count == 0) break;
        }
        return losses;
    }

    /// <summary>Test accuracy and loss of <paramref name="model"/> on <paramref name="data"/>.</summary>
    public static EvaluationResult Evaluate(Module model, ImageDataset data) =>
        Evaluation.Run(model, new DataLoader(data, 500, normalize: Normalize.FashionMnist).Epoch(0).Select(b => (b.X, b.Y)), data.NumClasses,
            model.HasAnyHooks ? null : new TensorArena());

    /// <summary>One normalized batch of the first <paramref name="count"/> images (for statistics at init).</summary>
    public static (Tensor X, int[] Y) FirstBatch(ImageDataset data, int count)
    {
        var b = new DataLoader(data, Math.Min(count, data.Count), normalize: Normalize.FashionMnist, prefetch: false).Epoch(0).First();
        return (b.X.Clone(), b.Y.ToArray());
    }

    /// <summary>Mean of the last <paramref name="k"/> finite values (NaN if none): a smoothed final loss.</summary>
    public static double Tail(double[] values, int k)
    {
        var finite = values.Where(double.IsFinite).ToArray();
        return finite.Length == 0 ? double.NaN : finite.Skip(Math.Max(0, finite.Length - k)).Average();
    }

    /// <summary>Population standard deviation of <paramref name="values"/> (double accumulation).</summary>
    public static double Std(ReadOnlySpan<float> values)
    {
        if (values.Length == 0) return double.NaN;
        double mean = 0;
        foreach (float v in values) mean += v;
        mean /= values.Length;
        double sq = 0;
        foreach (float v in values) sq += (v - mean) * (v - mean);
        return Math.Sqrt(sq / values.Length);
    }
}
