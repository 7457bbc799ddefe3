using CnnLab.Nn;
using CnnLab.Tensors;

namespace CnnLab.Lab.Experiments;

/// <summary>The points an optimizer visited on a <see cref="TestSurface"/> and the loss at each.</summary>
internal sealed record SurfacePathResult(OptimizerKind Kind, double[] X, double[] Y, double[] Loss, int? EscapeStep)
{
    public double FinalLoss => Loss[^1];

    /// <summary>Euclidean distance of the last point to (<paramref name="mx"/>, <paramref name="my"/>).</summary>
    public double DistanceTo(double mx, double my) => Math.Sqrt((X[^1] - mx) * (X[^1] - mx) + (Y[^1] - my) * (Y[^1] - my));
}

/// <summary>
/// Runs a CnnLab optimizer on a 2-element <see cref="Parameter"/> whose gradient comes from autograd through the surface's
/// tensor formula.
/// </summary>
internal static class SurfacePath
{
    /// <summary>
    /// Up to <paramref name="steps"/> optimizer steps from <paramref name="start"/>. The run stops early when
    /// the point leaves the region |x|, |y| ≤ <paramref name="bound"/> (escaped a saddle, or diverged) or f is not
    /// finite; <c>EscapeStep</c> is the first step after which |y| &gt; 1.
    /// </summary>
    public static SurfacePathResult Run(OptimizerKind kind, double lr, Func<Tensor, Tensor> f, (double X, double Y) start, int steps,
        double bound = 1e3)
    {
        var theta = new Parameter(Tensor.FromArray([(float)start.X, (float)start.Y], 2));
        var optimizer = OptimizerKinds.Create(kind, [theta], lr);
        var xs = new List<double> { start.X };
        var ys = new List<double> { start.Y };
        var losses = new List<double>();
        int? escape = null;
        for (int t = 1; t <= steps; t++)
        {
            optimizer.ZeroGrad();
            var loss = f(theta);
            losses.Add(loss.Item());
            loss.Backward();
            optimizer.Step();
            double x = theta.Data[0], y = theta.Data[1];
            xs.Add(x);
            ys.Add(y);
            if (escape is null && Math.Abs(y) > 1) escape = t;
            if (!double.IsFinite(x) || !double.IsFinite(y) || Math.Abs(x) > bound || Math.Abs(y) > bound) break;
        }
        using (Autograd.NoGrad()) losses.Add(f(theta).Item());
        return new SurfacePathResult(kind, xs.ToArray(), ys.ToArray(), losses.ToArray(), escape);
    }
}
