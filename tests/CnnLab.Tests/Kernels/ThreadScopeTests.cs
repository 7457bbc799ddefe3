using CnnLab.Data;
using CnnLab.Kernels;
using CnnLab.Training;
using Xunit;

namespace CnnLab.Tests;

/// <summary>The thread count is a scoped setting: whoever sets it restores it (no test beside these changes it meanwhile).</summary>
[CollectionDefinition("thread count", DisableParallelization = true)]
public class ThreadCountCollection;

[Collection("thread count")]
public class ThreadScopeTests
{
    [Fact]
    public void UseThreads_restores_the_count_it_found_even_nested()
    {
        int before = Parallelism.MaxThreads;
        using (Parallelism.UseThreads(before + 3))
        {
            Assert.Equal(before + 3, Parallelism.MaxThreads);
            using (Parallelism.UseThreads(1)) Assert.Equal(1, Parallelism.MaxThreads);
            Assert.Equal(before + 3, Parallelism.MaxThreads);
        }
        Assert.Equal(before, Parallelism.MaxThreads);
        Assert.Throws<ArgumentOutOfRangeException>(() => Parallelism.UseThreads(0));
        Assert.Equal(before, Parallelism.MaxThreads);
    }

    [Fact]
    public void A_trainer_run_leaves_the_thread_count_as_it_found_it()
    {
        int before = Parallelism.MaxThreads;
        var split = DataSource.Resolve(TinyData.Folder(64, 32), null).Load();
        var trainer = new Trainer(new TrainingConfig { Model = "lenet5", Epochs = 1, BatchSize = 16, Threads = before + 1 }, split, null);
        Assert.Equal(before, Parallelism.MaxThreads);
        trainer.Run();
        Assert.Equal(before, Parallelism.MaxThreads);
    }
}
