using System.Diagnostics;
using System.Reflection.Emit;
using CnnLab.Benchmarks;
using Xunit;

namespace CnnLab.Tests.Benchmarks;

/// <summary>
/// The benchmarks' warm-up (<see cref="BestTime.WarmUp"/>): it lasts until the runtime has compiled nothing for
/// <see cref="BestTime.QuietRuns"/> runs, so that a timing measures optimized code, and it ends even where compiling never stops.
/// </summary>
public class BestTimeTests
{
    // A method of its own, compiled when first called: what the runtime does to each new or newly optimized method.
    private static void CompileOne()
    {
        var method = new DynamicMethod("compiled", typeof(int), [typeof(int)]);
        var il = method.GetILGenerator();
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldc_I4_1);
        il.Emit(OpCodes.Add);
        il.Emit(OpCodes.Ret);
        ((Func<int, int>)method.CreateDelegate(typeof(Func<int, int>)))(1);
    }

    [Fact]
    public void The_warm_up_goes_on_for_QuietRuns_runs_after_the_last_one_that_compiled()
    {
        int calls = 0;
        // 20 ms at least (400 at most): twelve compiling runs of 4 ms each outlast a warm-up of a fixed 20 ms, which stopped
        // after five of them.
        int runs = BestTime.WarmUp(() =>
        {
            if (calls++ >= 12) return;
            CompileOne();
            Thread.Sleep(4);
        }, seconds: 0.02);
        Assert.True(runs >= 12 + BestTime.QuietRuns, $"{runs} runs");
    }

    [Fact]
    public void The_warm_up_ends_where_every_run_compiles()
    {
        var clock = Stopwatch.StartNew();
        int runs = BestTime.WarmUp(CompileOne, seconds: 0.01);
        Assert.True(clock.Elapsed.TotalSeconds < 5, $"{clock.Elapsed.TotalSeconds:F1} s, {runs} runs");
        Assert.True(runs >= 1);
    }
}
