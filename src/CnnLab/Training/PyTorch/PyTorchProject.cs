using System.Text;
using CnnLab.Data;
using CnnLab.IO;
using CnnLab.Nn;
using CnnLab.Nn.Models;
using CnnLab.Serialization.PyTorch;
using CnnLab.Tensors;

namespace CnnLab.Training.PyTorch;

/// <summary>What a PyTorch project is made from.</summary>
/// <param name="Config">The run's recipe (a checkpoint's config.json, or a new run's options).</param>
/// <param name="Model">The network, holding the starting weights.</param>
/// <param name="InputShape">[C, H, W] of one image.</param>
/// <param name="Data">Where the data is; the embedded subset is copied into the project.</param>
/// <param name="ModelGenerator">CnnLab's model generator state, carried into the project's state.json files.</param>
/// <param name="Checkpoint">A checkpoint folder to copy into the project's <c>checkpoint/</c> (null: none).</param>
/// <param name="Source">What the project was exported from, for its docstrings ("checkpoint runs/x", "model cnn-small").</param>
public sealed record PyTorchProjectInput(TrainingConfig Config, Sequential Model, int[] InputShape, DataSource Data,
    ulong[] ModelGenerator, string? Checkpoint, string Source);

/// <summary>
/// Writes a CnnLab run as a PyTorch DistributedDataParallel project: <c>model.py</c> (<see cref="PyTorchModelWriter"/>),
/// <c>data.py</c>, <c>train.py</c>, <c>safetensors_io.py</c>, <c>requirements.txt</c>, <c>README.md</c>, the starting
/// weights and CnnLab's config. The Python files are embedded templates (<c>Templates/*.template</c>) whose
/// <c>{{NAME}}</c> fields are filled with the run's values as Python literals; the project's checkpoints are CnnLab run
/// folders, so a run moves to many GPUs and back. Anything the project could not reproduce is refused with an
/// <see cref="ArgumentException"/> before a file is written.
/// </summary>
/// <remarks>PyTorch: <c>torch.nn.parallel.DistributedDataParallel</c> launched by <c>torchrun</c>.</remarks>
public static class PyTorchProject
{
    /// <summary>The files every project holds (the embedded data and a checkpoint copy come on top).</summary>
    public static readonly string[] Files =
        ["model.py", "data.py", "train.py", "safetensors_io.py", "requirements.txt", "README.md", "weights.safetensors", "cnnlab_config.json"];

