#:project ../src/CnnLab/CnnLab.csproj
// The README's training loop: cnn-small on the embedded Fashion-MNIST subset with AdamW.
// Run: dotnet run examples/train.cs [-- STEPS]   (STEPS stops it early; the default trains 3 epochs)
using CnnLab.Data;
using CnnLab.Nn;
using CnnLab.Nn.Models;
using CnnLab.Optim;
using CnnLab.Tensors;
using CnnLab.Training;

long maxSteps = args.Length > 0 ? long.Parse(args[0]) : long.MaxValue;
var data = FashionMnist.LoadEmbeddedSubset();                      // or FashionMnist.Load("/usr/share/datasets/fashion-mnist")
var model = ModelZoo.Create("cnn-small", new Generator(seed: 0));  // Conv-ReLU-Pool ×2, Flatten, Linear ×2
var optimizer = new AdamW(WeightDecayGroups.Split(model), lr: 1e-3); // decay on weights, none on biases
var loader = new DataLoader(data.Train, batchSize: 128, shuffle: true, seed: 0);
long step = 0;
for (int epoch = 0; epoch < 3 && step < maxSteps; epoch++)
{
    foreach (var (x, y) in loader.Epoch(epoch))
    {
        optimizer.ZeroGrad();
        var loss = Functional.CrossEntropy(model.Forward(x), y);
        loss.Backward();
        optimizer.Step();
        if (++step == maxSteps) break;
    }
    var test = Evaluation.Run(model, new DataLoader(data.Test, 1000).Epoch(0).Select(b => (b.X, b.Y)), data.Test.NumClasses);
    Console.WriteLine($"epoch {epoch + 1}: {step} steps, test loss {test.Loss:0.0000}, test accuracy {test.Accuracy * 100:0.00}%");
}
