using System.Diagnostics;
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
        string? chromium = new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome" }.FirstOrDefault(File.Exists);
        Assert.True(chromium is not null, "headless Chromium is needed for this test: apt-get install chromium (.ci/run installs it)");
        var (run, dir) = MakeReport();
        // A test-only copy with a probe script appended; the report itself has no scripts.
        var probe = Path.Combine(dir, "probe.html");
        File.WriteAllText(probe, File.ReadAllText(run.ReportPath).Replace("</body>", """
            <script>
            window.addEventListener('load', () => {
              const imgs = [...document.images];
              const ok = imgs.filter(i => i.complete && i.naturalWidth > 0).length;
              const sections = [...document.querySelectorAll('section.experiment')].map(s => s.id).join(',');
              const out = document.createElement('pre');
              out.id = 'probe';
              out.textContent = `PROBE images=${imgs.length} loaded=${ok} sections=${sections}`;
              document.body.appendChild(out);
            });
            </script></body>
            """));
        var psi = new ProcessStartInfo(chromium!)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic",
                     $"--user-data-dir={Path.Combine(dir, "chrome-profile")}", "--virtual-time-budget=5000", "--dump-dom", "file://" + probe })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await p.WaitForExitAsync(timeout.Token);
        var dom = await stdout;
        var err = await stderr;
        var m = Regex.Match(dom, "PROBE images=(\\d+) loaded=(\\d+) sections=([\\w,-]*)");
        Assert.True(m.Success, "no probe output from chromium: " + err[..Math.Min(500, err.Length)]);
        Assert.Equal("2", m.Groups[1].Value);
        Assert.Equal("2", m.Groups[2].Value);
        Assert.Equal("figure-maker,fails", m.Groups[3].Value);
    }
}
