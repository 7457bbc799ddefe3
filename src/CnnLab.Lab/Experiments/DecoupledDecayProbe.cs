using CnnLab.Nn;
using CnnLab.Tensors;

namespace CnnLab.Lab.Experiments;

/// <summary>Per-step shrink of two weights under each <see cref="DecayMethod"/>, measured with the library's optimizers.</summary>
internal sealed record DecayProbeResult(DecayMethod Method, double Lr, double Lambda, double ShrinkZeroGrad, double ShrinkLargeGrad);

/// <summary>
/// The decoupling made mechanical. A two-element parameter θ = (1, 1) is trained on the loss
/// L = c_t·θ with c_t = (0, ±1 alternating): coordinate 0 has no loss gradient at all, coordinate 1 a
/// large zero-mean one. The weight decay is then the only thing that moves θ₀ on average, so the mean
/// per-step relative shrink (θ(0) − θ(T)) / (T·θ(0)), minus the same run with λ = 0 (which removes the
/// drift of the ±1 gradient), is the decay each method really applies. Adam + L2 adds λθ to the gradient
/// and divides it by √v̂: for θ₀, √v̂ ≈ λθ₀, so it moves by ≈ lr per step whatever λ is; for θ₁, √v̂ ≈ 1, so
/// it decays by ≈ lr·λ. AdamW shrinks both by exactly lr·λ (paper form without schedule: η = 1, λ per step).
/// </summary>
internal static class DecoupledDecayProbe
{
    public static DecayProbeResult Measure(DecayMethod method, double lr, double lambda, int steps)
    {
        var (zero, large) = Shrink(method, lr, lambda, steps);
        var (zero0, large0) = Shrink(method, lr, 0, steps);
        return new DecayProbeResult(method, lr, lambda, zero - zero0, large - large0);
    }

    private static (double Zero, double Large) Shrink(DecayMethod method, double lr, double lambda, int steps)
    {
        var theta = new Parameter(Tensor.FromArray([1f, 1f], 2));
        var optimizer = DecayMethods.Create(method, [new Optim.ParamGroup([theta])], lr, lambda);
        for (int t = 0; t < steps; t++)
        {
            optimizer.ZeroGrad();
            var c = Tensor.FromArray([0f, t % 2 == 0 ? 1f : -1f], 2);
            Functional.Sum(Functional.Mul(c, theta)).Backward();
            optimizer.Step();
        }
        return ((1 - theta.Data[0]) / steps, (1 - theta.Data[1]) / steps);
    }
}
