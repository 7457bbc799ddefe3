using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace CnnLab.Web;

/// <summary>
/// The Explainer's API: a multipart form (run, image, top, invert) → the prediction, feature-map pictures and arithmetic of
/// <see cref="Explainer"/>; the pictures are served from the explanation's folder. Uploads are capped in bytes here and in
/// pixels by the decoder's header check, before anything is decoded.
/// </summary>
internal sealed partial class ExplainEndpoints(string workDirectory)
{
    // Explanations kept on disk: enough for a page's recent images, not a folder that grows for ever.
    private const int Kept = 16;
    private readonly Queue<string> _folders = new();
    private readonly Dictionary<string, Explanation> _explanations = [];
    private readonly Lock _lock = new();

    [GeneratedRegex("^[0-9a-f]{16}$")]
    private static partial Regex IdPattern();

    [GeneratedRegex("^[a-z0-9-]+\\.png$")]
    private static partial Regex PictureName();

    public void Map(WebApplication app, RunCatalog runs, ServeOptions options)
    {
        app.MapPost("/api/explain", (HttpRequest request, CancellationToken cancel) => WebErrors.Guard(async () =>
        {
            if (request.ContentLength > options.MaxUploadBytes + 64 * 1024) return TooLarge(options);
            if (!request.HasFormContentType) return WebErrors.BadRequest("send a multipart form with the fields run and image");
            IFormCollection form;
            try { form = await request.ReadFormAsync(cancel); }
            catch (InvalidDataException) { return TooLarge(options); }   // over the form's limits, found while reading
            string run = form["run"].ToString();
            if (runs.Folder(run) is not { } dir) return WebErrors.NotFound($"no run '{run}' in the runs folder");
            if (form.Files.GetFile("image") is not { } file) return WebErrors.BadRequest("no image: send the file in the field 'image'");
            if (file.Length > options.MaxUploadBytes) return TooLarge(options);
            int top = form["top"].Count == 0 ? 3 : int.TryParse(form["top"], NumberStyles.Integer, CultureInfo.InvariantCulture, out int k)
                ? k : throw new ArgumentException($"--top must be a whole number, got '{form["top"]}'");
            bool invert = form["invert"].ToString() is "on" or "true" or "1";
            var bytes = new byte[file.Length];
            await using (var stream = file.OpenReadStream()) await stream.ReadExactlyAsync(bytes, cancel);
            string id = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));
            string folder = Path.Combine(workDirectory, id);
            Remember(folder);
            var result = await Task.Run(() => Explainer.Run(dir, bytes, top, invert, options.MaxUploadPixels, folder, id));
            lock (_lock) if (_folders.Contains(folder)) _explanations[id] = result;
            return Results.Json(new
            {
                conv_layers = result.ConvLayers,
                id,
                top = result.Top.Select(g => new { @class = g.Class, label = g.Label, probability = g.Probability }),
                stages = result.Stages.Select(s => new { stage = s.Stage, url = $"/api/explain/{id}/{s.File}", dead_maps = s.DeadMaps }),
                arithmetic = result.Arithmetic,
            });
        })).DisableAntiforgery();
        // Any pixel of any conv layer: the page draws one channel's map (…/map) and asks for the arithmetic of the pixel clicked.
        app.MapGet("/api/explain/{id}/map", (string id, string? layer, string? channel) => WebErrors.Guard(() =>
        {
            if (Find(id) is not { } e) return NoExplanation(id);
            int l = Required(layer, "layer"), c = Required(channel, "channel");
            return Results.Json(new { layer = l, channel = c, values = e.Map(l, c).Select(v => double.IsFinite(v) ? v : 0) });
        }));
        app.MapGet("/api/explain/{id}/arithmetic", (string id, string? layer, string? channel, string? row, string? col) => WebErrors.Guard(() =>
        {
            if (Find(id) is not { } e) return NoExplanation(id);
            var a = e.PixelArithmetic(Required(layer, "layer"), Required(channel, "channel"), Required(row, "row"), Required(col, "col"));
            return Results.Json(new
            {
                lines = a.Lines, sum_plus_bias = a.HandSum, model_output = a.ModelOutput,
                columns = a.Table.Headers, rows = a.Table.Rows,
            });
        }));
        app.MapGet("/api/explain/{id}/{file}", (string id, string file) =>
        {
            string path = Path.Combine(workDirectory, id, file);
            return IdPattern().IsMatch(id) && PictureName().IsMatch(file) && File.Exists(path)
                ? Results.File(path, "image/png") : WebErrors.NotFound($"no picture '{file}' of explanation '{id}' (kept: the last {Kept})");
        });
    }

    private Explanation? Find(string id)
    {
        lock (_lock) return _explanations.GetValueOrDefault(id);
    }

    private static IResult NoExplanation(string id) => WebErrors.NotFound($"no explanation '{id}' (kept: the last {Kept}): explain the image again");

    private static int Required(string? value, string name) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) ? v
            : throw new ArgumentException($"{name} must be a whole number, got '{value}' (ask ?layer=L&channel=C&row=R&col=Q)");

    private static IResult TooLarge(ServeOptions options) =>
        WebErrors.Text(StatusCodes.Status413PayloadTooLarge, $"the upload is over the server's {options.MaxUploadBytes:N0} bytes");

    // Keeps the last Kept explanations' folders and deletes older ones.
    private void Remember(string folder)
    {
        lock (_lock)
        {
            _folders.Enqueue(folder);
            while (_folders.Count > Kept)
            {
                string old = _folders.Dequeue();
                _explanations.Remove(Path.GetFileName(old));
                try { if (Directory.Exists(old)) Directory.Delete(old, recursive: true); }
                catch (IOException) { }   // a picture being served: the folder goes with the server's work folder
            }
        }
    }
}
