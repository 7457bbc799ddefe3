#:project ../src/CnnLab/CnnLab.csproj
// Loads weights written by PyTorch and predicts. In Python:
//     from safetensors.torch import save_file
//     save_file(model.state_dict(), "cnn_small.safetensors")   # model: the cnn-small twin in tools/reference/models.py
// CnnLab's zoo models have exactly the state_dict names of their PyTorch twins, so the file loads as it is. The default
// file is the repository's fixture (tools/reference/make_interop_fixtures.py): cnn-small after 20 SGD steps in
// PyTorch 1.13, with a batch "input" and PyTorch's own "logits" for it, which the predictions here are compared with.
// Run: dotnet run examples/load-pytorch.cs [-- FILE.safetensors]   (from the repository's root)
using CnnLab.Data;
using CnnLab.Nn;
using CnnLab.Nn.Models;
using CnnLab.Serialization;
using CnnLab.Tensors;

string path = args.Length > 0 ? args[0] : "tests/CnnLab.Tests/Fixtures/interop/pytorch_cnn_small.safetensors";
var file = SafeTensors.Load(path).Tensors;
var model = ModelZoo.Create("cnn-small", new Generator(seed: 0));
var weights = file.Where(t => t.Key is not ("input" or "logits")).ToDictionary(t => t.Key, t => t.Value);
model.LoadStateDict(weights);   // strict: every name and shape must match, or it says which does not
Console.WriteLine($"loaded {weights.Count} tensors from {path}");

model.Eval();
using var noGrad = Autograd.NoGrad();
var input = file.TryGetValue("input", out var x) ? x : Tensor.Zeros([1, 1, 28, 28]);
var probabilities = Functional.Softmax(model.Forward(input), axis: 1);
var classes = FashionMnist.ClassNames;
for (int n = 0; n < input.Shape[0]; n++)
{
    var p = probabilities.Data.Slice(n * 10, 10).ToArray();
    var top = Enumerable.Range(0, 10).OrderByDescending(c => p[c]).Take(3).Select(c => $"{classes[c]} {p[c]:0.000}");
    Console.WriteLine($"input {n}: {string.Join(", ", top)}");
}
if (file.TryGetValue("logits", out var pytorchLogits))
{
    var logits = model.Forward(input);
    double diff = logits.ToArray().Zip(pytorchLogits.ToArray(), (a, b) => Math.Abs((double)a - b)).Max();
    Console.WriteLine($"largest difference from PyTorch's logits: {diff:E2}");
}
