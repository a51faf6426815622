using System.Net;
using System.Text.RegularExpressions;
using Memobase.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Memobase.Server.Tests.AdminUi;

/// <summary>The admin console's cookie session over real HTTP: cookie flags, expiry, sign-out, and sessions that end when
/// their project is suspended or its token rotated.</summary>
public sealed partial class AdminSessionTests(MemobaseApp app) : IClassFixture<MemobaseApp>
{
    private readonly HttpClient _root = app.Client();

    private HttpClient Browser(bool https = false) => app.CreateClient(new WebApplicationFactoryClientOptions
    {
        AllowAutoRedirect = false,
        BaseAddress = new Uri(https ? "https://localhost" : "http://localhost"),
    });

    private static async Task<string> AntiforgeryTokenAsync(HttpClient browser, string path)
    {
        var html = await browser.GetStringAsync(path);
        return AntiforgeryField().Match(html) is { Success: true } m ? m.Groups[1].Value : throw new InvalidOperationException($"no antiforgery field in {path}");
    }

    private static async Task<HttpResponseMessage> SignInAsync(HttpClient browser, string token)
    {
        var af = await AntiforgeryTokenAsync(browser, "/admin/login");
        return await browser.PostAsync("/admin/login", new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = token, ["__af"] = af }));
    }

    private static async Task<HttpStatusCode> OverviewAsync(HttpClient browser)
    {
        using var response = await browser.GetAsync("/admin");
        if (response.StatusCode == HttpStatusCode.Redirect) Assert.StartsWith("/admin/login", PathOf(response), StringComparison.Ordinal);
        return response.StatusCode;
    }

    private static string PathOf(HttpResponseMessage redirect)
        => redirect.Headers.Location is { IsAbsoluteUri: true } absolute ? absolute.PathAndQuery : redirect.Headers.Location!.OriginalString;

    [Fact]
    public async Task Sign_in_sets_an_httponly_strict_expiring_cookie_that_is_secure_over_https()
    {
        using var browser = Browser(https: true);
        using var signedIn = await SignInAsync(browser, MemobaseApp.RootToken);
        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        Assert.Equal("/admin", PathOf(signedIn));
        var cookie = signedIn.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("memobase_admin=", StringComparison.Ordinal)).ToLowerInvariant();
        Assert.Contains("httponly", cookie, StringComparison.Ordinal);
        Assert.Contains("samesite=strict", cookie, StringComparison.Ordinal);
        Assert.Contains("secure", cookie, StringComparison.Ordinal);
        Assert.Contains("path=/admin", cookie, StringComparison.Ordinal);
        var expires = DateTimeOffset.Parse(Regex.Match(cookie, "expires=([^;]+)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(expires - DateTimeOffset.UtcNow, TimeSpan.FromMinutes(479), TimeSpan.FromMinutes(481)); // admin_session_minutes = 480
        using (var overview = await browser.GetAsync("/admin"))
        {
            Assert.Equal(HttpStatusCode.OK, overview.StatusCode);
            Assert.Contains("default-src 'none'", overview.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
            Assert.True(overview.Headers.CacheControl!.NoStore);
        }

        using var plain = Browser();
        using var overHttp = await SignInAsync(plain, MemobaseApp.RootToken);
        Assert.DoesNotContain("secure", overHttp.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("memobase_admin=", StringComparison.Ordinal)).ToLowerInvariant(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_wrong_token_is_refused_and_the_bearer_token_does_not_open_pages()
    {
        using var browser = Browser();
        using var refused = await SignInAsync(browser, "sk-nope-123");
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Contains("Sign-in failed", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Redirect, await OverviewAsync(browser));
        using var withBearer = Browser(); // the console needs a session, not a bearer header
        withBearer.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", MemobaseApp.RootToken);
        Assert.Equal(HttpStatusCode.Redirect, await OverviewAsync(withBearer));
    }

    [Fact]
    public async Task Signing_out_ends_the_session()
    {
        using var browser = Browser();
        (await SignInAsync(browser, MemobaseApp.RootToken)).Dispose();
        Assert.Equal(HttpStatusCode.OK, await OverviewAsync(browser));
        var af = await AntiforgeryTokenAsync(browser, "/admin");
        using (var withoutToken = await browser.PostAsync("/admin/logout", new FormUrlEncodedContent([])))
        {
            Assert.Equal(HttpStatusCode.BadRequest, withoutToken.StatusCode);
        }
        Assert.Equal(HttpStatusCode.OK, await OverviewAsync(browser));
        using var signedOut = await browser.PostAsync("/admin/logout", new FormUrlEncodedContent(new Dictionary<string, string> { ["__af"] = af }));
        Assert.Equal(HttpStatusCode.Redirect, signedOut.StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, await OverviewAsync(browser));
    }

    [Fact]
    public async Task A_suspended_projects_and_a_rotated_tokens_session_stops_working()
    {
        var token = (await _root.PostJson("/admin/v1/projects", new { project_id = "ui-session" }).Ok())!["token"]!.GetValue<string>();
        using var browser = Browser();
        (await SignInAsync(browser, token)).Dispose();
        Assert.Equal(HttpStatusCode.OK, await OverviewAsync(browser));
        using (var projects = await browser.GetAsync("/admin/projects"))
        {
            Assert.Equal(HttpStatusCode.Redirect, projects.StatusCode); // root only: to the access-denied page
            Assert.StartsWith("/admin/denied", PathOf(projects), StringComparison.Ordinal);
        }

        await _root.PatchAsync("/admin/v1/projects/ui-session", System.Net.Http.Json.JsonContent.Create(new { status = "suspended" })).Ok();
        Assert.Equal(HttpStatusCode.Redirect, await OverviewAsync(browser));
        using (var again = await SignInAsync(browser, token)) Assert.Equal(HttpStatusCode.Unauthorized, again.StatusCode);

        await _root.PatchAsync("/admin/v1/projects/ui-session", System.Net.Http.Json.JsonContent.Create(new { status = "active" })).Ok();
        (await SignInAsync(browser, token)).Dispose();
        Assert.Equal(HttpStatusCode.OK, await OverviewAsync(browser));
        var rotated = (await _root.PostAsync("/admin/v1/projects/ui-session/rotate_token", null).Ok())!["token"]!.GetValue<string>();
        Assert.Equal(HttpStatusCode.Redirect, await OverviewAsync(browser));
        (await SignInAsync(browser, rotated)).Dispose();
        Assert.Equal(HttpStatusCode.OK, await OverviewAsync(browser));
    }

    [GeneratedRegex("name=\"__af\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryField();
}
