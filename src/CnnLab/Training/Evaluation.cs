using CnnLab.Nn;
using CnnLab.Tensors;

namespace CnnLab.Training;

/// <summary>Loss, accuracy and confusion matrix of a model on a dataset.</summary>
public sealed record EvaluationResult(double Loss, double Accuracy, ConfusionMatrix Confusion)
{
    public double[] PerClassAccuracy => Confusion.PerClassAccuracy();
}

/// <summary>Evaluates a classifier in eval mode without recording a graph.</summary>
public static class Evaluation
{
    /// <summary>
    /// Mean cross-entropy and accuracy over the batches; restores the model's training mode after.
    /// With an <paramref name="arena"/>, each batch's activations reuse its buffers.
    /// </summary>
    public static EvaluationResult Run(Module model, IEnumerable<(Tensor X, int[] Y)> batches, int numClasses, TensorArena? arena = null)
    {
        bool wasTraining = model.Training;
        model.Eval();
        var confusion = new ConfusionMatrix(numClasses);
        double lossSum = 0;
        long count = 0;
        try
        {
            using var _ = Autograd.NoGrad();
            foreach (var (x, y) in batches)
            {
                using var scope = arena?.Use();
                var logits = model.Forward(x);
                lossSum += Functional.CrossEntropy(logits, y).Item() * (double)y.Length;
                count += y.Length;
                var predicted = ArgMaxRows(logits);
                for (int i = 0; i < y.Length; i++) confusion.Add(y[i], predicted[i]);
            }
        }
        finally
        {
            model.Train(wasTraining);
        }
        return new EvaluationResult(count == 0 ? double.NaN : lossSum / count, confusion.Accuracy, confusion);
    }

    /// <summary>Index of the largest value in each row of [N, C] (first on ties).</summary>
    public static int[] ArgMaxRows(Tensor logits)
    {
        int n = logits.Shape[0], c = logits.Shape[1];
        var result = new int[n];
        for (int i = 0; i < n; i++) result[i] = TensorPrimitives.IndexOfMax(logits.Elements.Slice(i * c, c));
        return result;
    }
}
