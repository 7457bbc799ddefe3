using System.Globalization;

namespace CnnLab.Cli.Support;

/// <summary>
/// One progress line per epoch: a bar on a terminal (redrawn in place with '\r'), and a plain line
/// every ~10% when output is redirected, so logs stay readable.
/// </summary>
public sealed class ProgressBar(TextWriter output, bool interactive)
{
    private int _lastDecile = -1;
    private DateTime _lastDraw = DateTime.MinValue;

    /// <summary>True when stdout is a terminal.</summary>
    public static bool IsTerminal => !Console.IsOutputRedirected;

    public void Report(int epoch, int epochs, int batch, int batches, double loss, double accuracy, double imagesPerSecond, TimeSpan eta)
    {
        string stats = string.Create(CultureInfo.InvariantCulture,
            $"loss {loss:0.0000}  acc {accuracy * 100:0.00}%  {imagesPerSecond:0} img/s  ETA {FormatTime(eta)}");
        if (interactive)
        {
            var now = DateTime.UtcNow;
            if (batch < batches && (now - _lastDraw).TotalMilliseconds < 100) return;
            _lastDraw = now;
            const int width = 28;
            int filled = batches == 0 ? width : (int)((long)width * batch / batches);
            output.Write($"\repoch {epoch}/{epochs} [{new string('#', filled)}{new string('.', width - filled)}] {batch}/{batches}  {stats}   ");
            if (batch == batches) output.WriteLine();
        }
        else
        {
            int decile = batches == 0 ? 10 : (int)(10L * batch / batches);
            if (decile == _lastDecile) return;
            _lastDecile = decile;
            output.WriteLine($"epoch {epoch}/{epochs} batch {batch}/{batches}  {stats}");
        }
    }

    /// <summary>
    /// One line for a run of many items (a sweep's cells): done of total, what is running, and the time left; redrawn in
    /// place on a terminal, every ~10% otherwise.
    /// </summary>
    public void ReportItems(string what, int done, int total, double fraction, string stats, TimeSpan? eta)
    {
        string left = eta is TimeSpan t ? $"  left {FormatTime(t)}" : "";
        if (interactive)
        {
            var now = DateTime.UtcNow;
            if (done < total && (now - _lastDraw).TotalMilliseconds < 200) return;
            _lastDraw = now;
            const int width = 28;
            int filled = (int)Math.Clamp(width * fraction, 0, width);
            output.Write($"\r{what} [{new string('#', filled)}{new string('.', width - filled)}] {done}/{total}  {stats}{left}   ");
            if (done == total) output.WriteLine();
        }
        else
        {
            int decile = (int)Math.Clamp(10 * fraction, 0, 10);
            if (decile == _lastDecile && done < total) return;
            _lastDecile = decile;
            output.WriteLine($"{what} {done}/{total}  {stats}{left}");
        }
    }

    public void Reset() => _lastDecile = -1;

    private static string FormatTime(TimeSpan t) => t.TotalHours >= 1
        ? t.ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture)
        : t.ToString(@"m\:ss", CultureInfo.InvariantCulture);
}
