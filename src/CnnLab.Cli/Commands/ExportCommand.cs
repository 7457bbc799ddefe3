using System.CommandLine;
using CnnLab.Nn;
using CnnLab.Serialization;
using CnnLab.Serialization.Onnx;
using CnnLab.Tensors;
using CnnLab.Training;
using CnnLab.IO;
using CnnLab.Cli.Support;

namespace CnnLab.Cli.Commands;

/// <summary>
/// <c>cnnlab export onnx --checkpoint DIR --out model.onnx [--softmax]</c> (or <c>--model NAME --weights FILE</c>):
/// the trained model as an ONNX graph (opset 17, dynamic batch axis) for ONNX Runtime and other runtimes.
/// </summary>
public static class ExportCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var checkpoint = new Option<string?>("--checkpoint") { Description = "a checkpoint folder written by 'cnnlab train'" };
        var model = new Option<string?>("--model") { Description = "zoo model or JSON spec (with --weights)" };
        var weights = new Option<string?>("--weights") { Description = "a safetensors file with the model's state_dict" };
        var output = new Option<string>("--out") { Description = "the .onnx file to write", Required = true };
        var softmax = new Option<bool>("--softmax") { Description = "end the graph with Softmax: output 'probabilities' instead of 'logits'" };
        var inGraph = new Option<bool>("--normalize-in-graph")
        {
            Description = "start the graph with the model's normalization, so that its input is pixels / 255 (default: normalized input; "
                + "the mean, std and class names are in the file's metadata either way)",
        };
        var onnx = new Command("onnx", "Export to ONNX (opset 17; Conv, Gemm, pools, BatchNormalization in inference form; Dropout removed).")
            { checkpoint, model, weights, output, softmax, inGraph };
        onnx.SetAction(p => CliErrors.Guard(stderr, () =>
        {
            string outPath = p.GetValue(output)!;
            string? folder = Path.GetDirectoryName(Path.GetFullPath(outPath));
            if (folder is null || !Directory.Exists(folder)) throw new UsageException($"--out: folder '{folder}' does not exist");
            var trained = ModelArguments.Load(p.GetValue(checkpoint), p.GetValue(model), p.GetValue(weights));
            var (net, inputShape, config) = (trained.Model, trained.InputShape, trained.Config);
            bool probabilities = p.GetValue(softmax), normalizeInGraph = p.GetValue(inGraph);
            var preprocessing = new OnnxPreprocessing(config.Normalization, normalizeInGraph, config.Classes, config.CenterCrop);
            OnnxExporter.Export(net, inputShape, outPath, probabilities, preprocessing);
            stdout.WriteLine($"wrote {outPath}: input 'input' [N, {string.Join(", ", inputShape)}] "
                + (normalizeInGraph ? "of pixels / 255 (normalized in the graph)" : $"normalized with {config.Normalization}")
                + $", output '{(probabilities ? "probabilities" : "logits")}', opset {OnnxExporter.Opset}; class names in the metadata");
            return CliErrors.Ok;
        }));
        return new Command("export", "Export a trained model to another format.") { onnx, PyTorchExportCommand.Create(stdout, stderr) };
    }
}
