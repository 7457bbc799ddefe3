using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using CnnLab.Data;
using CnnLab.Lab;
using CnnLab.Viz;
using Xunit;
using Figure = CnnLab.Lab.Figure;

namespace CnnLab.Tests;

public class ReportTests
{
    // Two stand-ins for real experiments (the real ones are tested on tiny budgets elsewhere):
    // one that makes figures and one that fails, so both kinds of section are rendered.
    private sealed class FigureExperiment : Experiment
    {
        public override ExperimentInfo Info { get; } =
            new(Name: "figure-maker", Title: "Makes two figures", Topic: "Initialization", Order: 1, Claim: "Figures <render> & load.");

        public override ExperimentResult Run(LabContext ctx) => new()
        {
            Claim = Claim,
            Verdict = "measured 2 figures",
            Agrees = true,
            Metrics = new() { ["answer"] = 42.0, ["curve"] = new[] { 1.0, double.NaN } },
            Figures =
            [
                Figure.Of(LinePlots.Curves("line", "x", "y", [("a", [1.0, 2, 3], [1.0, 4, 9])], ctx.FigurePath("line")), "a line"),
                Figure.Of(BarCharts.Grouped("bars", ["g1", "g2"], [("s", [1.0, 2])], "v", ctx.FigurePath("bars")), "some bars"),
            ],
            Tables = [new LabTable("t", ["k", "v"], [["a", "1"]])],
        };
    }

    private sealed class FailingExperiment : Experiment
    {
        public override ExperimentInfo Info { get; } =
            new(Name: "fails", Title: "Fails on purpose", Topic: "CNNs", Order: 2, Claim: "It fails.");

        public override ExperimentResult Run(LabContext ctx) => throw new InvalidOperationException("deliberate failure");
    }

    private static (LabRunner.LabRun Run, string Dir) MakeReport()
    {
        var dir = TinyData.TempDir("report");
        var data = FashionMnist.LoadEmbeddedSubset();
        var run = LabRunner.Run([new FigureExperiment(), new FailingExperiment()], dir, data, "test data", LabMode.Quick, 0, 1, TextWriter.Null);
        return (run, dir);
    }

    [Fact]
    public void ResultsJsonHasTheDocumentedShape()
    {
        var (_, dir) = MakeReport();
        var root = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "results.json")))!;
        var fig = root["experiments"]!["figure-maker"]!;
        Assert.Equal("Figures <render> & load.", (string?)fig["claim"]);
        Assert.True((bool)fig["agrees"]!);
        Assert.Equal(42.0, (double)fig["metrics"]!["answer"]!);
        Assert.Null(fig["metrics"]!["curve"]![1]);               // NaN is written as null
        Assert.False((bool)root["experiments"]!["fails"]!["agrees"]!);
        Assert.Equal("deliberate failure", (string?)root["experiments"]!["fails"]!["error"]);
        Assert.Equal("quick", (string?)root["manifest"]!["mode"]);
        Assert.True(File.Exists(Path.Combine(dir, "figure-maker", "results.json")));
    }

    [Fact]
    public void ReportIsSelfContainedWithEverySection()
    {
        var (run, _) = MakeReport();
        var html = File.ReadAllText(run.ReportPath);
        Assert.Contains("<section id=\"figure-maker\"", html);
        Assert.Contains("<section id=\"fails\"", html);
        Assert.Contains("id=\"manifest\"", html);
        Assert.Contains("href=\"#figure-maker\"", html);           // table of contents
        Assert.Contains("Figures &lt;render&gt; &amp; load.", html); // escaped
        Assert.DoesNotContain("<script", html);
        Assert.DoesNotMatch("(src|href)=\"(https?:|//|file:)", html); // nothing outside the page
        var images = Regex.Matches(html, "src=\"data:image/png;base64,([^\"]+)\"");
        Assert.Equal(2, images.Count);
        foreach (Match m in images)
        {
            var png = Convert.FromBase64String(m.Groups[1].Value);
            Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47 }, png[..4]);
        }
    }

    [Fact]
    public async Task EveryImageLoadsAndEverySectionIsPresentInHeadlessChromium()
    {
        var (run, dir) = MakeReport();
        var probe = await HeadlessChromium.Open(run.ReportPath, dir);
        Assert.Equal(2, probe.Images);
        Assert.Equal(2, probe.Loaded);
        Assert.Equal(["figure-maker", "fails"], probe.Sections);
    }
}
