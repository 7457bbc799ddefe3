using CnnLab.Tensors;

namespace CnnLab.Nn;

/// <summary>
/// Batch normalization (Ioffe &amp; Szegedy 2015, arXiv:1502.03167): y = (x − E[x])/√(Var[x] + eps)·γ + β
/// per channel. Training uses the batch's statistics (biased variance) and updates running_mean and
/// running_var (unbiased) with momentum 0.1; evaluation uses the running statistics. γ starts at 1,
/// β at 0; running_mean at 0, running_var at 1. State-dict keys: weight, bias, running_mean,
/// running_var, num_batches_tracked (as PyTorch).
/// </summary>
/// <remarks>PyTorch: <c>torch.nn.BatchNorm1d/2d(num_features, eps=1e-5, momentum=0.1, affine=True,
/// track_running_stats=True)</c>. num_batches_tracked is kept as a float32 scalar (exact to 2²⁴ batches)
/// and written as int64 in checkpoints.</remarks>
public abstract class BatchNorm : Module
{
    /// <summary>PyTorch's default eps.</summary>
    public const float DefaultEps = 1e-5f;

    /// <summary>PyTorch's default momentum.</summary>
    public const double DefaultMomentum = 0.1;

    protected BatchNorm(int numFeatures, float eps, double? momentum, bool affine, bool trackRunningStats)
    {
        if (numFeatures <= 0) throw new ArgumentOutOfRangeException(nameof(numFeatures), numFeatures, "BatchNorm numFeatures must be positive");
        if (eps <= 0) throw new ArgumentOutOfRangeException(nameof(eps), eps, "BatchNorm eps must be positive");
        NumFeatures = numFeatures;
        Eps = eps;
        Momentum = momentum;
        if (affine)
        {
            Weight = RegisterParameter("weight", new Parameter(Tensor.Ones(numFeatures)));
            Bias = RegisterParameter("bias", new Parameter(numFeatures));
        }
        if (trackRunningStats)
        {
            RunningMean = RegisterBuffer("running_mean", Tensor.Zeros(numFeatures));
            RunningVar = RegisterBuffer("running_var", Tensor.Ones(numFeatures));
            NumBatchesTracked = RegisterBuffer("num_batches_tracked", Tensor.Scalar(0f));
        }
    }

    public int NumFeatures { get; }

    public float Eps { get; }

    /// <summary>Running-average factor; null for a cumulative average.</summary>
    public double? Momentum { get; }

    /// <summary>γ [C], or null without affine.</summary>
    public Parameter? Weight { get; }

    /// <summary>β [C], or null without affine.</summary>
    public Parameter? Bias { get; }

    public Tensor? RunningMean { get; }

    public Tensor? RunningVar { get; }

    public Tensor? NumBatchesTracked { get; }

    /// <summary>The input ranks this variant accepts (2/3 for 1d, 4 for 2d).</summary>
    protected abstract bool AcceptsRank(int rank);

    /// <summary>Expected input description for errors.</summary>
    protected abstract string ExpectedInput { get; }

    protected override Tensor ForwardCore(Tensor input)
    {
        CheckInput(input);
        double factor = CountBatch();
        return Functional.BatchNorm(input, RunningMean, RunningVar, Weight, Bias, Training, factor, Eps);
    }

    /// <summary>Throws when <paramref name="input"/>'s rank or channel count is not this layer's (also for the fusion pass).</summary>
    internal void CheckInput(Tensor input)
    {
        if (!AcceptsRank(input.Rank))
            throw new ArgumentException($"{GetType().Name} expected {ExpectedInput} input, got shape {Shape.Format(input.Shape)}");
        if (input.Shape[1] != NumFeatures)
            throw new ArgumentException(
                $"{GetType().Name}({NumFeatures}) got input with {input.Shape[1]} channels (shape {Shape.Format(input.Shape)})");
    }

    /// <summary>Counts a training batch (<see cref="NumBatchesTracked"/>); returns the running statistics' update factor (0 in eval).</summary>
    internal double CountBatch()
    {
        if (!Training || NumBatchesTracked is null) return 0;
        NumBatchesTracked.Elements[0] += 1f;
        NumBatchesTracked.NoteWrite();
        return Momentum ?? 1.0 / NumBatchesTracked.Elements[0];
    }

    protected override string ExtraRepr() =>
        FormattableString.Invariant($"{NumFeatures}, eps={Eps}, ")
        + FormattableString.Invariant(
            $"momentum={(Momentum is double m ? m.ToString(System.Globalization.CultureInfo.InvariantCulture) : "None")}, ")
        + FormattableString.Invariant($"affine={(Weight is not null ? "True" : "False")}, ")
        + FormattableString.Invariant($"track_running_stats={(RunningMean is not null ? "True" : "False")}");
}

/// <summary>Batch norm over [N, C] or [N, C, L]. <remarks>PyTorch: <c>torch.nn.BatchNorm1d</c>.</remarks></summary>
public sealed class BatchNorm1d(int numFeatures, float eps = BatchNorm.DefaultEps, double? momentum = BatchNorm.DefaultMomentum,
    bool affine = true, bool trackRunningStats = true) : BatchNorm(numFeatures, eps, momentum, affine, trackRunningStats)
{
    protected override bool AcceptsRank(int rank) => rank is 2 or 3;

    protected override string ExpectedInput => "2D or 3D ([N, C] or [N, C, L])";
}

/// <summary>Batch norm over [N, C, H, W] per channel. <remarks>PyTorch: <c>torch.nn.BatchNorm2d</c>.</remarks></summary>
public sealed class BatchNorm2d(int numFeatures, float eps = BatchNorm.DefaultEps, double? momentum = BatchNorm.DefaultMomentum,
    bool affine = true, bool trackRunningStats = true) : BatchNorm(numFeatures, eps, momentum, affine, trackRunningStats)
{
    protected override bool AcceptsRank(int rank) => rank == 4;

    protected override string ExpectedInput => "4D ([N, C, H, W])";
}
