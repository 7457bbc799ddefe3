using CnnLab.Lab.Sweeps;
using CnnLab.Nn;
using CnnLab.Optim;
using CnnLab.Tensors;

namespace CnnLab.Lab.Experiments;

/// <summary>
/// What <see cref="AdamVsAdamWExperiment"/> reads inside a cell beyond accuracy: ‖W‖₂ of the decayed weights (the
/// optimizer's first group, [decay]) before training and after every step, and at the end the median √v̂ of Adam's
/// second moments over those weights.
/// </summary>
internal sealed class DecayNormProbe : ICellProbe
{
    private Optimizer? _optimizer;
    private IReadOnlyList<Tensor> _decayed = [];
    private readonly List<double> _norms = [];

    public void Start(Module model, Optimizer optimizer)
    {
        _optimizer = optimizer;
        _decayed = optimizer.ParamGroups[0].Params;
        _norms.Add(Norm(_decayed));
    }

    public void AfterStep(int step) => _norms.Add(Norm(_decayed));

    /// <summary>‖W‖ before training and after each of the steps (NaN where the step's loss was not finite, and after).</summary>
    public double[] Norms(double[] losses)
    {
        var norms = Enumerable.Repeat(double.NaN, losses.Length + 1).ToArray();
        for (int s = 0; s < Math.Min(_norms.Count, norms.Length); s++) norms[s] = _norms[s];
        for (int s = 1; s <= losses.Length; s++) if (double.IsNaN(losses[s - 1])) norms[s] = double.NaN;
        return norms;
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
    public double MedianSqrtVHat()
    {
        if (_optimizer is null) return double.NaN;
        var all = new List<float>();
        double beta2 = ((AdamOptions)_optimizer.ParamGroups[0].Options).Beta2;
        foreach (var p in _decayed)
        {
            var state = _optimizer.StateOf(p);
            if (state is null || state.Step == 0) continue;
            double correction = 1 - Math.Pow(beta2, state.Step);
            foreach (float v in state.Buffer("exp_avg_sq", p).Data) all.Add((float)Math.Sqrt(v / correction));
        }
        if (all.Count == 0) return double.NaN;
        all.Sort();
        return all[all.Count / 2];
    }
}
