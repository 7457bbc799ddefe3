using System.Globalization;
using System.Text;

namespace CnnLab.Training;

/// <summary>Counts of (true class, predicted class) pairs, with accuracy and per-class accuracy.</summary>
public sealed class ConfusionMatrix
{
    private readonly long[,] _counts;

    public ConfusionMatrix(int numClasses)
    {
        if (numClasses <= 0) throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "must be positive");
        NumClasses = numClasses;
        _counts = new long[numClasses, numClasses];
    }

    public int NumClasses { get; }

    /// <summary>Count of samples of class <paramref name="actual"/> predicted as <paramref name="predicted"/>.</summary>
    public long this[int actual, int predicted] => _counts[actual, predicted];

    public long Total { get; private set; }

    public void Add(int actual, int predicted)
    {
        _counts[actual, predicted]++;
        Total++;
    }

    /// <summary>Fraction of samples on the diagonal (0 when empty).</summary>
    public double Accuracy
    {
        get
        {
            long correct = 0;
            for (int i = 0; i < NumClasses; i++) correct += _counts[i, i];
            return Total == 0 ? 0 : (double)correct / Total;
        }
    }

    /// <summary>Recall of each class: correct / samples of that class (NaN for a class with no samples).</summary>
    public double[] PerClassAccuracy()
    {
        var result = new double[NumClasses];
        for (int i = 0; i < NumClasses; i++)
        {
            long row = 0;
            for (int j = 0; j < NumClasses; j++) row += _counts[i, j];
            result[i] = row == 0 ? double.NaN : (double)_counts[i, i] / row;
        }
        return result;
    }

    /// <summary>The counts as a jagged array [actual][predicted].</summary>
    public long[][] ToArray() =>
        Enumerable.Range(0, NumClasses).Select(i => Enumerable.Range(0, NumClasses).Select(j => _counts[i, j]).ToArray()).ToArray();

    /// <summary>A per-class accuracy table followed by the matrix, for terminals.</summary>
    public string ToText(IReadOnlyList<string>? classNames = null)
    {
        string Name(int i) => classNames is not null && i < classNames.Count ? classNames[i] : i.ToString(CultureInfo.InvariantCulture);
        var sb = new StringBuilder();
        var per = PerClassAccuracy();
        int w = Math.Max(5, Enumerable.Range(0, NumClasses).Max(i => Name(i).Length));
        sb.AppendLine($"{"class".PadRight(w)}  accuracy");
        for (int i = 0; i < NumClasses; i++)
            sb.AppendLine(
                $"{Name(i).PadRight(w)}  {(double.IsNaN(per[i]) ? "   -" : (per[i] * 100).ToString("0.0", CultureInfo.InvariantCulture) + "%"),8}");
        sb.AppendLine();
        sb.AppendLine("confusion matrix (rows: true class, columns: predicted)");
        sb.Append(new string(' ', w + 1));
        for (int j = 0; j < NumClasses; j++) sb.Append(j.ToString(CultureInfo.InvariantCulture).PadLeft(6));
        sb.AppendLine();
        for (int i = 0; i < NumClasses; i++)
        {
            sb.Append(Name(i).PadRight(w + 1));
            for (int j = 0; j < NumClasses; j++) sb.Append(_counts[i, j].ToString(CultureInfo.InvariantCulture).PadLeft(6));
            sb.AppendLine();
        }
        return sb.ToString();
    }
}
