using CnnLab.Data;

namespace CnnLab.Serialization.Onnx;

/// <summary>
/// What an exported model needs to know about its inputs, written into the ONNX file's <c>metadata_props</c> (readable
/// with <c>onnx.load(f).metadata_props</c> or ONNX Runtime's <c>ModelMetadata.CustomMetadataMap</c>): the class names,
/// the input shape and the normalization, as <c>cnnlab.*</c> keys with JSON values. With <see cref="InGraph"/> the
/// normalization also becomes the graph's first two nodes, Sub(mean) and Div(std), so that the input is pixels / 255
/// in [0, 1] rather than normalized values (<c>cnnlab.input_range</c> says which).
/// </summary>
/// <remarks>PyTorch: a model exported by <c>torch.onnx.export</c> with its transforms inside <c>forward</c>; torchvision
/// keeps <c>weights.transforms()</c> beside the model instead.</remarks>
public sealed record OnnxPreprocessing(Normalize Normalization, bool InGraph, IReadOnlyList<string> ClassNames, bool CenterCrop = false)
{
    /// <summary>The metadata entries for a model of per-sample input shape <paramref name="inputShape"/>.</summary>
    public IReadOnlyDictionary<string, string> Metadata(int[] inputShape) => new Dictionary<string, string>
    {
        ["cnnlab.class_names"] = System.Text.Json.JsonSerializer.Serialize(ClassNames),
        ["cnnlab.input_shape"] = System.Text.Json.JsonSerializer.Serialize(inputShape),
        ["cnnlab.normalize_mean"] = System.Text.Json.JsonSerializer.Serialize(Normalization.Means),
        ["cnnlab.normalize_std"] = System.Text.Json.JsonSerializer.Serialize(Normalization.Stds),
        ["cnnlab.resize"] = CenterCrop ? "\"center-crop\"" : "\"stretch\"",
        ["cnnlab.input_range"] = InGraph ? "\"pixels / 255 in [0, 1]; the graph normalizes\"" : "\"normalized: (pixels / 255 - mean) / std\"",
    };
}
