using CnnLab.Data;
using CnnLab.Init.Networks;
using CnnLab.Nn;
using CnnLab.Tensors;
using CnnLab.Training;

namespace CnnLab.Web;

/// <summary>
/// The init doctor's numbers for a training job, at the start and after each epoch: per weight layer, the activation std
/// and weight-gradient std measured on a fixed batch of test images (<see cref="InitDoctor.Diagnose"/>, which leaves the
/// model as it was), the share of dead ReLUs, and the update:weight ratio ‖W − W_before‖ / ‖W_before‖ since the last
/// measurement (Karpathy's rule of thumb: about 1e-3 per step; here summed over an epoch's steps).
/// </summary>
internal sealed class LayerMonitor
{
    // Enough images for stable statistics, few enough to cost a fraction of one training step's time per layer.
    private const int ProbeImages = 64;

    private readonly Module _model;
    private readonly Tensor _probe;
    private readonly int[] _labels;
    private Dictionary<string, float[]> _before = [];

    public LayerMonitor(Module model, ImageDataset test, Normalize normalize)
    {
        _model = model;
        var batch = new DataLoader(test, Math.Min(ProbeImages, test.Count), normalize: normalize).Epoch(0).First();
        // The loader reuses its buffers: the probe keeps copies.
        _probe = batch.X.Clone();
        _labels = batch.Y.ToArray();
    }

    /// <summary>One row per weight layer (JSON-ready); NaN and Inf become null.</summary>
    public object[] Measure()
    {
        var report = InitDoctor.Diagnose(_model, _probe, _labels);
        var weights = WeightLayer.Find(_model).ToDictionary(l => l.Name, l => l.Weight.Values.ToArray());
        var rows = report.Layers.Select(l => (object)new
        {
            name = l.Name, activation = l.Activation, activation_std = Finite(l.ActivationStd), grad_std = Finite(l.GradStd),
            dead = l.DeadFraction is double d ? Finite(d) : null,
            update_ratio = _before.TryGetValue(l.Name, out var old) && weights.TryGetValue(l.Name, out var now) ? Finite(Ratio(old, now)) : null,
        }).ToArray();
        _before = weights;
        return rows;
    }

    private static double Ratio(float[] before, float[] after)
    {
        double change = 0, size = 0;
        for (int i = 0; i < before.Length; i++)
        {
            double d = after[i] - (double)before[i];
            change += d * d;
            size += (double)before[i] * before[i];
        }
        return Math.Sqrt(change) / Math.Sqrt(size);
    }

    private static double? Finite(double v) => double.IsFinite(v) ? v : null;
}
