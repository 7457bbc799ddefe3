namespace CnnLab.Cli.Support;

/// <summary>
/// "Decoding images k/N" while an image folder is decoded: redrawn in place on a terminal, one line per 25 % when the
/// output is redirected. Reports arrive from the decoding threads.
/// </summary>
public sealed class DecodeProgress(TextWriter output, bool interactive)
{
    private readonly Lock _lock = new();
    private DateTime _lastDraw = DateTime.MinValue;
    private int _lastQuarter = -1;
    private bool _drawn;

    public void Report(int done, int total)
    {
        lock (_lock)
        {
            if (interactive)
            {
                var now = DateTime.UtcNow;
                if (done < total && (now - _lastDraw).TotalMilliseconds < 100) return;
                _lastDraw = now;
                output.Write($"\rDecoding images {done:N0}/{total:N0}   ");
                _drawn = true;
            }
            else
            {
                int quarter = (int)(4L * done / Math.Max(total, 1));
                if (quarter == _lastQuarter) return;
                _lastQuarter = quarter;
                output.WriteLine($"Decoding images {done:N0}/{total:N0}");
            }
        }
    }

    /// <summary>Ends the in-place line, if one was drawn.</summary>
    public void Finish()
    {
        lock (_lock)
        {
            if (_drawn) output.WriteLine();
            _drawn = false;
        }
    }
}
