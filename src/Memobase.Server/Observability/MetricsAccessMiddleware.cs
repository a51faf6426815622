using Memobase.Server.Infrastructure;
using Microsoft.Extensions.Options;
using Memobase.Server.Projects;

namespace Memobase.Server.Observability;

/// <summary>
/// <c>GET /metrics</c> needs the root token (HTTP 401 with the envelope otherwise) unless <c>metrics_public=true</c>.
/// Metrics carry project ids, so a project token is not enough (HTTP 403).
/// </summary>
public sealed class MetricsAccessMiddleware(RequestDelegate next, ProjectTokenAuthenticator authenticator, IOptionsMonitor<ObservabilityOptions> options)
{
    public Task InvokeAsync(HttpContext context)
        => !context.Request.Path.StartsWithSegments(ObservabilitySetup.MetricsPath, StringComparison.OrdinalIgnoreCase) || options.CurrentValue.MetricsPublic
            ? next(context)
            : GuardAsync(context);

    private async Task GuardAsync(HttpContext context)
    {
        var header = context.Request.Headers.Authorization.ToString();
        Caller? caller = null;
        if (header.StartsWith("Bearer ", StringComparison.Ordinal) && header["Bearer ".Length..].Trim() is { Length: > 0 } token)
        {
            caller = (await authenticator.AuthenticateAsync(token, context.RequestAborted)).Principal?.Caller;
        }
        if (caller is { IsRoot: true })
        {
            await next(context);
            return;
        }
        context.Response.StatusCode = caller is null ? StatusCodes.Status401Unauthorized : StatusCodes.Status403Forbidden;
        if (caller is null) context.Response.Headers.WWWAuthenticate = "Bearer";
        await context.Response.WriteAsJsonAsync(new ApiResponse<object>(null, caller is null ? Errno.Unauthorized : Errno.Forbidden,
            "The metrics need the root token (or metrics_public=true)."), context.RequestAborted);
    }
}
