using Microsoft.AspNetCore.Mvc.Filters;

namespace Memobase.Server.AdminUi;

/// <summary>
/// Headers of every console page: a Content-Security-Policy that allows only the server's own stylesheet and forms
/// (no script at all), no framing, no caching (pages show tokens once), no MIME sniffing.
/// </summary>
public sealed class AdminResponseHeaders : IResultFilter
{
    public const string ContentSecurityPolicy =
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

    public void OnResultExecuting(ResultExecutingContext context)
    {
        var headers = context.HttpContext.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.CacheControl = "no-cache, no-store"; // what antiforgery sets anyway (it warns when it has to)
        headers.Pragma = "no-cache";
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "same-origin";
    }

    public void OnResultExecuted(ResultExecutedContext context)
    {
    }
}
