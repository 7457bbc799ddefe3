using CnnLab.Data;
using CnnLab.Tensors;

namespace CnnLab.Lab.Sweeps;

/// <summary>The images a cell trains on and is measured on, cut from a data set by the budget.</summary>
/// <param name="Train">The training images (a fixed random subset when the budget asks for fewer than the set holds).</param>
/// <param name="TrainEval">The first training images, on which train accuracy is measured.</param>
/// <param name="Test">The first test images, on which test accuracy is measured.</param>
public sealed record SweepData(ImageDataset Train, ImageDataset TrainEval, ImageDataset Test)
{
    /// <summary>
    /// The budget's images of <paramref name="split"/>: the first <c>train_images</c> of a permutation drawn from
    /// <c>data_seed</c> (every cell the same), train accuracy on the first <c>train_eval_images</c> of them, test accuracy on
    /// the first <c>test_images</c> test images.
    /// </summary>
    public static SweepData From(TrainTestSplit split, SweepBudget budget)
    {
        var indices = Enumerable.Range(0, split.Train.Count).ToArray();
        new Generator(budget.DataSeed).Shuffle(indices.AsSpan());
        var train = split.Train.Subset(indices.AsSpan(0, Math.Min(budget.TrainImages, indices.Length)), "training subset");
        return new SweepData(train, train.Take(budget.TrainEvalImages), split.Test.Take(budget.TestImages));
    }

    /// <summary>
    /// The data set a cell's <c>data</c> value names: "subset" the embedded 6,000/1,000 images, "full" the installed full
    /// Fashion-MNIST (<see cref="DataSource.SystemDirectory"/> or <c>$CNNLAB_DATA</c>), anything else a folder of IDX files.
    /// </summary>
    public static TrainTestSplit Load(string value)
    {
        if (value == "subset") return FashionMnist.LoadEmbeddedSubset();
        if (value == "full")
        {
            var source = DataSource.Resolve(null, Environment.GetEnvironmentVariable(DataSource.EnvironmentVariable));
            if (source.Kind == DataSourceKind.Embedded)
                throw new ArgumentException($"data \"full\" needs the full Fashion-MNIST. {DataSource.FullSetHint}");
            return source.Load();
        }
        return DataSource.Resolve(value, null).Load();
    }
}
