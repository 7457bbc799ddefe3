using System.CommandLine;
using CnnLab.Data;
using CnnLab.Cli.Support;

namespace CnnLab.Cli.Commands;

/// <summary>The <c>--data DIR</c> option and the dataset resolution every command shares.</summary>
public static class DataOptions
{
    public static Option<string?> Create() => new("--data")
    {
        Description = $"folder with the four IDX files (Fashion-MNIST or MNIST layout); default: ${DataSource.EnvironmentVariable}, "
            + $"then {DataSource.SystemDirectory}, then the embedded subset",
    };

    /// <summary>Resolves and loads the data, telling <paramref name="log"/> which data was used.</summary>
    public static (DataSource Source, TrainTestSplit Data) Load(string? dir, TextWriter log)
    {
        if (dir is not null && !Directory.Exists(dir)) throw new UsageException($"--data: folder '{dir}' does not exist");
        var source = DataSource.Resolve(dir, Environment.GetEnvironmentVariable(DataSource.EnvironmentVariable));
        log.WriteLine(source.Description);
        return (source, source.Load());
    }
}
