using System.Security.Claims;
using System.Text.Encodings.Web;
using Memobase.Server.Infrastructure;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;

namespace Memobase.Server.Projects;

/// <summary>The bearer scheme and the <see cref="MemobaseAuth"/> policies, backed by <see cref="ProjectTokenAuthenticator"/>.</summary>
public static class ProjectAuthentication
{
    public static IServiceCollection AddMemobaseAuth(this IServiceCollection services)
    {
        services.AddAuthentication(MemobaseAuth.BearerScheme)
            .AddScheme<AuthenticationSchemeOptions, BearerAuthenticationHandler>(MemobaseAuth.BearerScheme, null);
        // The policies name no scheme: bearer is the default scheme, so the authentication middleware has already set
        // HttpContext.User from it. Naming it again made the policy evaluator authenticate a second time and merge the
        // principal into a new one on every request.
        services.AddAuthorizationBuilder()
            .AddPolicy(MemobaseAuth.Project, p => p.RequireAuthenticatedUser())
            .AddPolicy(MemobaseAuth.Root, p => p.RequireAuthenticatedUser().RequireRole(MemobaseAuth.RootRole))
            .AddPolicy(MemobaseAuth.ProjectOrRoot, p => p.RequireAuthenticatedUser().RequireAssertion(c =>
                Caller.From(c.User) is { } caller && (caller.IsRoot
                    || (c.Resource is HttpContext http && string.Equals(http.GetRouteValue("project_id") as string, caller.ProjectId, StringComparison.Ordinal)))))
            .SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build());
        return services;
    }
}

/// <summary>
/// Upstream's bearer auth: <c>Authorization: Bearer &lt;token&gt;</c> (scheme name in any case, RFC 9110 §11.1) with
/// the root token or a project token. Challenges answer HTTP 401 and forbids HTTP 403, both with the envelope.
/// </summary>
public sealed class BearerAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ProjectTokenAuthenticator authenticator)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (header.Length <= BearerPrefixLength || !header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return AuthenticateResult.NoResult();
        var token = header[BearerPrefixLength..].Trim();
        if (token.Length == 0) return AuthenticateResult.NoResult();

        var (principal, error) = await authenticator.AuthenticateAsync(token, Context.RequestAborted);
        return principal is null
            ? AuthenticateResult.Fail(error ?? "Invalid token")
            : AuthenticateResult.Success(new AuthenticationTicket(principal, Scheme.Name));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync();
        var path = Request.Path;
        var message = result.Failure is { } failure
            ? $"Unauthorized access to {path}. CODE 401; ERROR {failure.Message}"
            : $"Unauthorized access to {path}. You have to provide a valid Bearer token.";
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer";
        await Response.WriteAsJsonAsync(new ApiResponse<object>(null, Errno.Unauthorized, message), Context.RequestAborted);
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        var message = Context.GetEndpoint()?.Metadata.GetOrderedMetadata<IAuthorizeData>().Any(a => a.Policy == MemobaseAuth.ProjectOrRoot) == true
            ? "Only the root token or the project's own token can access this project's resources."
            : Request.Path.StartsWithSegments("/admin", StringComparison.OrdinalIgnoreCase)
                ? "Only the root token can access the admin API."
                : $"Only the root token can access {Request.Path}.";
        Response.StatusCode = StatusCodes.Status403Forbidden;
        return Response.WriteAsJsonAsync(new ApiResponse<object>(null, Errno.Forbidden, message), Context.RequestAborted);
    }

    private const int BearerPrefixLength = 7;
}
