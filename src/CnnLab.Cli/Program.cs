using System.CommandLine;
using CnnLab.Cli.Commands;
using CnnLab.Cli.Support;

namespace CnnLab.Cli;

/// <summary>The <c>cnnlab</c> command: parsing and printing only; all logic lives in the libraries.</summary>
public static class Program
{
    public static int Main(string[] args) => Run(args, Console.Out, Console.Error);

    /// <summary>Runs the CLI with the given streams (tests call this directly).</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var root = BuildRoot(stdout, stderr);
        var parse = root.Parse(args);
        var config = new InvocationConfiguration { Output = stdout, Error = stderr };
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors) stderr.WriteLine($"cnnlab: {error.Message}");
            stderr.WriteLine("Run 'cnnlab --help' for usage.");
            return 2;
        }
        return parse.Invoke(config);
    }

    internal static RootCommand BuildRoot(TextWriter stdout, TextWriter stderr)
    {
        var root = new RootCommand("CnnLab: build, train, understand and see convolutional networks on the CPU, with PyTorch's semantics.")
        {
            Commands.LabCommand.CreateLab(stdout, stderr),
            Commands.LabCommand.CreateExperiment(stdout, stderr),
            Commands.TrainCommand.Create(stdout, stderr),
            Commands.EvalCommand.Create(stdout, stderr),
            Commands.PredictCommand.Create(stdout, stderr),
            Commands.ModelsCommand.Create(stdout, stderr),
            Commands.DoctorCommand.Create(stdout, stderr),
            Commands.VisualizeCommand.Create(stdout, stderr),
            Commands.BenchCommand.Create(stdout, stderr),
            Commands.ExportCommand.Create(stdout, stderr),
            Commands.SweepCommand.Create(stdout, stderr),
            Commands.ServeCommand.Create(stdout, stderr),
        };
        VersionText.Install(root, stdout);
        return root;
    }
}
