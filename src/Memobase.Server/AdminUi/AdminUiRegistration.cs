using System.Reflection;
using System.Security.Cryptography;
using Memobase.Server.Data;
using Memobase.Server.Infrastructure;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Extensions.Options;

namespace Memobase.Server.AdminUi;

/// <summary>
/// The admin console at <c>/admin</c>: Razor Pages rendered on the server, one stylesheet served from the assembly, no
/// script. Pages need a cookie session (<see cref="AdminSession"/>); the project pages need the root token. The pages
/// are not API: they carry <see cref="IExcludeFromDescriptionMetadata"/> and stay out of the OpenAPI document.
/// </summary>
public static class AdminUiRegistration
{
    public const string StylesheetPath = "/admin/assets/admin.css";

    public static IServiceCollection AddAdminUi(this IServiceCollection services)
    {
        services.AddMemobaseOptions<AdminUiOptions>();
        services.AddRazorPages(o =>
        {
            o.RootDirectory = "/AdminUi/Pages";
            o.Conventions.AuthorizeFolder("/", AdminSession.Policy);
            o.Conventions.AuthorizeFolder("/Projects", AdminSession.RootPolicy);
            o.Conventions.AllowAnonymousToPage("/Login");
            o.Conventions.AddFolderApplicationModelConvention("/", m =>
            {
                m.EndpointMetadata.Add(new ExcludeFromDescriptionAttribute());
                m.Filters.Add(new AdminResponseHeaders());
            });
        });
        services.AddAuthentication().AddCookie(AdminSession.Scheme, AdminSession.Configure);
        services.AddOptions<CookieAuthenticationOptions>(AdminSession.Scheme)
            .Configure<IOptions<AdminUiOptions>>((o, ui) => o.ExpireTimeSpan = TimeSpan.FromMinutes(ui.Value.SessionMinutes));
        services.AddAuthorizationBuilder()
            .AddPolicy(AdminSession.Policy, p => p.AddAuthenticationSchemes(AdminSession.Scheme).RequireAuthenticatedUser())
            .AddPolicy(AdminSession.RootPolicy, p => p.AddAuthenticationSchemes(AdminSession.Scheme).RequireAuthenticatedUser()
                .RequireAssertion(c => AdminSession.From(c.User).IsRoot));
        // Session cookies and antiforgery tokens are protected with keys kept in PostgreSQL, so a cookie issued by
        // one replica is valid on every other (and survives restarts).
        services.AddDataProtection().SetApplicationName("memobase-server").PersistKeysToDbContext<MemobaseDb>();
        services.AddAntiforgery(o =>
        {
            o.Cookie.Name = "memobase_admin_af";
            o.Cookie.Path = "/admin";
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.FormFieldName = "__af";
        });
        return services;
    }

    public static WebApplication MapAdminUi(this WebApplication app)
    {
        var css = Stylesheet.Load();
        app.MapGet(StylesheetPath, (HttpContext context) =>
        {
            context.Response.Headers.CacheControl = "no-cache";
            context.Response.Headers.ETag = css.ETag;
            return context.Request.Headers.IfNoneMatch == css.ETag
                ? Results.StatusCode(StatusCodes.Status304NotModified)
                : Results.Bytes(css.Bytes, "text/css; charset=utf-8");
        }).ExcludeFromDescription().AllowAnonymous();
        app.MapRazorPages();
        return app;
    }

    private sealed record Stylesheet(byte[] Bytes, string ETag)
    {
        public static Stylesheet Load()
        {
            using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("admin.css")
                ?? throw new InvalidOperationException("The admin.css resource is missing from the assembly");
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var bytes = copy.ToArray();
            return new Stylesheet(bytes, $"\"{Convert.ToHexStringLower(SHA256.HashData(bytes))[..16]}\"");
        }
    }
}
