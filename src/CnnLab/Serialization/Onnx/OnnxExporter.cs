using System.Runtime.InteropServices;
using CnnLab.Nn;
using CnnLab.Tensors;
using Google.Protobuf;
using Proto = global::Onnx;
using CnnLab.IO;

namespace CnnLab.Serialization.Onnx;

/// <summary>
/// Writes a CnnLab model as an ONNX graph (opset 17, IR version 8) for inference runtimes such as
/// ONNX Runtime: the model's eval-mode forward pass, with a dynamic batch axis "N".
/// <para>
/// Layers map one to one: Conv2d → Conv, Linear → Gemm (transB = 1), ReLU/LeakyReLU/Sigmoid/Tanh/ELU →
/// Relu/LeakyRelu/Sigmoid/Tanh/Elu, GELU → x·½·(1 + Erf(x/√2)) (opset 17 has no Gelu; torch.onnx writes the same
/// five nodes), MaxPool2d → MaxPool, AvgPool2d → AveragePool (count_include_pad, ceil_mode),
/// AdaptiveAvgPool2d(1) → GlobalAveragePool and AdaptiveAvgPool2d(k) over a plane k divides → AveragePool
/// (adaptive cells are then equal windows), BatchNorm1d/2d → BatchNormalization with the
/// running statistics (inference form), Flatten(1) → Flatten, Residual → its branches and an Add;
/// Dropout and Identity vanish (they are the identity at inference); Sequential is walked in order.
/// An optional final Softmax over axis 1 turns logits into probabilities. Weights are initializers
/// named by their state_dict keys ("0.weight", "3.running_mean"), so a graph reads like the checkpoint.
/// Any other layer is an <see cref="ArgumentException"/> that names it.
/// </para>
/// The protobuf classes are generated from the official onnx.proto (ONNX 1.12, beside this file) with
/// <c>protoc --csharp_out=. --csharp_opt=file_extension=.g.cs onnx.proto</c>.
/// </summary>
/// <remarks>PyTorch: torch.onnx.export(model, x, f, opset_version=17, dynamic_axes={"input": {0: "N"}}).</remarks>
public static class OnnxExporter
{
    /// <summary>The operator set the graph uses.</summary>
    public const int Opset = 17;

    /// <summary>ONNX IR version 8 (ONNX 1.10 to 1.12), the IR of opset 17's release.</summary>
    public const long IrVersion = 8;

    /// <summary>Name of the graph input: float32 [N, ...per-sample shape].</summary>
    public const string InputName = "input";

    /// <summary>
    /// Exports <paramref name="model"/> for inputs of per-sample shape <paramref name="inputShape"/>
    /// (e.g. [1, 28, 28]; the batch axis is added as the dynamic dimension "N"). The output is
    /// "logits", or "probabilities" when <paramref name="softmax"/> appends a Softmax.
    /// </summary>
    public static void Export(Module model, int[] inputShape, Stream output, bool softmax = false, OnnxPreprocessing? preprocessing = null) =>
        Build(model, inputShape, softmax, preprocessing).WriteTo(output);

    /// <summary>Exports to a file, written atomically.</summary>
    public static void Export(Module model, int[] inputShape, string path, bool softmax = false, OnnxPreprocessing? preprocessing = null)
    {
        var proto = Build(model, inputShape, softmax, preprocessing);
        AtomicFile.Write(path, s => proto.WriteTo(s));
    }

