using CnnLab.IO;
using Microsoft.AspNetCore.Http;

namespace CnnLab.Web;

/// <summary>
/// The web twin of the CLI's CliErrors: bad input (an <see cref="ArgumentException"/>, <see cref="InvalidFileException"/> or
/// I/O error) becomes 400 with one line of text; anything else is a bug, 500 with one line naming it.
/// </summary>
internal static class WebErrors
{
    private const int MaxMessage = 1000;

    public static IResult BadRequest(string message) => Text(StatusCodes.Status400BadRequest, message);

    public static IResult NotFound(string message) => Text(StatusCodes.Status404NotFound, message);

    public static IResult Text(int status, string message) =>
        Results.Text(OneLine(message) + "\n", "text/plain; charset=utf-8", null, status);

    /// <summary>Runs <paramref name="action"/>, answering bad input with 400 and its message.</summary>
    public static async Task<IResult> Guard(Func<Task<IResult>> action)
    {
        try
        {
            return await action();
        }
        catch (Exception e) when (e is ArgumentException or InvalidFileException or IOException or UnauthorizedAccessException
            or System.Text.Json.JsonException)
        {
            return BadRequest(e.Message);
        }
        catch (OutOfMemoryException)
        {
            return BadRequest("out of memory: the model, batch or image is larger than this machine can hold");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return Text(StatusCodes.Status500InternalServerError, $"internal error ({e.GetType().Name}: {e.Message}); please report it");
        }
    }

    public static Task<IResult> Guard(Func<IResult> action) => Guard(() => Task.FromResult(action()));

    public static string OneLine(string message)
    {
        var line = message.ReplaceLineEndings(" ");
        return line.Length <= MaxMessage ? line : $"{line[..MaxMessage]}…";
    }
}
