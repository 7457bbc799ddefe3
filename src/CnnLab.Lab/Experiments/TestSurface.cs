using CnnLab.Nn;
using CnnLab.Tensors;

namespace CnnLab.Lab.Experiments;

/// <summary>
/// A 2-D test function f(x, y), written twice: with CnnLab tensor ops on a 2-element parameter θ = (x, y)
/// (so autograd supplies the gradient the optimizers see) and in double for the contour plot. Each surface
/// carries its start point, minimum (if any), step budget, plot ranges and one learning rate per optimizer.
/// </summary>
internal sealed record TestSurface(
    string Key, string Title, Func<Tensor, Tensor> F, Func<double, double, double> Value, (double X, double Y) Start,
    (double X, double Y)? Minimum, int Steps, (double, double) XRange, (double, double) YRange, bool LogLevels,
    IReadOnlyDictionary<OptimizerKind, double> Lrs)
{
    private static Tensor E(int i) => Tensor.FromArray(i == 0 ? [1f, 0f] : [0f, 1f], 2);

    /// <summary>f = x² − y²: a saddle at the origin; from (1, 1e-3) the path first slides toward the origin along x
    /// and must then escape along y, whose gradient starts at 2e-3. lr 0.05 for all optimizers.</summary>
    public static TestSurface Saddle(int steps) => new("saddle", "Saddle f = x² − y², start (1, 0.001)",
        t => Functional.Sum(Functional.Mul(Tensor.FromArray([1f, -1f], 2), Functional.Pow(t, 2))),
        (x, y) => x * x - y * y, (1, 1e-3), null, steps, (-0.5, 1.2), (-1.2, 1.2), false,
        OptimizerKinds.All.ToDictionary(k => k, _ => 0.05));

    /// <summary>Rosenbrock's valley f = (1 − x)² + 100(y − x²)² from (−1.5, 2), minimum (1, 1). SGD-family lr 1e-3 (about
    /// 2/λ_max of the Hessian at the start, ≈ 1900: the largest stable one), adaptive lr 2e-2.</summary>
    public static TestSurface Rosenbrock(int steps) => new("rosenbrock", "Rosenbrock f = (1 − x)² + 100(y − x²)², start (−1.5, 2)",
        t =>
        {
            var x = Functional.Sum(Functional.Mul(t, E(0)));
            var y = Functional.Sum(Functional.Mul(t, E(1)));
            var a = Functional.Pow(Functional.Sub(Tensor.Scalar(1f), x), 2);
            var b = Functional.Pow(Functional.Sub(y, Functional.Pow(x, 2)), 2);
            return Functional.Add(a, Functional.MulScalar(b, 100f));
        },
        (x, y) => (1 - x) * (1 - x) + 100 * (y - x * x) * (y - x * x), (-1.5, 2), (1, 1), steps, (-2, 2), (-1, 3), true,
        OptimizerKinds.All.ToDictionary(k => k, k => k is OptimizerKind.Sgd or OptimizerKind.Momentum or OptimizerKind.Nesterov ? 1e-3 : 2e-2));

    /// <summary>An ill-conditioned bowl f = 0.5(x² + 100y²) (condition number 100) from (−5, 1). SGD lr 0.0198 = 2/(1 + 100), the
    /// best fixed rate for gradient descent on it; momentum/Nesterov 0.01 (Nesterov diverges at 0.0198 with momentum 0.9);
    /// adaptive lr 0.1.</summary>
    public static TestSurface Bowl(int steps) => new("bowl", "Ill-conditioned bowl f = 0.5(x² + 100 y²), start (−5, 1)",
        t => Functional.MulScalar(Functional.Sum(Functional.Mul(Tensor.FromArray([1f, 100f], 2), Functional.Pow(t, 2))), 0.5f),
        (x, y) => 0.5 * (x * x + 100 * y * y), (-5, 1), (0, 0), steps, (-6, 1), (-1.5, 1.5), false,
        OptimizerKinds.All.ToDictionary(k => k, k => k switch
        {
            OptimizerKind.Sgd => 2.0 / 101,
            OptimizerKind.Momentum or OptimizerKind.Nesterov => 0.01,
            _ => 0.1,
        }));
}
