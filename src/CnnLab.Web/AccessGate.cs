using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace CnnLab.Web;

/// <summary>
/// The checks every request passes before any page or API sees it, as Jupyter does: the Host header names this server
/// (a DNS-rebinding page cannot reach it under its own domain), a state-changing request comes from this server's own
/// pages (Origin), and the access token is given (query <c>?token=</c>, which sets a cookie, or the cookie, or an
/// <c>Authorization: token …</c> header). A refusal is 403 with one line of text.
/// </summary>
internal sealed class AccessGate(RequestDelegate next, ServeOptions options)
{
    /// <summary>The cookie that carries the token after the first visit.</summary>
    public const string CookieName = "cnnlab_token";

    private readonly byte[] _token = Encoding.UTF8.GetBytes(options.Token);

    public async Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        if (!AllowedHost(request.Host.Host))
        {
            await Refuse(context, $"Host '{request.Host.Value}' is not this server's name: open the URL that cnnlab serve printed " +
                "(requests under other names are refused against DNS rebinding)");
            return;
        }
        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method) && request.Headers.Origin is { Count: > 0 } origin
            && !SameOrigin(origin.ToString(), request))
        {
            await Refuse(context, $"cross-origin {request.Method} from '{origin}' refused: use this server's own pages");
            return;
        }
        string? fromQuery = request.Query["token"].FirstOrDefault();
        if (fromQuery is not null)
        {
            if (!Matches(fromQuery))
            {
                await Refuse(context, "wrong access token: open the URL with ?token=… that cnnlab serve printed");
                return;
            }
            // SameSite=Strict: another site's page cannot make the browser send it.
            context.Response.Cookies.Append(CookieName, options.Token,
                new CookieOptions { HttpOnly = true, SameSite = SameSiteMode.Strict, Path = "/", IsEssential = true });
        }
        else if (!Matches(request.Cookies[CookieName]) && !Matches(AuthorizationToken(request)))
        {
            await Refuse(context, "an access token is required: open the URL with ?token=… that cnnlab serve printed");
            return;
        }
        await next(context);
    }

    // The names a browser on this machine uses for a loopback server, and the --host value; any IP literal too when
    // listening on every interface (DNS rebinding needs a domain name, so an address is safe to accept).
    private bool AllowedHost(string host)
    {
        string bare = host.Trim('[', ']');
        if (bare.Length == 0) return false;
        if (bare.Equals("localhost", StringComparison.OrdinalIgnoreCase) || bare is "127.0.0.1" or "::1") return true;
        if (bare.Equals(options.Host.Trim('[', ']'), StringComparison.OrdinalIgnoreCase)) return true;
        return options.IsWildcard && IPAddress.TryParse(bare, out _);
    }

    private bool SameOrigin(string origin, HttpRequest request) =>
        Uri.TryCreate(origin, UriKind.Absolute, out var uri) && AllowedHost(uri.Host)
        && string.Equals(uri.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase);

    private static string? AuthorizationToken(HttpRequest request)
    {
        string? header = request.Headers.Authorization.FirstOrDefault();
        return header is not null && header.StartsWith("token ", StringComparison.OrdinalIgnoreCase) ? header[6..].Trim() : null;
    }

    // Compared in constant time, so the response time says nothing about how much of a guess was right.
    private bool Matches(string? given) =>
        given is not null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), _token);

    private static Task Refuse(HttpContext context, string message)
    {
        context.Response.StatusCode = StatusCodes.Status403Forbidden;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(message + "\n");
    }
}
