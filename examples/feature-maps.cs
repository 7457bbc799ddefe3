#:project ../src/CnnLab.Viz/CnnLab.Viz.csproj
// Feature maps of a trained model to PNG (Zeiler & Fergus 2014, arXiv:1311.2901): trains cnn-small briefly, then draws
// the first layer's 32 filters and what each ReLU stage makes of one test image, read by forward hooks.
// Run: dotnet run examples/feature-maps.cs [-- STEPS [OUT]]   (default 200 steps, pictures in feature-maps/)
using CnnLab.Data;
using CnnLab.Nn;
using CnnLab.Nn.Models;
using CnnLab.Optim;
using CnnLab.Tensors;
using CnnLab.Viz;

int steps = args.Length > 0 ? int.Parse(args[0]) : 200;
string outDir = args.Length > 1 ? args[1] : "feature-maps";
Directory.CreateDirectory(outDir);
var data = FashionMnist.LoadEmbeddedSubset();
var model = (Sequential)ModelZoo.Create("cnn-small", new Generator(seed: 0));
var optimizer = new AdamW(WeightDecayGroups.Split(model), lr: 1e-3);
var loader = new DataLoader(data.Train, batchSize: 64, shuffle: true, seed: 0, normalize: Normalize.FashionMnist);
int step = 0;
for (int epoch = 0; step < steps; epoch++)
    foreach (var (x, y) in loader.Epoch(epoch))
    {
        optimizer.ZeroGrad();
        Functional.CrossEntropy(model.Forward(x), y).Backward();
        optimizer.Step();
        if (++step == steps) break;
    }

// The first conv layer's weight is [32, 1, 3, 3]: one tile per filter.
var conv = (Conv2d)model[0];
var w = conv.Weight;
var filters = FeatureMaps.Filters("first-layer filters", w.ToArray(), w.Shape[0], w.Shape[1], w.Shape[2], w.Shape[3],
    Path.Combine(outDir, "filters"));
Console.WriteLine($"filters: {filters.Png}");

// Test image 0 through the network; a forward hook on each ReLU keeps a copy of its output [1, C, H, W].
var maps = new List<(int Layer, Tensor Output)>();
var hooks = model.Layers.Select((layer, i) => (layer, i)).Where(l => l.layer is ReLU)
    .Select(l => l.layer.RegisterForwardHook((Module _, Tensor _, Tensor o) => { if (o.Rank == 4) maps.Add((l.i, o.Clone())); }))
    .ToList();
var image = new DataLoader(data.Test, batchSize: 1, normalize: Normalize.FashionMnist).Epoch(0).First();
model.Eval();
using (Autograd.NoGrad()) model.Forward(image.X);
foreach (var h in hooks) h.Dispose();
string label = data.Test.ClassNames[image.Y[0]];
foreach (var (layer, o) in maps)
{
    var figure = FeatureMaps.Grid($"layer {layer} ReLU, test image 0 ('{label}')", o.ToArray(), o.Shape[1], o.Shape[2], o.Shape[3],
        Path.Combine(outDir, $"relu-{layer}"));
    Console.WriteLine($"layer {layer} ReLU: {o.Shape[1]} maps of {o.Shape[2]}x{o.Shape[3]}, {figure.DeadMaps.Length} dead: {figure.Png}");
}
