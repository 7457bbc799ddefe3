using System.Globalization;
using System.Text;
using CnnLab.IO;
using CnnLab.Tensors;

namespace CnnLab.Nn.Models;

/// <summary>One row of a model summary: a leaf layer, its output shape and its parameter count.</summary>
public sealed record LayerSummary(string Name, string Type, int[] OutputShape, long Parameters);

/// <summary>
/// A torchinfo-style table of a model: every leaf layer in forward order with its output shape (for
/// a batch of one) and parameter count, found by running one forward pass with hooks.
/// </summary>
public sealed class ModelSummary
{
    private ModelSummary(IReadOnlyList<LayerSummary> layers, long total, long trainable)
    {
        Layers = layers;
        TotalParameters = total;
        TrainableParameters = trainable;
    }

    public IReadOnlyList<LayerSummary> Layers { get; }

    public long TotalParameters { get; }

    public long TrainableParameters { get; }

    /// <summary>Summarizes <paramref name="model"/> for inputs of shape [1, ..<paramref name="inputShape"/>].</summary>
    public static ModelSummary Of(Module model, int[] inputShape)
    {
        var rows = new List<LayerSummary>();
        var handles = new List<IDisposable>();
        foreach (var (name, module) in model.NamedModules())
        {
            if (module.Children().Any()) continue;
            long count = module.OwnParameters().Sum(p => (long)p.Parameter.Numel);
            handles.Add(module.RegisterForwardHook((m, _, output) =>
                rows.Add(new LayerSummary(name, m.GetType().Name, (int[])output.Shape.Clone(), count))));
        }
        bool wasTraining = model.Training;
        model.Eval();
        try
        {
            using var _ = Autograd.NoGrad();
            model.Forward(new Tensor([1, .. inputShape]));
        }
        finally
        {
            model.Train(wasTraining);
            foreach (var h in handles) h.Dispose();
        }
        var all = model.Parameters().ToList();
        return new ModelSummary(rows, all.Sum(p => (long)p.Numel), all.Where(p => p.RequiresGrad).Sum(p => (long)p.Numel));
    }

    /// <summary>Elements of every layer's output for one image (what a forward pass keeps per image).</summary>
    public long ActivationElementsPerImage => Layers.Aggregate(0L, (sum, l) => Saturating.Add(sum, Saturating.Product(l.OutputShape)));

    /// <summary>The width of the last layer's output: how many classes the model scores.</summary>
    public int Outputs => Layers.Count == 0 || Layers[^1].OutputShape.Length != 2 ? 0 : Layers[^1].OutputShape[1];

    /// <summary>
    /// Throws unless a batch of <paramref name="batch"/> images fits <see cref="Budgets.MaxActivationBytes"/>
    /// (the inputs and every layer's output); <paramref name="what"/> names the setting in the message.
    /// </summary>
    public void CheckBatch(long batch, int[] inputShape, string what)
    {
        long perImage = Saturating.Add(ActivationElementsPerImage, Saturating.Product(inputShape));
        Budgets.CheckActivationBytes(Saturating.Multiply(Saturating.Multiply(perImage, sizeof(float)), batch), what);
    }

    /// <summary>The table as text.</summary>
    public string ToText()
    {
        var sb = new StringBuilder();
        int nameWidth = Math.Max(5, Layers.Select(l => l.Name.Length + l.Type.Length + 3).DefaultIfEmpty(0).Max());
        sb.AppendLine($"{"Layer".PadRight(nameWidth)}  {"Output shape",-18}  {"Param #",12}");
        sb.AppendLine(new string('-', nameWidth + 34));
        foreach (var l in Layers)
            sb.AppendLine($"{(l.Name + " (" + l.Type + ")").PadRight(nameWidth)}  {Shape.Format(l.OutputShape),-18}  "
                + $"{l.Parameters.ToString("N0", CultureInfo.InvariantCulture),12}");
        sb.AppendLine(new string('-', nameWidth + 34));
        sb.AppendLine($"Total params: {TotalParameters.ToString("N0", CultureInfo.InvariantCulture)}");
        sb.Append($"Trainable params: {TrainableParameters.ToString("N0", CultureInfo.InvariantCulture)}");
        return sb.ToString();
    }
}
