#:project ../src/CnnLab/CnnLab.csproj
// Xavier vs Kaiming through 30 layers (He et al. 2015, arXiv:1502.01852): plain-cnn-30 (30 3x3 conv layers with ReLU, no
// BatchNorm) initialized both ways. Xavier's variance 2/(fan_in+fan_out) ignores that a ReLU halves the variance, so the
// signal and the first layer's gradient fade by orders of magnitude on the way (about (1/√2)^29 for the gradient);
// Kaiming's 2/fan_in compensates. Then each network trains for STEPS SGD steps: compare the losses with chance.
// Run: dotnet run examples/init-depth.cs [-- STEPS]   (training steps per scheme, default 100)
using CnnLab.Data;
using CnnLab.Init.Networks;
using CnnLab.Nn;
using CnnLab.Nn.Models;
using CnnLab.Optim;
using CnnLab.Tensors;

int steps = args.Length > 0 ? int.Parse(args[0]) : 100;
var data = FashionMnist.LoadEmbeddedSubset();
foreach (string scheme in new[] { "xavier-normal", "kaiming-normal" })
{
    var generator = new Generator(seed: 0);
    var model = (Sequential)ModelZoo.Create("plain-cnn-30", generator);
    InitScheme.Parse(scheme).Apply(model, generator);

    // The standard deviation of every ReLU's output on one batch, read by forward hooks.
    var stds = new List<double>();
    var hooks = model.Layers.OfType<ReLU>().Select(r => r.RegisterForwardHook((Module _, Tensor _, Tensor o) => stds.Add(Std(o.Data)))).ToList();
    var loader = new DataLoader(data.Train, batchSize: 64, shuffle: true, seed: 0, normalize: Normalize.FashionMnist);
    var (x, y) = loader.Epoch(0).First();
    Functional.CrossEntropy(model.Forward(x), y).Backward();
    foreach (var h in hooks) h.Dispose();
    var firstWeight = model.NamedParameters().First().Parameter;
    Console.WriteLine($"{scheme}: activation std after ReLU 1, 10, 20, 30: {stds[0]:G3}, {stds[9]:G3}, {stds[19]:G3}, {stds[29]:G3}; "
        + $"first-layer |gradient| {Norm(firstWeight.Grad!.Data):G3}");

    var optimizer = new SGD(model.Parameters(), lr: 0.01, momentum: 0.9);
    float loss = float.NaN;
    int step = 0;
    for (int epoch = 0; step < steps; epoch++)
        foreach (var (xb, yb) in loader.Epoch(epoch))
        {
            optimizer.ZeroGrad();
            var l = Functional.CrossEntropy(model.Forward(xb), yb);
            l.Backward();
            optimizer.Step();
            loss = l.Item();
            if (++step == steps) break;
        }
    Console.WriteLine($"{scheme}: loss after {steps} SGD steps {loss:0.000} (chance: ln 10 = 2.303)");
}

static double Std(ReadOnlySpan<float> v)
{
    double mean = 0, squares = 0;
    foreach (float f in v) mean += f;
    mean /= v.Length;
    foreach (float f in v) squares += (f - mean) * (f - mean);
    return Math.Sqrt(squares / v.Length);
}

static double Norm(ReadOnlySpan<float> v)
{
    double s = 0;
    foreach (float f in v) s += (double)f * f;
    return Math.Sqrt(s);
}
