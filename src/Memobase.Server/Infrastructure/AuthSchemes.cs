using System.Reflection;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;

namespace Memobase.Server.Infrastructure;

/// <summary>
/// Names of the authentication scheme and the authorization policies. Every endpoint needs a bearer token (the
/// fallback policy) unless it opts out with <c>AllowAnonymous()</c>; groups choose <see cref="Project"/> (any valid
/// token) or <see cref="Root"/> (the root token) with <c>RequireAuthorization(MemobaseAuth.Root)</c>.
/// </summary>
public static class MemobaseAuth
{
    /// <summary>The bearer scheme: the root token or a project token <c>sk-&lt;project_id&gt;-&lt;secret&gt;</c>.</summary>
    public const string BearerScheme = "Bearer";

    /// <summary>Any valid bearer token (root or project); the caller acts on its own project.</summary>
    public const string Project = "project";

    /// <summary>Only the root token (<c>ACCESS_TOKEN</c>).</summary>
    public const string Root = "root";

    /// <summary>The root token, or a project token on routes of its own project (the route value <c>project_id</c>).</summary>
    public const string ProjectOrRoot = "project_or_root";

    /// <summary>Role claim of the root token.</summary>
    public const string RootRole = "root";

    /// <summary>Claim holding the caller's project id.</summary>
    public const string ProjectIdClaim = "memobase:project_id";

    public static IServiceCollection AddMemobaseAuth(this IServiceCollection services)
    {
        services.AddAuthentication(BearerScheme)
            .AddScheme<AuthenticationSchemeOptions, BearerAuthenticationHandler>(BearerScheme, null);
        services.AddAuthorizationBuilder()
            .AddPolicy(Project, p => p.AddAuthenticationSchemes(BearerScheme).RequireAuthenticatedUser())
            .AddPolicy(Root, p => p.AddAuthenticationSchemes(BearerScheme).RequireAuthenticatedUser().RequireRole(RootRole))
            .AddPolicy(ProjectOrRoot, p => p.AddAuthenticationSchemes(BearerScheme).RequireAuthenticatedUser().RequireAssertion(c =>
                Caller.From(c.User) is { } caller && (caller.IsRoot
                    || (c.Resource is HttpContext http && string.Equals(http.GetRouteValue("project_id") as string, caller.ProjectId, StringComparison.Ordinal)))))
            .SetFallbackPolicy(new AuthorizationPolicyBuilder(BearerScheme).RequireAuthenticatedUser().Build());
        return services;
    }
}

/// <summary>The authenticated caller: every query is scoped to <see cref="ProjectId"/>. Bound from the bearer principal.</summary>
public sealed record Caller(string ProjectId, bool IsRoot)
{
    public static ValueTask<Caller?> BindAsync(HttpContext context, ParameterInfo parameter) => ValueTask.FromResult(From(context.User));

    public static Caller? From(ClaimsPrincipal user)
    {
        foreach (var identity in user.Identities)
        {
            if (identity.AuthenticationType != MemobaseAuth.BearerScheme) continue;
            var projectId = identity.FindFirst(MemobaseAuth.ProjectIdClaim)?.Value;
            if (projectId is not null) return new Caller(projectId, identity.HasClaim(identity.RoleClaimType, MemobaseAuth.RootRole));
        }
        return null;
    }

    public ClaimsPrincipal ToPrincipal()
    {
        List<Claim> claims = [new(MemobaseAuth.ProjectIdClaim, ProjectId)];
        if (IsRoot) claims.Add(new Claim(ClaimTypes.Role, MemobaseAuth.RootRole));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, MemobaseAuth.BearerScheme));
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

        var (caller, error) = await authenticator.AuthenticateAsync(token, Context.RequestAborted);
        return caller is null
            ? AuthenticateResult.Fail(error ?? "Invalid token")
            : AuthenticateResult.Success(new AuthenticationTicket(caller.ToPrincipal(), Scheme.Name));
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
