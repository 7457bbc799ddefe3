using BenchmarkDotNet.Running;

namespace CnnLab.Bench;

public static class Program
{
    // dotnet run -c Release --project bench/CnnLab.Bench -- --filter '*Gemm*'
    // dotnet run -c Release --project bench/CnnLab.Bench -- ort --model cnn-small --batch 1   (see OrtComparison)
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "ort") return OrtComparison.Run(args[1..]);
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
