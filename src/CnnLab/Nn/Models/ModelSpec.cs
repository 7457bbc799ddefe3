using System.Text.Json;
using CnnLab.Tensors;
using CnnLab.IO;

namespace CnnLab.Nn.Models;

/// <summary>
/// A model described in JSON, built as a <see cref="Sequential"/>:
/// <code>
/// { "name": "my-net", "input": [1, 28, 28],
///   "layers": [ { "type": "conv2d", "out_channels": 32, "kernel_size": 3, "padding": 1 },
///               { "type": "relu" }, { "type": "maxpool2d", "kernel_size": 2 },
///               { "type": "flatten" }, { "type": "linear", "out_features": 10 } ] }
/// </code>
/// Input channels and features are inferred from the previous layer's output (give
/// <c>in_channels</c>/<c>in_features</c> to have them checked). Field names follow PyTorch's
/// constructor arguments. Every error names the file, the layer index and the field.
/// </summary>
public static class ModelSpec
{
    private static readonly string[] Types =
        ["conv2d", "linear", "relu", "leaky_relu", "sigmoid", "tanh", "gelu", "elu", "maxpool2d", "avgpool2d",
         "adaptive_avgpool2d", "batchnorm2d", "batchnorm1d", "flatten", "dropout", "identity"];

    /// <summary>Reads and builds a spec file; errors are <see cref="InvalidFileException"/>.</summary>
    public static (Sequential Model, int[] InputShape, string Name) Load(string path, Generator generator)
    {
        return Parse(Budgets.ReadTextFile(path, "model spec"), path, generator);
    }

