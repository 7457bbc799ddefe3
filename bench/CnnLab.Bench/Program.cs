using BenchmarkDotNet.Running;

namespace CnnLab.Bench;

public static class Program
{
    // dotnet run -c Release --project bench/CnnLab.Bench -- --filter '*Gemm*'
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
