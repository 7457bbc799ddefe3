using CnnLab.Nn;
using CnnLab.Optim;
using CnnLab.Optim.Schedules;

namespace CnnLab.Training;

/// <summary>Builds the optimizer and learning-rate schedule a <see cref="TrainingConfig"/> names.</summary>
public static class OptimizerFactory
{
    public static readonly string[] Optimizers = ["sgd", "adam", "adamw", "adamw-paper", "rmsprop"];

    public static readonly string[] Schedules = ["none", "cosine", "step", "onecycle", "warmup-cosine"];

    /// <summary>
    /// The optimizer over the model's parameters. Unless <see cref="TrainingConfig.DecayAll"/>, the
    /// parameters are split by <see cref="WeightDecayGroups"/>: weight decay on weights, none on
    /// biases and normalization parameters.
    /// </summary>
    public static Optimizer Create(TrainingConfig c, Module model)
    {
        double wd = c.WeightDecay ?? (c.Optimizer.StartsWith("adamw", StringComparison.Ordinal) ? AdamW.DefaultWeightDecay : 0);
        IEnumerable<ParamGroup> groups = c.DecayAll
            ? [new ParamGroup(model.Parameters(), weightDecay: wd, name: "all")]
            : WeightDecayGroups.Split(model, wd);
        return c.Optimizer switch
        {
            "sgd" => new SGD(groups, c.Lr, momentum: c.Momentum, nesterov: c.Nesterov, weightDecay: wd),
            "adam" => new Adam(groups, c.Lr, weightDecay: wd),
            "adamw" => new AdamW(groups, c.Lr, weightDecay: wd),
            "adamw-paper" => new AdamW(groups, c.Lr, weightDecay: wd, decay: DecoupledDecay.ScheduleScaled),
            "rmsprop" => new RMSprop(groups, c.Lr, weightDecay: wd, momentum: 0),
            _ => throw new ArgumentException($"unknown optimizer '{c.Optimizer}'"),
        };
    }

    /// <summary>
    /// The schedule, stepped once per optimizer step (so "cosine" anneals smoothly to 0 over the whole
    /// run); null for "none". To resume after k steps, create it on a fresh optimizer and call Step() k
    /// times (replaying the schedule is exact), then load the optimizer's state.
    /// </summary>
    public static LRScheduler? CreateSchedule(TrainingConfig c, Optimizer optimizer, long totalSteps)
    {
        int total = (int)Math.Max(1, Math.Min(int.MaxValue, totalSteps));
        switch (c.Schedule)
        {
            case "none": return null;
            case "cosine": return new CosineAnnealingLR(optimizer, total);
            case "step": return new StepLR(optimizer, Math.Max(1, total / 3), 0.1);
            case "onecycle":
                return new OneCycleLR(optimizer, optimizer.ParamGroups.Select(_ => c.Lr).ToArray(), total);
            case "warmup-cosine":
            {
                int warm = Math.Max(1, total / 20);
                var warmup = new LinearLR(optimizer, 0.01, 1.0, warm);
                var cosine = new CosineAnnealingLR(optimizer, Math.Max(1, total - warm));
                return new SequentialLR(optimizer, [warmup, cosine], [warm]);
            }
            default: throw new ArgumentException($"unknown schedule '{c.Schedule}'");
        }
    }
}
