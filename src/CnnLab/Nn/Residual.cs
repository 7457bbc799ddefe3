using CnnLab.Tensors;

namespace CnnLab.Nn;

/// <summary>
/// A residual block container: y = body(x) + shortcut(x), with the identity as the default
/// shortcut (He et al. 2016, "Deep Residual Learning for Image Recognition", arXiv:1512.03385).
/// Children are named "body" and, when given, "shortcut".
/// </summary>
/// <remarks>PyTorch has no single class for this; torchvision's BasicBlock is the closest.</remarks>
public sealed class Residual : Module
{
    public Residual(Module body, Module? shortcut = null)
    {
        Body = RegisterModule("body", body);
        if (shortcut is not null) Shortcut = RegisterModule("shortcut", shortcut);
    }

    public Module Body { get; }

    public Module? Shortcut { get; }

    protected override Tensor ForwardCore(Tensor input)
    {
        var (main, skip) = Branches(input);
        return Functional.Add(main, skip);
    }

    /// <summary>body(x) and shortcut(x), checked to match (the fusion pass adds them with the ReLU that follows).</summary>
    internal (Tensor Main, Tensor Skip) Branches(Tensor input)
    {
        var main = Body.Forward(input);
        var skip = Shortcut is null ? input : Shortcut.Forward(input);
        CheckBranches(main, skip);
        return (main, skip);
    }

    /// <summary>Throws unless the body's output and the shortcut's have one shape.</summary>
    internal static void CheckBranches(Tensor main, Tensor skip)
    {
        if (!Shape.Equal(main.Shape, skip.Shape))
            throw new ArgumentException($"Residual: body output {Shape.Format(main.Shape)} and shortcut output {Shape.Format(skip.Shape)} differ; "
                + "give a shortcut that matches");
    }
}