    /// <summary>Builds a model from spec JSON; <paramref name="path"/> names the source in errors.</summary>
    public static (Sequential Model, int[] InputShape, string Name) Parse(string json, string path, Generator generator)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json,
                new JsonDocumentOptions { MaxDepth = 16, CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e) { throw new InvalidFileException(path, $"not valid JSON: {e.Message}"); }
        using var _ = doc;
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw new InvalidFileException(path, "the spec must be a JSON object with \"layers\"");
        IO.JsonStrings.Check(root, path);
        string name = root.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String
            ? n.GetString()!
            : Path.GetFileNameWithoutExtension(path);
        int[] input = [1, 28, 28];
        if (root.TryGetProperty("input", out var inp))
        {
            if (inp.ValueKind != JsonValueKind.Array || inp.GetArrayLength() is not (1 or 3))
                throw new InvalidFileException(path, "field 'input' must be [channels, height, width] or [features]");
            input = inp.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int v) && v > 0 && v <= 4096 ? v
                : throw new InvalidFileException(path, "field 'input' must hold integers between 1 and 4096")).ToArray();
        }
        if (!root.TryGetProperty("layers", out var layers) || layers.ValueKind != JsonValueKind.Array)
            throw new InvalidFileException(path, "missing field 'layers' (an array of layer objects)");
        if (layers.GetArrayLength() == 0) throw new InvalidFileException(path, "field 'layers' is empty");
        foreach (var p in root.EnumerateObject())
            if (p.Name is not ("name" or "input" or "layers"))
                throw new InvalidFileException(path, $"unknown top-level field '{p.Name}' (expected name, input, layers)");

        var model = new Sequential();
        var shape = new[] { 1 }.Concat(input).ToArray();
        int index = 0;
        long parameters = 0;
        // Sized before anything is allocated: a layer's parameters from its fields, its output from shape arithmetic.
        void Reserve(long count) => Budgets.CheckParameters(parameters = Saturating.Add(parameters, count), "the model");
        foreach (var layer in layers.EnumerateArray())
        {
            var reader = new LayerFields(layer, path, index);
            Module module;
            try
            {
                module = Build(reader, shape, generator, Reserve);
                Budgets.CheckActivationBytes(Saturating.Multiply(OutputElementsAtMost(module, shape), sizeof(float)),
                    "its output for one image");
            }
            catch (ArgumentException e) { throw new InvalidFileException(path, $"layer {index} ({reader.Type}): {e.Message}"); }
            reader.RejectUnknown();
            model.Add(module);
            try
            {
                using var __ = Autograd.NoGrad();
                module.Eval();
                shape = module.Forward(new Tensor(shape)).Shape;
                module.Train();
            }
            catch (ArgumentException e)
            {
                throw new InvalidFileException(path, $"layer {index} ({reader.Type}) cannot take input of shape {Shape.Format(shape)}: {e.Message}");
            }
            index++;
        }
        return (model, input, name);
    }

    // An upper bound of a layer's output elements for the input shape, from the layer's sizes alone.
    private static long OutputElementsAtMost(Module module, int[] shape)
    {
        long input = Saturating.Product(shape);
        if (shape.Length != 4) return module is Linear l ? Saturating.Multiply(shape[0], l.OutFeatures) : input;
        long n = shape[0], c = shape[1], h = shape[2], w = shape[3];
        return module switch
        {
            Conv2d conv => Saturating.Product(n, conv.OutChannels, Math.Max(0, h + 2L * conv.Padding.H), Math.Max(0, w + 2L * conv.Padding.W)),
            MaxPool2d pool => Saturating.Product(n, c, h + 2L * pool.Padding.H + 1, w + 2L * pool.Padding.W + 1),
            AvgPool2d pool => Saturating.Product(n, c, h + 2L * pool.Padding.H + 1, w + 2L * pool.Padding.W + 1),
            AdaptiveAvgPool2d pool => Saturating.Product(n, c, pool.OutputSize.H, pool.OutputSize.W),
            _ => input,
        };
    }

    private static Module Build(LayerFields f, int[] shape, Generator g, Action<long> reserve)
    {
        int Channels() => shape.Length == 4 ? shape[1]
            : throw new ArgumentException($"needs a 4-D input [N, C, H, W] but the previous layer gives {Shape.Format(shape)}");
        int Features() => shape.Length == 2 ? shape[1]
            : throw new ArgumentException(
                $"needs a 2-D input [N, features] but the previous layer gives {Shape.Format(shape)} (add a flatten layer)");
        switch (f.Type)
        {
            case "conv2d":
            {
                int inC = f.Int("in_channels", Channels());
                if (inC != Channels()) throw new ArgumentException($"field 'in_channels' is {inC} but the input has {Channels()} channels");
                int oc = f.RequiredInt("out_channels"), k = f.RequiredInt("kernel_size"), groups = f.Int("groups", 1);
                if (oc > 0 && k > 0 && groups > 0) reserve(Saturating.Add(Saturating.Product(oc, inC / groups, k, k), oc));
                return new Conv2d(inC, f.RequiredInt("out_channels"), f.RequiredInt("kernel_size"), stride: f.Int("stride", 1),
                    padding: f.Int("padding", 0), dilation: f.Int("dilation", 1), groups: f.Int("groups", 1), bias: f.Bool("bias", true),
                    generator: g);
            }
            case "linear":
            {
                int inF = f.Int("in_features", Features());
                if (inF != Features()) throw new ArgumentException($"field 'in_features' is {inF} but the input has {Features()} features");
                int outF = f.RequiredInt("out_features");
                if (outF > 0) reserve(Saturating.Multiply(inF + 1L, outF));
                return new Linear(inF, f.RequiredInt("out_features"), f.Bool("bias", true), g);
            }
            case "relu": return new ReLU();
            case "leaky_relu": return new LeakyReLU(f.Float("negative_slope", 0.01f));
            case "sigmoid": return new Sigmoid();
            case "tanh": return new Tanh();
            case "gelu": return new GELU();
            case "elu": return new ELU(f.Float("alpha", 1f));
            case "maxpool2d":
            {
                int k = f.RequiredInt("kernel_size");
                return new MaxPool2d(k, f.Int("stride", k), f.Int("padding", 0), ceilMode: f.Bool("ceil_mode", false));
            }
            case "avgpool2d":
            {
                int k = f.RequiredInt("kernel_size");
                return new AvgPool2d(k, f.Int("stride", k), f.Int("padding", 0), ceilMode: f.Bool("ceil_mode", false),
                    countIncludePad: f.Bool("count_include_pad", true));
            }
            case "adaptive_avgpool2d":
                return new AdaptiveAvgPool2d(f.Int("output_size", 1));
            case "batchnorm2d":
            {
                int features = f.Int("num_features", Channels());
                reserve(4L * Math.Max(0, features));
                return new BatchNorm2d(features, f.Float("eps", 1e-5f), f.Float("momentum", 0.1f));
            }
            case "batchnorm1d":
            {
                int features = f.Int("num_features", shape.Length >= 2 ? shape[1] : 0);
                reserve(4L * Math.Max(0, features));
                return new BatchNorm1d(features, f.Float("eps", 1e-5f), f.Float("momentum", 0.1f));
            }
            case "flatten": return new Flatten(f.Int("start_dim", 1), f.Int("end_dim", -1));
            case "dropout": return new Dropout(f.Float("p", 0.5f), g);
            case "identity": return new Identity();
            default: throw new ArgumentException("unreachable");
        }
    }

    // Typed access to one layer object's fields, remembering which were read.
    private sealed class LayerFields
    {
        private readonly JsonElement _e;
        private readonly string _path;
        private readonly int _index;
        private readonly HashSet<string> _read = ["type"];

        public LayerFields(JsonElement e, string path, int index)
        {
            _e = e;
            _path = path;
            _index = index;
            if (e.ValueKind != JsonValueKind.Object) throw Error("must be an object with a \"type\"");
            if (!e.TryGetProperty("type", out var t) || t.ValueKind != JsonValueKind.String)
                throw Error("missing field 'type'");
            var type = t.GetString()!.ToLowerInvariant();
            if (!Types.Contains(type)) throw Error($"field 'type' is '{t.GetString()}', expected one of {string.Join(", ", Types)}");
            Type = type;
        }

        public string? Type { get; }

        private InvalidFileException Error(string message) => new(_path, $"layer {_index}{(Type is null ? "" : $" ({Type})")}: {message}");

        public int RequiredInt(string field)
        {
            if (!_e.TryGetProperty(field, out _)) throw Error($"missing field '{field}'");
            return Int(field, 0);
        }

        public int Int(string field, int fallback)
        {
            _read.Add(field);
            if (!_e.TryGetProperty(field, out var v)) return fallback;
            if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int i))
                throw Error($"field '{field}' must be an integer, got {v.GetRawText()}");
            return i;
        }

        public float Float(string field, float fallback)
        {
            _read.Add(field);
            if (!_e.TryGetProperty(field, out var v)) return fallback;
            if (v.ValueKind != JsonValueKind.Number || !v.TryGetDouble(out double d) || !double.IsFinite(d))
                throw Error($"field '{field}' must be a number, got {v.GetRawText()}");
            return (float)d;
        }

        public bool Bool(string field, bool fallback)
        {
            _read.Add(field);
            if (!_e.TryGetProperty(field, out var v)) return fallback;
            return v.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw Error($"field '{field}' must be true or false, got {v.GetRawText()}"),
            };
        }

        public void RejectUnknown()
        {
            foreach (var p in _e.EnumerateObject())
                if (!_read.Contains(p.Name)) throw Error($"unknown field '{p.Name}'");
        }
    }
}
