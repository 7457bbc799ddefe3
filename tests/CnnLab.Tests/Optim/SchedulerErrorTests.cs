using CnnLab.Optim;
using CnnLab.Optim.Schedules;
using CnnLab.Tensors;
using Xunit;

namespace CnnLab.Tests;

public class SchedulerErrorTests
{
    private static SGD Opt() => new([Tensor.Zeros(2)], lr: 0.1, momentum: 0.9);

    [Fact]
    public void InvalidSchedulerArgumentsGivePyTorchMessages()
    {
        Assert.Equal("Starting multiplicative factor expected to be between 0 and 1.",
            Assert.Throws<ArgumentException>(() => new LinearLR(Opt(), startFactor: 1.5)).Message);
        Assert.Equal("Factor should be < 1.0.", Assert.Throws<ArgumentException>(() => new ReduceLROnPlateau(Opt(), factor: 1.0)).Message);
        var o = Opt();
        var a = new LinearLR(o);
        Assert.StartsWith("Sequential Schedulers expects number of schedulers provided to be one more",
            Assert.Throws<ArgumentException>(() => new SequentialLR(o, [a], [5])).Message);
        Assert.Equal("param 'initial_lr' is not specified in param_groups[0] when resuming an optimizer",
            Assert.Throws<ArgumentException>(() => new StepLR(Opt(), 3, lastEpoch: 4)).Message);
    }

    [Fact]
    public void OneCycleRefusesToStepPastTotalSteps()
    {
        var s = new OneCycleLR(Opt(), [0.5], totalSteps: 3);
        for (int i = 0; i < 3; i++) s.Step();
        var e = Assert.Throws<InvalidOperationException>(s.Step);
        Assert.Equal("Tried to step 5 times. The specified number of total steps is 3", e.Message);
    }
}