    /// <summary>Writes the project into <paramref name="outDir"/>, which must be missing or empty.</summary>
    public static void Write(PyTorchProjectInput input, string outDir)
    {
        ArgumentNullException.ThrowIfNull(input);
        var c = input.Config;
        c.Validate();
        if (Directory.Exists(outDir) && Directory.EnumerateFileSystemEntries(outDir).Any())
            throw new ArgumentException($"--out: folder '{outDir}' is not empty; give a new folder for the project");
        string format = DataFormat(c, input);
        if (c.Augment && c.Augmentations is not null)
            throw new ArgumentException($"export pytorch: data.py has CnnLab's default augmentation (shift and flip) only, not '{c.Augmentations}'");
        var summary = ModelSummary.Of(input.Model, input.InputShape);
        string modelPy = PyTorchModelWriter.Write(input.Model, input.InputShape, ModelName(c), (int)summary.Outputs);
        double weightDecay = c.WeightDecay ?? (c.Optimizer.StartsWith("adamw", StringComparison.Ordinal) ? Optim.AdamW.DefaultWeightDecay : 0);
        var config = c with { WeightDecay = weightDecay, InitFrom = null, Data = input.Data.Description };

        Directory.CreateDirectory(outDir);
        var fields = new Dictionary<string, string>
        {
            ["MODEL_NAME"] = ModelName(c),
            ["SOURCE"] = input.Source,
            ["OPTIMIZER"] = PythonLiteral.Of(c.Optimizer),
            ["LR"] = PythonLiteral.Of(c.Lr),
            ["WEIGHT_DECAY"] = PythonLiteral.Of(weightDecay),
            ["DECAY_ALL"] = PythonLiteral.Of(c.DecayAll),
            ["MOMENTUM"] = PythonLiteral.Of(c.Momentum),
            ["NESTEROV"] = PythonLiteral.Of(c.Nesterov),
            ["SCHEDULE"] = PythonLiteral.Of(c.Schedule),
            ["EPOCHS"] = PythonLiteral.Of(c.Epochs),
            ["MAX_STEPS"] = PythonLiteral.OrNone(c.MaxSteps),
            ["BATCH_SIZE"] = PythonLiteral.Of(c.BatchSize),
            ["SEED"] = PythonLiteral.Of(c.Seed),
            ["SHUFFLE"] = PythonLiteral.Of(c.Shuffle),
            ["AUGMENT"] = PythonLiteral.Of(c.Augment),
            ["LABEL_SMOOTHING"] = PythonLiteral.Of(c.LabelSmoothing),
            ["MODEL_GENERATOR"] = PythonLiteral.List(input.ModelGenerator.Select(w => w.ToString(System.Globalization.CultureInfo.InvariantCulture))),
            ["RUN_ID"] = Slug(ModelName(c)),
        };
        AddDataFields(fields, input, format, outDir);
        fields["EXTRA_FILES"] = (input.Data.Kind == DataSourceKind.Embedded ? "| `data/` | the embedded Fashion-MNIST subset's IDX files |\n" : "")
            + (input.Checkpoint is null ? "" : "| `checkpoint/` | the CnnLab checkpoint exported: `--resume checkpoint` continues it |\n");

        WriteText(outDir, "model.py", modelPy);
        WriteText(outDir, "data.py", Fill("data.py.template", fields));
        WriteText(outDir, "train.py", Fill("train.py.template", fields));
        WriteText(outDir, "safetensors_io.py", Template("safetensors_io.py"));
        WriteText(outDir, "requirements.txt", Template("requirements.txt")
            + (format == "image-folder" ? "# Image folders are decoded and resized by Pillow, as CnnLab does it.\nPillow\n" : ""));
        if (format == "image-folder")
            WriteText(outDir, "image_lists.json", ImageFolderLists.Json(input.Data.Directory!, config));
        WriteText(outDir, "README.md", Fill("README.md.template", fields));
        WriteText(outDir, "cnnlab_config.json", config.ToJson() + "\n");
        Checkpoint.SaveWeights(Path.Combine(outDir, "weights.safetensors"), input.Model);
        if (input.Checkpoint is not null)
        {
            var copy = Path.Combine(outDir, "checkpoint");
            Directory.CreateDirectory(copy);
            foreach (var file in new[] { Checkpoint.ModelFile, Checkpoint.OptimizerFile, Checkpoint.ConfigFile, Checkpoint.StateFile })
                File.Copy(Path.Combine(input.Checkpoint, file), Path.Combine(copy, file));
        }
    }

    // data.py's constants: where the data is, its format, CnnLab's normalization and class names.
    private static void AddDataFields(Dictionary<string, string> fields, PyTorchProjectInput input, string format, string outDir)
    {
        string dataDir;
        if (input.Data.Kind == DataSourceKind.Embedded)
        {
            FashionMnist.CopyEmbeddedSubset(Path.Combine(outDir, "data"));
            dataDir = "data";
            fields["DATA_NOTE"] = "\nData: `data/` holds the 6,000 / 1,000-image Fashion-MNIST subset CnnLab embeds; pass `--data DIR` "
                + "for the full set (the four IDX files).\n";
        }
        else
        {
            dataDir = Path.GetFullPath(input.Data.Directory!);
            string what = format == "image-folder" ? "the image folder" : $"the {format.ToUpperInvariant()} files in";
            fields["DATA_NOTE"] = $"\nData: {what} `{dataDir}`; on other machines, copy it and pass `--data DIR`.\n";
        }
        var normalize = input.Config.Normalization; // the run's, per channel (Fashion-MNIST's for configs that predate it)
        fields["DEFAULT_DATA"] = PythonLiteral.Of(dataDir);
        fields["DATA_FORMAT"] = PythonLiteral.Of(format);
        fields["CENTER_CROP"] = PythonLiteral.Of(input.Config.CenterCrop);
        fields["IMAGE_SHAPE"] = PythonLiteral.Tuple(input.InputShape.Select(d => PythonLiteral.Of(d)));
        fields["MEAN"] = PythonLiteral.Tuple(normalize.Means.Select(m => PythonLiteral.Of(m)));
        fields["STD"] = PythonLiteral.Tuple(normalize.Stds.Select(s => PythonLiteral.Of(s)));
        fields["CLASS_NAMES"] = PythonLiteral.List(input.Config.Classes.Select(PythonLiteral.Of));
    }

