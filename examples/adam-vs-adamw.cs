#:project ../src/CnnLab/CnnLab.csproj
// Adam with L2 regularization vs AdamW (Loshchilov & Hutter 2019, arXiv:1711.05101) on cnn-small, both with weight decay
// 0.05 on the weights only. Adam adds λw to the gradient, so the decay is divided by √v̂ like the gradient and weights
// with large gradients are hardly decayed; AdamW shrinks every weight by lr·λ·w, decoupled from the gradient.
// Run: dotnet run examples/adam-vs-adamw.cs [-- STEPS]   (steps per optimizer, default 300)
using CnnLab.Data;
using CnnLab.Nn;
using CnnLab.Nn.Models;
using CnnLab.Optim;
using CnnLab.Tensors;
using CnnLab.Training;

int steps = args.Length > 0 ? int.Parse(args[0]) : 300;
const double WeightDecay = 0.05;
var data = FashionMnist.LoadEmbeddedSubset();
foreach (string name in new[] { "Adam + L2", "AdamW" })
{
    var model = ModelZoo.Create("cnn-small", new Generator(seed: 0));
    var groups = WeightDecayGroups.Split(model, WeightDecay);   // the same decay on the weights, none on the biases
    Optimizer optimizer = name == "AdamW" ? new AdamW(groups, lr: 1e-3) : new Adam(groups, lr: 1e-3);
    var loader = new DataLoader(data.Train, batchSize: 64, shuffle: true, seed: 0, normalize: Normalize.FashionMnist);
    int step = 0;
    float loss = float.NaN;
    for (int epoch = 0; step < steps; epoch++)
        foreach (var (x, y) in loader.Epoch(epoch))
        {
            optimizer.ZeroGrad();
            var l = Functional.CrossEntropy(model.Forward(x), y);
            l.Backward();
            optimizer.Step();
            loss = l.Item();
            if (++step == steps) break;
        }
    var testLoader = new DataLoader(data.Test, 1000, normalize: Normalize.FashionMnist);
    var test = Evaluation.Run(model, testLoader.Epoch(0).Select(b => (b.X, b.Y)), data.Test.NumClasses);
    double weightNorm = Math.Sqrt(model.NamedParameters().Where(p => p.Name.EndsWith(".weight", StringComparison.Ordinal))
        .Sum(p => p.Parameter.ToArray().Sum(v => (double)v * v)));
    Console.WriteLine($"{name,-9}: {steps} steps, last batch loss {loss:0.000}, test accuracy {test.Accuracy * 100:0.00}%, "
        + $"|weights| {weightNorm:0.00}");
}
