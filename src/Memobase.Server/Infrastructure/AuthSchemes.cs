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
}

/// <summary>The authenticated caller: every query is scoped to <see cref="ProjectId"/>. Bound from the bearer principal.</summary>
public sealed record Caller(string ProjectId, bool IsRoot)
{
    public static ValueTask<Caller?> BindAsync(HttpContext context, ParameterInfo parameter) => ValueTask.FromResult(From(context.User));

    public static Caller? From(ClaimsPrincipal user)
    {
        // The bearer handler's principal carries its caller; reading it costs nothing. Principals built elsewhere (tests,
        // another scheme) are read from their claims.
        if (user is CallerPrincipal principal) return principal.Caller;
        foreach (var identity in user.Identities)
        {
            if (identity.AuthenticationType != MemobaseAuth.BearerScheme) continue;
            var projectId = identity.FindFirst(MemobaseAuth.ProjectIdClaim)?.Value;
            if (projectId is not null) return new Caller(projectId, identity.HasClaim(identity.RoleClaimType, MemobaseAuth.RootRole));
        }
        return null;
    }
}

/// <summary>
/// The bearer scheme's principal: the claims of <see cref="Caller"/> (project id, root role) plus the caller itself, so
/// the handlers, filters and middleware that need it read a field instead of searching claims. The authenticator
/// reuses one instance per verified token; nothing in the server adds identities or claims to it.
/// </summary>
public sealed class CallerPrincipal : ClaimsPrincipal
{
    public CallerPrincipal(Caller caller) : base(BearerIdentity(caller)) => Caller = caller;

    public Caller Caller { get; }

    private static ClaimsIdentity BearerIdentity(Caller caller)
    {
        List<Claim> claims = [new(MemobaseAuth.ProjectIdClaim, caller.ProjectId)];
        if (caller.IsRoot) claims.Add(new Claim(ClaimTypes.Role, MemobaseAuth.RootRole));
        return new ClaimsIdentity(claims, MemobaseAuth.BearerScheme);
    }
}