    /// <summary>The ONNX model as a protobuf message.</summary>
    /// <remarks>With <paramref name="preprocessing"/>, its metadata is written and, if asked, the normalization is the
    /// graph's first step.</remarks>
    public static Proto.ModelProto Build(Module model, int[] inputShape, bool softmax = false, OnnxPreprocessing? preprocessing = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputShape);
        if (inputShape.Length == 0 || inputShape.Any(d => d < 1))
            throw new ArgumentException(
                $"inputShape must be the per-sample shape with positive sizes, e.g. [1, 28, 28]; got {Shape.Format(inputShape)}");
        var inputShapes = new Dictionary<Module, int[]>(ReferenceEqualityComparer.Instance);
        int[] outputShape = OutputShape(model, inputShape, inputShapes);
        var builder = new GraphBuilder(inputShapes);
        string x = InputName;
        if (preprocessing is { InGraph: true } p)
        {
            p.Normalization.CheckChannels(inputShape[0]);
            long[] dims = [1, p.Normalization.Channels, .. Enumerable.Repeat(1L, inputShape.Length - 1)];
            x = builder.Node("Sub", "normalize.sub", [x, builder.Constant("normalize.mean", [.. p.Normalization.Means], dims)]);
            x = builder.Node("Div", "normalize.div", [x, builder.Constant("normalize.std", [.. p.Normalization.Stds], dims)]);
        }
        string y = builder.Emit(model, "", x);
        string outName = softmax ? "probabilities" : "logits";
        if (softmax) y = builder.Node("Softmax", "softmax", [y], n => n.Attribute.Add(Int("axis", 1)));
        var g = builder.Graph;
        if (g.Node.Count == 0 || g.Node[^1].Output[0] != y)
            throw new ArgumentException("ONNX export: the model has no operation to export (only Identity/Dropout layers)");
        g.Node[^1].Output[0] = outName;
        g.Name = model.GetType().Name;
        g.Input.Add(Value(InputName, inputShape));
        g.Output.Add(Value(outName, outputShape));
        var m = new Proto.ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "CnnLab",
            ProducerVersion = typeof(OnnxExporter).Assembly.GetName().Version?.ToString() ?? "0",
            Graph = g,
        };
        m.OpsetImport.Add(new Proto.OperatorSetIdProto { Domain = "", Version = Opset });
        foreach (var (key, value) in preprocessing?.Metadata(inputShape) ?? new Dictionary<string, string>())
            m.MetadataProps.Add(new Proto.StringStringEntryProto { Key = key, Value = value });
        return m;
    }

    // The per-sample output shape, found by running the model once on zeros (eval mode, no autograd), and each
    // module's per-sample input shape (for the layers whose ONNX form depends on it).
    private static int[] OutputShape(Module model, int[] inputShape, Dictionary<Module, int[]> inputShapes)
    {
        bool training = model.Training;
        model.Eval();
        var hooks = model.NamedModules().Select(nm => nm.Module.RegisterForwardHook((m, input, _) => inputShapes[m] = input.Shape[1..])).ToList();
        try
        {
            using var _ = Autograd.NoGrad();
            return model.Forward(Tensor.Zeros([1, .. inputShape])).Shape[1..];
        }
        finally
        {
            foreach (var hook in hooks) hook.Dispose();
            if (training) model.Train();
        }
    }

    private static Proto.ValueInfoProto Value(string name, int[] perSample)
    {
        var shape = new Proto.TensorShapeProto();
        shape.Dim.Add(new Proto.TensorShapeProto.Types.Dimension { DimParam = "N" });
        foreach (int d in perSample) shape.Dim.Add(new Proto.TensorShapeProto.Types.Dimension { DimValue = d });
        return new Proto.ValueInfoProto
        {
            Name = name,
            Type = new Proto.TypeProto
            {
                TensorType = new Proto.TypeProto.Types.Tensor { ElemType = (int)Proto.TensorProto.Types.DataType.Float, Shape = shape },
            },
        };
    }

    private static Proto.AttributeProto Int(string name, long v) =>
        new() { Name = name, Type = Proto.AttributeProto.Types.AttributeType.Int, I = v };

    private static Proto.AttributeProto Float(string name, float v) =>
        new() { Name = name, Type = Proto.AttributeProto.Types.AttributeType.Float, F = v };

    private static Proto.AttributeProto Ints(string name, params long[] v)
    {
        var a = new Proto.AttributeProto { Name = name, Type = Proto.AttributeProto.Types.AttributeType.Ints };
        a.Ints.Add(v);
        return a;
    }

    private sealed class GraphBuilder(Dictionary<Module, int[]> inputShapes)
    {
        public Proto.GraphProto Graph { get; } = new();

        public string Node(string op, string name, string[] inputs, Action<Proto.NodeProto>? configure = null)
        {
            var n = new Proto.NodeProto { OpType = op, Name = name };
            n.Input.Add(inputs);
            n.Output.Add($"{name}:{op}");
            configure?.Invoke(n);
            Graph.Node.Add(n);
            return n.Output[0];
        }

        // A tensor as an initializer named by its state_dict key (module path + field), or, when the
        // layer has no such tensor (BatchNorm without affine), a constant of `length` values `fill`.
        private string Initializer(Tensor? t, string name, int length = 0, float fill = 0f) =>
            Constant(name, t?.ToArray() ?? Enumerable.Repeat(fill, length).ToArray(), [.. (t?.Shape ?? [length]).Select(d => (long)d)]);

        /// <summary>Appends the nodes of <paramref name="m"/> applied to value <paramref name="x"/>; returns the output value.</summary>
        public string Emit(Module m, string path, string x)
        {
            string name = path.Length == 0 ? m.GetType().Name : path;
            string Child(string c) => path.Length == 0 ? c : $"{path}.{c}";
            switch (m)
            {
                case Sequential seq:
                    for (int i = 0; i < seq.Count; i++) x = Emit(seq[i], Child(i.ToString(System.Globalization.CultureInfo.InvariantCulture)), x);
                    return x;
                case Residual r:
                    string body = Emit(r.Body, Child("body"), x);
                    string skip = r.Shortcut is null ? x : Emit(r.Shortcut, Child("shortcut"), x);
                    return Node("Add", name, [body, skip]);
                case Dropout or Identity:
                    return x;
                case Conv2d c:
                    var convInputs = new List<string> { x, Initializer(c.Weight, name + ".weight") };
                    if (c.Bias is not null) convInputs.Add(Initializer(c.Bias, name + ".bias"));
                    return Node("Conv", name, [.. convInputs], n => n.Attribute.Add([
                        Ints("kernel_shape", c.KernelSize.H, c.KernelSize.W), Ints("strides", c.Stride.H, c.Stride.W),
                        Ints("pads", c.Padding.H, c.Padding.W, c.Padding.H, c.Padding.W),
                        Ints("dilations", c.Dilation.H, c.Dilation.W), Int("group", c.Groups)]));
                case Linear l when inputShapes.TryGetValue(m, out var features) && features.Length > 1:
                {
                    // [N, …, in] · Wᵀ (+ b): MatMul broadcasts over the leading axes, Gemm takes two-dimensional inputs only.
                    string product = Node("MatMul", l.Bias is null ? name : name + ".matmul",
                        [x, Constant(name + ".weight_transposed", Transposed(l.Weight), l.InFeatures, l.OutFeatures)]);
                    return l.Bias is null ? product : Node("Add", name, [product, Initializer(l.Bias, name + ".bias")]);
                }
                case Linear l:
                    var gemmInputs = new List<string> { x, Initializer(l.Weight, name + ".weight") };
                    if (l.Bias is not null) gemmInputs.Add(Initializer(l.Bias, name + ".bias"));
                    return Node("Gemm", name, [.. gemmInputs], n => n.Attribute.Add(Int("transB", 1)));
                case ReLU:
                    return Node("Relu", name, [x]);
                case LeakyReLU lr:
                    return Node("LeakyRelu", name, [x], n => n.Attribute.Add(Float("alpha", lr.NegativeSlope)));
                case Sigmoid:
                    return Node("Sigmoid", name, [x]);
                case Tanh:
                    return Node("Tanh", name, [x]);
                case ELU e:
                    return Node("Elu", name, [x], n => n.Attribute.Add(Float("alpha", e.Alpha)));
                case GELU:
                {
                    string erf = Node("Erf", name + ".erf", [Node("Div", name + ".div", [x, Initializer(null, name + ".sqrt2", 1, MathF.Sqrt(2f))])]);
                    string onePlusErf = Node("Add", name + ".add", [erf, Initializer(null, name + ".one", 1, 1f)]);
                    return Node("Mul", name, [Node("Mul", name + ".mul", [x, onePlusErf]), Initializer(null, name + ".half", 1, 0.5f)]);
                }
                case MaxPool2d p:
                    return Node("MaxPool", name, [x], n => n.Attribute.Add([
                        Ints("kernel_shape", p.KernelSize.H, p.KernelSize.W), Ints("strides", p.Stride.H, p.Stride.W),
                        Ints("pads", p.Padding.H, p.Padding.W, p.Padding.H, p.Padding.W),
                        Ints("dilations", p.Dilation.H, p.Dilation.W), Int("ceil_mode", p.CeilMode ? 1 : 0)]));
                case AvgPool2d a:
                    return Node("AveragePool", name, [x], n => n.Attribute.Add([
                        Ints("kernel_shape", a.KernelSize.H, a.KernelSize.W), Ints("strides", a.Stride.H, a.Stride.W),
                        Ints("pads", a.Padding.H, a.Padding.W, a.Padding.H, a.Padding.W),
                        Int("count_include_pad", a.CountIncludePad ? 1 : 0), Int("ceil_mode", a.CeilMode ? 1 : 0)]));
                case AdaptiveAvgPool2d ap when ap.OutputSize == new Pair(1, 1):
                    return Node("GlobalAveragePool", name, [x]);
                case AdaptiveAvgPool2d ap when inputShapes.TryGetValue(m, out var s) && s.Length == 3
                    && s[1] % ap.OutputSize.H == 0 && s[2] % ap.OutputSize.W == 0:
                {
                    int kh = s[1] / ap.OutputSize.H, kw = s[2] / ap.OutputSize.W;
                    return Node("AveragePool", name, [x], n => n.Attribute.Add([Ints("kernel_shape", kh, kw), Ints("strides", kh, kw)]));
                }
                case AdaptiveAvgPool2d ap when inputShapes.TryGetValue(m, out var plane) && plane.Length == 3:
                    return AdaptiveAsMatMul(name, x, plane[1], plane[2], ap.OutputSize.H, ap.OutputSize.W);
                case Flatten f when f.StartDim == 1 && f.EndDim == -1:
                    return Node("Flatten", name, [x], n => n.Attribute.Add(Int("axis", 1)));
                case Flatten f when inputShapes.TryGetValue(m, out var dims):
                    return Node("Reshape", name, [x, Int64Constant(name + ".shape", FlattenedShape(dims, f.StartDim, f.EndDim))]);
                case BatchNorm bn when bn.RunningMean is not null && bn.RunningVar is not null:
                    string scale = Initializer(bn.Weight, name + ".weight", bn.NumFeatures, 1f);
                    string shift = Initializer(bn.Bias, name + ".bias", bn.NumFeatures, 0f);
                    string mean = Initializer(bn.RunningMean, name + ".running_mean");
                    string var = Initializer(bn.RunningVar, name + ".running_var");
                    return Node("BatchNormalization", name, [x, scale, shift, mean, var], n => n.Attribute.Add(Float("epsilon", bn.Eps)));
                default:
                    throw new ArgumentException(
                        $"ONNX export: layer '{name}' ({m.GetType().Name}{(m is BatchNorm ? " without running statistics" : "")}) "
                        + "has no ONNX mapping; "
                        + "supported: Conv2d, Linear, ReLU, LeakyReLU, Sigmoid, Tanh, ELU, GELU, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, "
                        + "Flatten, BatchNorm1d/2d, Residual, Dropout, Identity, Sequential");
            }
        }

        // Adaptive average pooling whose cells do not tile the plane (they overlap or differ in size) is linear all the same:
        // y[n, c] = x[n, c] (flattened, H·W) · P, P [H·W, OH·OW] holding 1/|cell| where a pixel lies in a cell (PyTorch's
        // cells: rows ⌊i·H/OH⌋ … ⌈(i + 1)·H/OH⌉ − 1, likewise columns). Reshape, MatMul, Reshape.
        private string AdaptiveAsMatMul(string name, string x, int h, int w, int oh, int ow)
        {
            var p = new float[h * w * oh * ow];
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                {
                    int r0 = i * h / oh, r1 = ((i + 1) * h + oh - 1) / oh, c0 = j * w / ow, c1 = ((j + 1) * w + ow - 1) / ow;
                    float share = 1f / ((r1 - r0) * (c1 - c0));
                    for (int r = r0; r < r1; r++)
                        for (int c = c0; c < c1; c++) p[(r * w + c) * oh * ow + i * ow + j] = share;
                }
            string flat = Node("Reshape", name + ".flatten", [x, Int64Constant(name + ".flat_shape", 0, 0, h * w)]);
            string pooled = Node("MatMul", name + ".matmul", [flat, Constant(name + ".cells", p, h * w, oh * ow)]);
            return Node("Reshape", name, [pooled, Int64Constant(name + ".shape", 0, 0, oh, ow)]);
        }

        // Reshape's target for torch.flatten(x, start, end) on [N, dims…] (0 keeps the batch); the batch axis stays its own.
        private static long[] FlattenedShape(int[] dims, int start, int end)
        {
            int rank = dims.Length + 1;
            if (start < 0) start += rank;
            if (end < 0) end += rank;
            if (start == 0)
                throw new ArgumentException($"ONNX export: Flatten(start_dim={start}) merges the batch axis, which the exported graph keeps dynamic");
            var shape = new List<long>();
            for (int d = 0; d < start; d++) shape.Add(d == 0 ? 0 : dims[d - 1]);
            shape.Add(dims[(start - 1)..end].Aggregate(1L, (a, b) => a * b));
            for (int d = end + 1; d < rank; d++) shape.Add(dims[d - 1]);
            return [.. shape];
        }

        private static float[] Transposed(Tensor weight)
        {
            int rows = weight.Shape[0], cols = weight.Shape[1];
            var t = new float[rows * cols];
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++) t[c * rows + r] = weight.Elements[r * cols + c];
            return t;
        }

        public string Constant(string name, float[] values, params long[] dims) =>
            AddInitializer(name, Proto.TensorProto.Types.DataType.Float, MemoryMarshal.AsBytes(values.AsSpan()), dims);

        private string Int64Constant(string name, params long[] values) =>
            AddInitializer(name, Proto.TensorProto.Types.DataType.Int64, MemoryMarshal.AsBytes(values.AsSpan()), values.Length);

        private string AddInitializer(string name, Proto.TensorProto.Types.DataType type, ReadOnlySpan<byte> raw, params long[] dims)
        {
            if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("ONNX raw_data is little-endian");
            var proto = new Proto.TensorProto { Name = name, DataType = (int)type };
            proto.Dims.Add(dims);
            proto.RawData = ByteString.CopyFrom(raw);
            Graph.Initializer.Add(proto);
            return name;
        }
    }
}
