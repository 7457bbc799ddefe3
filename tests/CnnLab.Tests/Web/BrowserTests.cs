using System.Text.Json;
using Xunit;

namespace CnnLab.Tests.Web;

/// <summary>
/// <c>cnnlab serve</c> in a real browser (headless Debian chromium): the token in the URL opens the pages, the Playground
/// trains a 100-step run whose curve grows, the Explainer predicts a drawing with feature maps, and the Runs page shows the
/// run's confusion matrix. A screenshot of each
/// page is kept in the test output's artifacts/ folder.
/// </summary>
public class BrowserTests
{
    // Resolves when f() holds, checked on every change of the page (a MutationObserver), or fails after ms.
    private const string WaitFor = """
        const waitFor = (f, ms = 120000) => new Promise((resolve, reject) => {
          if (f()) return resolve();
          const observer = new MutationObserver(() => { if (f()) { observer.disconnect(); clearTimeout(timer); resolve(); } });
          const timer = setTimeout(() => { observer.disconnect(); reject(new Error('timed out waiting for ' + f)); }, ms);
          observer.observe(document.body, { childList: true, subtree: true, characterData: true, attributes: true });
        });
        """;

    [Fact]
    public async Task ThePlaygroundTrainsAndTheExplainerExplainsADrawingInChromium()
    {
        await using var host = await WebHost.Start(kestrel: true);
        string artifacts = Path.Combine(AppContext.BaseDirectory, "artifacts");
        await using var browser = await HeadlessChromium.Open($"{host.Address}?token={WebHost.Token}#playground",
            TinyData.TempDir("chrome-profile"));

        string trained = await browser.Evaluate($$"""
            (async () => {
              {{WaitFor}}
              await waitFor(() => document.querySelector('#play-form select[name=model]').options.length > 0);
              const form = document.getElementById('play-form');
              form.model.value = 'lenet5';
              form.batch_size.value = '16';
              form.epochs.value = '10';
              form.max_steps.value = '100';
              form.requestSubmit();
              await waitFor(() => /completed/.test(document.querySelector('#job-list tbody').textContent), 240000);
              const job = [...Play.jobs.values()][0];
              await waitFor(() => document.querySelector('#run-list tbody').textContent.includes(job.status.run));
              return JSON.stringify({ points: job.points.length, last: job.points.at(-1).step, run: job.status.run,
                error: document.getElementById('play-error').textContent });
            })()
            """, 300);
        using var play = JsonDocument.Parse(JsonSerializer.Deserialize<string>(trained)!);
        Assert.Equal("", play.RootElement.GetProperty("error").GetString());
        Assert.Equal(100, play.RootElement.GetProperty("last").GetInt64());
        Assert.True(play.RootElement.GetProperty("points").GetInt32() >= 2, trained);
        await browser.Screenshot(Path.Combine(artifacts, "serve-playground.png"));

        string explained = await browser.Evaluate($$"""
            (async () => {
              {{WaitFor}}
              location.hash = '#explainer';
              const select = document.querySelector('#explain-form select[name=run]');
              await waitFor(() => select.options.length > 0);
              const pen = document.getElementById('draw').getContext('2d');
              pen.fillStyle = '#fff';
              pen.fillRect(90, 40, 100, 200);
              document.getElementById('explain-drawing').click();
              await waitFor(() => document.querySelectorAll('#explain-top li').length === 3
                && document.querySelectorAll('#explain-maps img').length > 0);
              const images = [...document.querySelectorAll('#explain-maps img')];
              await Promise.all(images.map(i => i.decode()));
              return JSON.stringify({ run: select.value, top: [...document.querySelectorAll('#explain-top li')].map(li => li.textContent),
                maps: images.length, loaded: images.filter(i => i.naturalWidth > 0).length,
                arithmetic: document.getElementById('explain-arithmetic').textContent.split('\n')[0],
                error: document.getElementById('explain-error').textContent });
            })()
            """);
        using var explain = JsonDocument.Parse(JsonSerializer.Deserialize<string>(explained)!);
        var e = explain.RootElement;
        Assert.Equal("", e.GetProperty("error").GetString());
        Assert.Equal(play.RootElement.GetProperty("run").GetString(), e.GetProperty("run").GetString());
        Assert.Equal(3, e.GetProperty("top").GetArrayLength());
        Assert.Matches(@"^.+: \d+\.\d\d%$", e.GetProperty("top")[0].GetString());
        Assert.True(e.GetProperty("maps").GetInt32() >= 5, explained);
        Assert.Equal(e.GetProperty("maps").GetInt32(), e.GetProperty("loaded").GetInt32());
        Assert.StartsWith("Output pixel: channel", e.GetProperty("arithmetic").GetString());

        // Any pixel of any conv layer: the second conv's maps clicked, then one cell of its channel 0.
        string clicked = await browser.Evaluate($$"""
            (async () => {
              {{WaitFor}}
              document.querySelectorAll('#explain-maps figure.clickable')[1].click();
              await waitFor(() => document.querySelector('#explain-pixel canvas') !== null);
              const map = document.querySelector('#explain-pixel canvas');
              const box = map.getBoundingClientRect();
              const cell = map.width / Number(/ (\d+)x(\d+) map/.exec(document.querySelector('#explain-pixel p').textContent)[2]);
              map.dispatchEvent(new MouseEvent('click', { clientX: box.left + cell * 2.5, clientY: box.top + cell * 1.5, bubbles: true }));
              await waitFor(() => document.getElementById('explain-arithmetic').textContent.includes('row 1, column 2'));
              return document.getElementById('explain-arithmetic').textContent.split('\n')[0];
            })()
            """);
        Assert.Matches(@"^""Output pixel: channel 0, row 1, column 2 of layer \d+ Conv2d", clicked);
        Assert.DoesNotMatch(@"layer 0 Conv2d", clicked);
        await browser.Screenshot(Path.Combine(artifacts, "serve-explainer.png"));

        string evaluated = await browser.Evaluate($$"""
            (async () => {
              {{WaitFor}}
              location.hash = '#runs';
              document.querySelector('#run-list tbody tr').click();
              // 100 steps of 13 batches an epoch: seven epochs in metrics.jsonl, sent by the run's event stream.
              await waitFor(() => document.getElementById('run-detail').dataset.epochs === '7');
              document.getElementById('run-evaluate').click();
              await waitFor(() => document.querySelectorAll('#run-confusion tr').length === 11);
              return document.getElementById('run-eval-status').textContent;
            })()
            """);
        Assert.Matches(@"^""test accuracy \d+\.\d\d% on 100 images", evaluated);
        await browser.Screenshot(Path.Combine(artifacts, "serve-runs.png"));
    }

    [Fact]
    public async Task WithoutTheTokenTheBrowserGetsTheOneLineRefusal()
    {
        await using var host = await WebHost.Start(kestrel: true);
        await using var browser = await HeadlessChromium.Open(host.Address!.ToString(), TinyData.TempDir("chrome-profile"));
        // Open returns after the page's load event: the refusal is all there is.
        string text = await browser.Evaluate("document.body.innerText");
        Assert.Equal("an access token is required: open the URL with ?token=… that cnnlab serve printed",
            JsonSerializer.Deserialize<string>(text)!.Trim());
    }
}
