using Xunit;

namespace CnnLab.Tests.Packaging;

/// <summary>
/// The tests that start <c>dotnet</c> children which pack, restore or build (packaging and examples): one at a time, so
/// that no child builds a project while another packs its binaries, and sharing one <see cref="PackedArtifacts"/>.
/// </summary>
[CollectionDefinition(Name)]
public sealed class PackagingCollection : ICollectionFixture<PackedArtifacts>
{
    public const string Name = "dotnet children";
}
