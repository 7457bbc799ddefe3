namespace CnnLab.Lab.Experiments;

/// <summary>The best cell of an lr × λ grid, how many cells are within 1 accuracy point of it, and the best λ per lr.</summary>
internal sealed record GridSummary(DecayCellResult Best, int WithinOnePoint, int Cells, double[] BestLambdaPerLr, int BestLambdaSpread)
{
    public static GridSummary Of(DecayCellResult[,] grid, double[] lrs, double[] lambdas)
    {
        int rows = grid.GetLength(0), cols = grid.GetLength(1);
        var cells = grid.Cast<DecayCellResult>().ToArray();
        var best = cells.Where(c => double.IsFinite(c.TestAccuracy)).MaxBy(c => c.TestAccuracy) ?? cells[0];
        int within = cells.Count(c => c.TestAccuracy >= best.TestAccuracy - 0.01);
        var bestIdx = new int[rows];
        for (int i = 0; i < rows; i++)
        {
            int arg = 0;
            for (int j = 1; j < cols; j++)
                if (grid[i, j].TestAccuracy > grid[i, arg].TestAccuracy || double.IsNaN(grid[i, arg].TestAccuracy)) arg = j;
            bestIdx[i] = arg;
        }
        return new GridSummary(best, within, cells.Length, bestIdx.Select(j => lambdas[j]).ToArray(), bestIdx.Max() - bestIdx.Min());
    }

    public static double MedianOf(DecayCellResult[,] grid, Func<DecayCellResult, double> f)
    {
        var v = grid.Cast<DecayCellResult>().Select(f).Where(double.IsFinite).Order().ToArray();
        return v.Length == 0 ? double.NaN : v[v.Length / 2];
    }

    public Dictionary<string, object?> ToMetrics() => new()
    {
        ["best_test_accuracy"] = Best.TestAccuracy, ["best_lr"] = Best.Lr, ["best_lambda"] = Best.Lambda,
        ["best_train_accuracy"] = Best.TrainAccuracy, ["best_gap"] = Best.Gap,
        ["cells_within_1_point"] = WithinOnePoint, ["cells"] = Cells, ["best_lambda_per_lr"] = BestLambdaPerLr,
        ["best_lambda_index_spread"] = BestLambdaSpread,
        ["best_train_curve"] = Best.TrainAccuracyCurve, ["best_test_curve"] = Best.TestAccuracyCurve,
        ["checkpoint_steps"] = Best.CheckpointSteps,
    };
}
