using System.IO.Compression;
using System.Xml.Linq;
using Mono.Cecil;
using Xunit;

namespace CnnLab.Tests.Packaging;

/// <summary>
/// The library packages: what each carries (assembly, XML docs, README, licence, repository, symbols, embedded data and
/// font), and a console project that references <c>CnnLab</c> from the packed folder, builds and trains two steps.
/// </summary>
[Collection(PackagingCollection.Name)]
public class LibraryPackageTests(PackedArtifacts packages)
{
    [Theory]
    [InlineData("CnnLab", "CnnLab.Core", "CnnLab.Data.FashionMnistSubset.train-images-idx3-ubyte.gz")]
    [InlineData("CnnLab.Viz", "CnnLab.Viz", "CnnLab.Viz.DejaVuSans.ttf")]
    [InlineData("CnnLab.Lab", "CnnLab.Lab", null)]
    public void APackageCarriesItsAssemblyDocsReadmeLicenceRepositoryAndResources(string id, string assembly, string? resource)
    {
        using var zip = ZipFile.OpenRead(packages.Package(id));
        var names = zip.Entries.Select(e => e.FullName).ToHashSet();
        Assert.Contains($"lib/net10.0/{assembly}.dll", names);
        Assert.Contains($"lib/net10.0/{assembly}.xml", names);
        Assert.Contains("README.md", names);

        XNamespace ns = XDocument.Load(zip.GetEntry($"{id}.nuspec")!.Open()).Root!.Name.Namespace;
        var metadata = XDocument.Load(zip.GetEntry($"{id}.nuspec")!.Open()).Root!.Element(ns + "metadata")!;
        Assert.Equal(id, metadata.Element(ns + "id")!.Value);
        Assert.Equal(packages.Version, metadata.Element(ns + "version")!.Value);
        Assert.Equal("MIT", metadata.Element(ns + "license")!.Value);
        Assert.Equal("README.md", metadata.Element(ns + "readme")!.Value);
        Assert.Matches("^[0-9a-f]{40}$", metadata.Element(ns + "repository")!.Attribute("commit")!.Value);

        if (resource is not null)
        {
            using var dll = new MemoryStream();
            zip.GetEntry($"lib/net10.0/{assembly}.dll")!.Open().CopyTo(dll);
            dll.Position = 0;
            using var module = ModuleDefinition.ReadModule(dll);
            Assert.Contains(resource, module.Resources.Select(r => r.Name));
        }
        using var symbols = ZipFile.OpenRead(packages.Package(id, "snupkg"));
        Assert.Contains(symbols.Entries, e => e.FullName == $"lib/net10.0/{assembly}.pdb");
    }

    [Fact]
    public void AConsoleProjectReferencingThePackageBuildsAndTrainsTwoSteps()
    {
        string dir = TinyData.TempDir("package-consumer");
        try
        {
            File.WriteAllText(Path.Combine(dir, "consumer.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <OutputType>Exe</OutputType>
                    <TargetFramework>net10.0</TargetFramework>
                    <ImplicitUsings>enable</ImplicitUsings>
                  </PropertyGroup>
                  <ItemGroup>
                    <PackageReference Include="CnnLab" Version="{packages.Version}" />
                  </ItemGroup>
                </Project>
                """);
            // The packed folder first; the library's own dependencies (Google.Protobuf, System.Numerics.Tensors) come
            // from the sources the machine already has.
            File.WriteAllText(Path.Combine(dir, "nuget.config"), $"""
                <?xml version="1.0" encoding="utf-8"?>
                <configuration>
                  <packageSources>
                    <add key="artifacts" value="{packages.Feed}" />
                  </packageSources>
                </configuration>
                """);
            File.WriteAllText(Path.Combine(dir, "Program.cs"), """
                using CnnLab.Data;
                using CnnLab.Nn;
                using CnnLab.Nn.Models;
                using CnnLab.Optim;
                using CnnLab.Tensors;

                var data = FashionMnist.LoadEmbeddedSubset();
                var model = ModelZoo.Create("cnn-small", new Generator(seed: 0));
                var optimizer = new AdamW(WeightDecayGroups.Split(model), lr: 1e-3);
                var loader = new DataLoader(data.Train, batchSize: 32, shuffle: true, seed: 0);
                int step = 0;
                foreach (var (x, y) in loader.Epoch(0))
                {
                    optimizer.ZeroGrad();
                    var loss = Functional.CrossEntropy(model.Forward(x), y);
                    loss.Backward();
                    optimizer.Step();
                    Console.WriteLine($"step {++step} loss {loss.Item():0.0000}");
                    if (step == 2) break;
                }
                """);
            var run = ChildProcess.Run("dotnet", ["run", "-c", "Release"], dir, TimeSpan.FromMinutes(5));
            Assert.True(run.ExitCode == 0, $"dotnet run of the consumer: {run}");
            var losses = run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => l.Split(' ')).Where(p => p.Length == 4 && p[0] == "step")
                .Select(p => double.Parse(p[3], System.Globalization.CultureInfo.InvariantCulture)).ToList();
            Assert.Equal(2, losses.Count);
            // Ten classes at random start near ln 10 = 2.30; a working step does not leave that range.
            Assert.All(losses, l => Assert.InRange(l, 1.0, 3.0));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
