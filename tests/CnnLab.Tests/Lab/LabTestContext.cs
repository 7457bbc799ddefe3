using CnnLab.Data;
using CnnLab.Lab;

namespace CnnLab.Tests;

/// <summary>A quick-mode lab context on the embedded subset, writing into a fresh temporary folder.</summary>
public static class LabTestContext
{
    private static readonly Lazy<TrainTestSplit> Subset = new(FashionMnist.LoadEmbeddedSubset);

    public static LabContext Create(string name) =>
        new(TinyData.TempDir("lab-" + name), Subset.Value, "embedded subset", LabMode.Quick, 0, TextWriter.Null);
}
