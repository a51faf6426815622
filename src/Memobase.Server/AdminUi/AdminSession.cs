using System.Security.Claims;
using Memobase.Server.Data;
using Memobase.Server.Infrastructure;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Memobase.Server.Projects;

namespace Memobase.Server.AdminUi;

/// <summary>Who is signed in to the admin console: the root token (every project) or one project's token.</summary>
public sealed record AdminCaller(string ProjectId, bool IsRoot)
{
    /// <summary>The project every query is limited to, or null for root (every project).</summary>
    public string? Scope => IsRoot ? null : ProjectId;

    public bool CanSee(string projectId) => IsRoot || projectId == ProjectId;
}

/// <summary>
/// The admin console's cookie session. Signing in stores the token inside the encrypted, HttpOnly, SameSite=Strict
/// cookie; every request re-checks it with <see cref="ProjectTokenAuthenticator"/> (its cache is dropped when a project
/// is suspended or its token rotated), so such a session ends at its next request.
/// </summary>
public static class AdminSession
{
    public const string Scheme = "AdminCookie";
    public const string Policy = "AdminUi";
    public const string RootPolicy = "AdminUiRoot";
    public const string CookieName = "memobase_admin";
    public const string LoginPath = "/admin/login";

    private const string ProjectClaim = "memobase:project";
    private const string RootClaim = "memobase:root";
    private const string TokenItem = "memobase:token";

    public static AdminCaller From(ClaimsPrincipal user)
        => new(user.FindFirstValue(ProjectClaim) ?? "", user.FindFirstValue(RootClaim) == "true");

    public static Task SignInAsync(HttpContext context, Caller caller, string token, TimeSpan lifetime)
    {
        var identity = new ClaimsIdentity(
        [
            new Claim(ClaimTypes.Name, caller.IsRoot ? "root" : caller.ProjectId),
            new Claim(ProjectClaim, caller.ProjectId),
            new Claim(RootClaim, caller.IsRoot ? "true" : "false"),
        ], Scheme);
        var now = DateTimeOffset.UtcNow;
        var properties = new AuthenticationProperties { IsPersistent = true, IssuedUtc = now, ExpiresUtc = now + lifetime, AllowRefresh = false };
        properties.Items[TokenItem] = token;
        return context.SignInAsync(Scheme, new ClaimsPrincipal(identity), properties);
    }

    public static void Configure(CookieAuthenticationOptions o)
    {
        o.Cookie.Name = CookieName;
        o.Cookie.HttpOnly = true;
        o.Cookie.SameSite = SameSiteMode.Strict;
        o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
        o.Cookie.Path = "/admin";
        o.SlidingExpiration = false;
        o.LoginPath = LoginPath;
        o.LogoutPath = "/admin/logout";
        o.AccessDeniedPath = "/admin/denied";
        o.ReturnUrlParameter = "returnUrl";
        o.Events.OnValidatePrincipal = ValidateAsync;
    }

    /// <summary>Ends the session when its token no longer authenticates as the same project (suspended, rotated, changed root token).</summary>
    private static async Task ValidateAsync(CookieValidatePrincipalContext context)
    {
        Caller? caller = null;
        if (context.Properties.Items.TryGetValue(TokenItem, out var token) && !string.IsNullOrEmpty(token))
        {
            var authenticator = context.HttpContext.RequestServices.GetRequiredService<ProjectTokenAuthenticator>();
            caller = (await authenticator.AuthenticateAsync(token, context.HttpContext.RequestAborted)).Principal?.Caller;
        }
        var expected = context.Principal is { } p ? From(p) : null;
        if (caller is null || expected is null || caller.ProjectId != expected.ProjectId || caller.IsRoot != expected.IsRoot
            || (!caller.IsRoot && caller.ProjectId == MemobaseDb.RootProjectId))
        {
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(Scheme);
        }
    }
}
