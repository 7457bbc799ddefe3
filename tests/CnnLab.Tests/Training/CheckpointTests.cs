using CnnLab.Nn.Models;
using CnnLab.Optim;
using CnnLab.Tensors;
using CnnLab.Training;
using Xunit;
using CnnLab.IO;

namespace CnnLab.Tests;

public class CheckpointTests
{
    private static (Nn.Sequential Model, Optimizer Opt) Trained(int seed, int steps)
    {
        var model = ModelZoo.Create("mlp-2-16-relu", new Generator(seed));
        var opt = new AdamW(model.Parameters());
        var g = new Generator(seed + 100);
        for (int i = 0; i < steps; i++)
        {
            opt.ZeroGrad();
            Nn.Functional.CrossEntropy(model.Forward(Tensor.Randn(g, 8, 1, 28, 28)), [0, 1, 2, 3, 4, 5, 6, 7]).Backward();
            opt.Step();
        }
        return (model, opt);
    }

    private static TrainingState State(long step) => new(1, 0, step, new Generator(1).GetState());

    [Fact]
    public void RoundTripRestoresWeightsOptimizerConfigAndState()
    {
        var dir = TinyData.TempDir("ckpt");
        var (model, opt) = Trained(1, 3);
        var config = new TrainingConfig { Model = "mlp-2-16-relu", Lr = 0.005, Seed = 42 };
        Checkpoint.Save(dir, model, opt, config, State(3));
        var c = Checkpoint.Load(dir);
        Assert.Equal(config, c.Config);
        Assert.Equal(3, c.State.Step);
        var fresh = ModelZoo.Create("mlp-2-16-relu", new Generator(7));
        fresh.LoadStateDict(c.Weights);
        Assert.Equal(model.StateDict()["1.weight"].ToArray(), fresh.StateDict()["1.weight"].ToArray());
        var opt2 = new AdamW(fresh.Parameters());
        opt2.LoadStateDict(c.OptimizerState);
        Assert.Equal(3, opt2.StateOf(fresh.Parameters().First())!.Step);
    }

    [Fact]
    public void InterruptedWriteBeforeTheJournalKeepsThePreviousCheckpoint()
    {
        var dir = TinyData.TempDir("ckpt-torn");
        var (model, opt) = Trained(1, 2);
        Checkpoint.Save(dir, model, opt, new TrainingConfig(), State(2));
        // A crash while writing the next one leaves half-written temporaries and no journal.
        File.WriteAllText(Path.Combine(dir, ".model.safetensors.999.tmp"), "garbage");
        File.WriteAllText(Path.Combine(dir, ".state.json.999.tmp"), "{");
        var before = Directory.GetFiles(dir, ".*").Order().ToArray();
        var c = Checkpoint.Load(dir);
        Assert.Equal(2, c.State.Step);
        Assert.Equal(before, Directory.GetFiles(dir, ".*").Order().ToArray());   // a reader changes nothing
        using (RunFolder.Claim(dir)) { }                                          // the next writer cleans up
        Assert.Equal([Path.Combine(dir, RunFolder.LockFile)], Directory.GetFiles(dir, ".*"));
        Assert.Equal(2, Checkpoint.Load(dir).State.Step);
    }

    [Fact]
    public void InterruptedRenamesAfterTheJournalAreRolledForward()
    {
        var older = TinyData.TempDir("ckpt-a");
        var newer = TinyData.TempDir("ckpt-b");
        var (m1, o1) = Trained(1, 2);
        var (m2, o2) = Trained(2, 5);
        Checkpoint.Save(older, m1, o1, new TrainingConfig(), State(2));
        Checkpoint.Save(newer, m2, o2, new TrainingConfig(), State(5));
        // Simulate a crash after the journal and one rename: model is new, the rest are temporaries.
        File.Copy(Path.Combine(newer, Checkpoint.ModelFile), Path.Combine(older, Checkpoint.ModelFile), true);
        var journal = new Dictionary<string, string>();
        foreach (var f in new[] { Checkpoint.OptimizerFile, Checkpoint.ConfigFile, Checkpoint.StateFile })
        {
            File.Copy(Path.Combine(newer, f), Path.Combine(older, $".{f}.1.tmp"));
            journal[$".{f}.1.tmp"] = f;
        }
        File.WriteAllText(Path.Combine(older, ".commit.json"), System.Text.Json.JsonSerializer.Serialize(journal));
        var c = Checkpoint.Load(older);
        Assert.Equal(5, c.State.Step);
        Assert.Equal(m2.StateDict()["1.weight"].ToArray(), c.Weights["1.weight"].ToArray());
        Assert.True(File.Exists(Path.Combine(older, ".commit.json")));          // read through the journal, not rolled
        using (RunFolder.Claim(older)) { }                                        // the next writer rolls it forward
        Assert.False(File.Exists(Path.Combine(older, ".commit.json")));
        Assert.Equal(5, Checkpoint.Load(older).State.Step);
    }

    [Fact]
    public void MissingOrCorruptFilesAreClearErrors()
    {
        var dir = TinyData.TempDir("ckpt-bad");
        var (model, opt) = Trained(1, 1);
        Checkpoint.Save(dir, model, opt, new TrainingConfig(), State(1));
        File.WriteAllText(Path.Combine(dir, Checkpoint.StateFile), "{\"epoch\": -1}");
        Assert.Contains("state.json", Assert.Throws<InvalidFileException>(() => Checkpoint.Load(dir)).Message);
        File.Delete(Path.Combine(dir, Checkpoint.StateFile));
        Assert.Contains("missing", Assert.Throws<InvalidFileException>(() => Checkpoint.Load(dir)).Message);
    }

    [Fact]
    public void BatchNormCounterIsWrittenAsInt64LikePyTorch()
    {
        var dir = TinyData.TempDir("ckpt-bn");
        var model = ModelZoo.Create("cnn-bn", new Generator(0));
        Checkpoint.SaveWeights(Path.Combine(dir, "w.safetensors"), model);
        var bytes = File.ReadAllBytes(Path.Combine(dir, "w.safetensors"));
        var header = System.Text.Encoding.UTF8.GetString(bytes, 8, (int)BitConverter.ToUInt64(bytes, 0));
        Assert.Contains("\"1.num_batches_tracked\":{\"dtype\":\"I64\"", header);
    }

    [Fact]
    public void AFailedWriteKeepsThePreviousCheckpointIntact()
    {
        // Tests run as root, where chmod does not stop writes; a folder standing where the temporary
        // file must be created makes the write fail the same way a full disk or a read-only folder does.
        var dir = TinyData.TempDir("ckpt-fail");
        var (m1, o1) = Trained(1, 2);
        Checkpoint.Save(dir, m1, o1, new TrainingConfig(), State(2));
        var before = Directory.GetFiles(dir).ToDictionary(f => f, File.ReadAllBytes);
        var blocker = Path.Combine(dir, $".{Checkpoint.OptimizerFile}.{Environment.ProcessId}.tmp");
        Directory.CreateDirectory(blocker);
        var (m2, o2) = Trained(2, 5);
        Assert.ThrowsAny<Exception>(() => Checkpoint.Save(dir, m2, o2, new TrainingConfig(), State(5)));
        Directory.Delete(blocker);
        foreach (var (file, bytes) in before) Assert.Equal(bytes, File.ReadAllBytes(file));
        Assert.Empty(Directory.GetFiles(dir, ".*"));         // the half-written model temporary was removed
        Assert.Equal(2, Checkpoint.Load(dir).State.Step);
    }
}
