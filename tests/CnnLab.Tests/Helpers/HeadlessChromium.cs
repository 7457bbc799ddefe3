using System.Diagnostics;
using System.Text.RegularExpressions;
using Xunit;

namespace CnnLab.Tests;

/// <summary>Opens an HTML page in headless Chromium and reports how many images it has, how many loaded, and its section ids.</summary>
public static class HeadlessChromium
{
    public sealed record Probe(int Images, int Loaded, string[] Sections);

    public static async Task<Probe> Open(string htmlPath, string workDir)
    {
        string? chromium = new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome" }.FirstOrDefault(File.Exists);
        Assert.True(chromium is not null, "headless Chromium is needed for this test: apt-get install chromium (.ci/run installs it)");
        // A test-only copy with a probe script appended; the report itself has no scripts.
        var probe = Path.Combine(workDir, "probe.html");
        File.WriteAllText(probe, File.ReadAllText(htmlPath).Replace("</body>", """
            <script>
            window.addEventListener('load', () => {
              const imgs = [...document.images];
              const ok = imgs.filter(i => i.complete && i.naturalWidth > 0).length;
              const sections = [...document.querySelectorAll('section')].map(s => s.id).join(',');
              const out = document.createElement('pre');
              out.id = 'probe';
              out.textContent = `PROBE images=${imgs.length} loaded=${ok} sections=${sections}`;
              document.body.appendChild(out);
            });
            </script></body>
            """));
        var psi = new ProcessStartInfo(chromium!) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic",
                     $"--user-data-dir={Path.Combine(workDir, "chrome-profile")}", "--virtual-time-budget=5000", "--dump-dom", "file://" + probe })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await p.WaitForExitAsync(timeout.Token);
        var dom = await stdout;
        var err = await stderr;
        var m = Regex.Match(dom, "PROBE images=(\\d+) loaded=(\\d+) sections=([\\w,-]*)");
        Assert.True(m.Success, "no probe output from chromium: " + err[..Math.Min(500, err.Length)]);
        return new Probe(int.Parse(m.Groups[1].Value), int.Parse(m.Groups[2].Value), m.Groups[3].Value.Split(','));
    }
}