    // data.py's reader for the run's data ("idx" or "cifar"), checked against the folder and the model's input: data.py
    // reads the images as stored, so a run that converted them (other channels, another size) is refused.
    private static string DataFormat(TrainingConfig c, PyTorchProjectInput input)
    {
        var (format, stored) = c.DataFormat switch
        {
            // IDX sets other than the embedded one are checked by data.py, which compares the files' size with the model's.
            null or "idx" or "embedded" => ("idx", input.Data.Kind == DataSourceKind.Embedded ? [1, 28, 28] : new[] { 1, c.Input[1], c.Input[2] }),
            "cifar-10" or "cifar-100" => ("cifar", new[] { 3, 32, 32 }),
            "image-folder" => ("image-folder", c.Input), // decoded and resized to the run's size by data.py
            _ => throw new ArgumentException($"export pytorch: the run trains on {c.DataFormat} data; data.py reads IDX, CIFAR and image folders"),
        };
        bool found = input.Data.Kind == DataSourceKind.Embedded ? format == "idx"
            : format switch
            {
                "idx" => IdxDataset.HasFiles(input.Data.Directory!),
                "cifar" => CifarBinary.Find(input.Data.Directory!) is not null,
                _ => ImageFolderScan.Looks(input.Data.Directory!),
            };
        if (!found)
            throw new ArgumentException($"export pytorch: the run trains on {c.DataFormat ?? "idx"} data, which {input.Data.Description} " +
                "does not hold (pass --data DIR)");
        if (!input.InputShape.SequenceEqual(stored) || !input.InputShape.SequenceEqual(c.Input))
            throw new ArgumentException($"export pytorch: the model takes images {Shape.Format(input.InputShape)}, but data.py reads the " +
                $"{format.ToUpperInvariant()} images as stored, {Shape.Format(stored)}");
        return format;
    }

    private static string ModelName(TrainingConfig c) =>
        c.ModelSpecJson is not null || Trainer.IsSpecFile(c.Model) ? Path.GetFileNameWithoutExtension(c.Model) : c.Model;

    private static string Slug(string name) =>
        new(name.Select(ch => char.IsAsciiLetterOrDigit(ch) ? char.ToLowerInvariant(ch) : '-').ToArray());

    private static void WriteText(string dir, string name, string text) =>
        AtomicFile.WriteAllText(Path.Combine(dir, name), text.ReplaceLineEndings("\n"));

    /// <summary>The template <paramref name="name"/> with every <c>{{FIELD}}</c> replaced; a field left unfilled is a bug.</summary>
    internal static string Fill(string name, IReadOnlyDictionary<string, string> fields)
    {
        var text = new StringBuilder(Template(name));
        foreach (var (key, value) in fields) text.Replace("{{" + key + "}}", value);
        string result = text.ToString();
        int open = result.IndexOf("{{", StringComparison.Ordinal);
        if (open >= 0)
            throw new InvalidOperationException($"template {name} has an unfilled field at {result[open..Math.Min(result.Length, open + 30)]}");
        return result;
    }

    /// <summary>The embedded template <paramref name="name"/> (from <c>Training/PyTorch/Templates/</c>).</summary>
    internal static string Template(string name)
    {
        using var stream = typeof(PyTorchProject).Assembly.GetManifestResourceStream($"CnnLab.Training.PyTorch.Templates.{name}")
            ?? throw new InvalidOperationException($"resource {name} is missing: the build embeds Training/PyTorch/Templates/*");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }
}
