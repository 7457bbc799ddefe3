using CnnLab.Data;
using Xunit;

namespace CnnLab.Tests;

public class DataSourceTests
{
    [Fact]
    public void ResolutionOrderIsArgumentThenEnvironmentThenSystemThenEmbedded()
    {
        using var files = new IdxTestFiles();
        string arg = Path.Combine(files.Directory, "arg"), env = Path.Combine(files.Directory, "env"), sys = Path.Combine(files.Directory, "sys");
        files.WriteDataset(4, 2, dir: arg);
        files.WriteDataset(4, 2, dir: env);
        files.WriteDataset(4, 2, dir: sys);

        var a = DataSource.Resolve(arg, env, sys);
        Assert.Equal((DataSourceKind.Argument, arg), (a.Kind, a.Directory));
        Assert.Contains(arg, a.Description);
        Assert.Contains("--data", a.Description);

        var e = DataSource.Resolve(null, env, sys);
        Assert.Equal((DataSourceKind.Environment, env), (e.Kind, e.Directory));
        Assert.Contains("CNNLAB_DATA", e.Description);

        var s = DataSource.Resolve("", "  ", sys);
        Assert.Equal((DataSourceKind.System, sys), (s.Kind, s.Directory));
        Assert.Contains("dataset-fashion-mnist", s.Description);

        File.Delete(Path.Combine(sys, "t10k-images-idx3-ubyte.gz")); // an incomplete system folder is skipped
        var m = DataSource.Resolve(null, null, sys);
        Assert.Equal(DataSourceKind.Embedded, m.Kind);
        Assert.Null(m.Directory);
        Assert.Contains("embedded Fashion-MNIST subset (6,000 training / 1,000 test images)", m.Description);
        Assert.Contains("apt-get install dataset-fashion-mnist", m.Description);
        Assert.Contains("--data DIR", m.Description);
    }

    [Fact]
    public void DefaultsNameTheDebianFolderAndTheVariable()
    {
        Assert.Equal("/usr/share/datasets/fashion-mnist", DataSource.SystemDirectory);
        Assert.Equal("CNNLAB_DATA", DataSource.EnvironmentVariable);
    }

    [Fact]
    public void ExplicitFolderThatDoesNotExistIsAnError()
    {
        using var files = new IdxTestFiles();
        string missing = Path.Combine(files.Directory, "typo");
        var e = Assert.Throws<DirectoryNotFoundException>(() => DataSource.Resolve(missing, null, files.Directory));
        Assert.Contains($"--data {missing}: no such directory", e.Message);
        e = Assert.Throws<DirectoryNotFoundException>(() => DataSource.Resolve(null, missing, files.Directory));
        Assert.Contains($"CNNLAB_DATA={missing}: no such directory", e.Message);
    }

    [Fact]
    public void LoadReadsTheResolvedData()
    {
        using var files = new IdxTestFiles();
        files.WriteDataset(6, 2);
        var folder = DataSource.Resolve(files.Directory, null, "/nonexistent").Load();
        Assert.Equal((6, 2), (folder.Train.Count, folder.Test.Count));
        Assert.Equal(FashionMnist.ClassNames, folder.Train.ClassNames);
        var digits = DataSource.Resolve(files.Directory, null, "/nonexistent").Load(Mnist.ClassNames);
        Assert.Equal("MNIST train", digits.Train.Name);

        var embedded = DataSource.Resolve(null, null, Path.Combine(files.Directory, "none")).Load();
        Assert.Equal((6000, 1000), (embedded.Train.Count, embedded.Test.Count));
    }
}
