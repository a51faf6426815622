using System.Net;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Memobase.Server.Tests.Infrastructure;

namespace Memobase.Server.Tests.Api;

public sealed class AuthTests(MemobaseApp app) : IClassFixture<MemobaseApp>
{
    [Theory]
    [InlineData(null)]
    [InlineData("Bearer wrong-token")]
    [InlineData("Basic cm9vdDpzZWNyZXQ=")]
    [InlineData("Bearer")]
    [InlineData("Bearer sk-nosuchproject-abcdef")]
    [InlineData("Bearer sk-")]
    public async Task Missing_or_wrong_token_gets_401_with_the_envelope(string? header)
    {
        var client = app.Client(token: null);
        if (header is not null) client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", header);
        using var response = await client.GetAsync($"/api/v1/users/{Guid.NewGuid()}");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var body = await response.Json();
        Assert.Equal(401, body["errno"]!.GetValue<int>());
        Assert.Null(body["data"]);
        Assert.StartsWith("Unauthorized access to /api/v1/users/", body["errmsg"]!.GetValue<string>());
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
    }

    [Theory]
    [InlineData("bearer")]
    [InlineData("BEARER")]
    [InlineData("bEaReR")]
    public async Task The_bearer_scheme_name_is_case_insensitive(string scheme)
    {
        var client = app.Client(token: null);
        client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", $"{scheme} {MemobaseApp.RootToken}");
        var id = await client.CreateUserAsync();
        Assert.NotEqual(Guid.Empty, id);
    }

    [Fact]
    public async Task Every_endpoint_needs_a_token_unless_it_opts_out()
    {
        var endpoints = app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>().ToList();
        foreach (var endpoint in endpoints)
        {
            var pattern = endpoint.RoutePattern.RawText!.TrimStart('/');
            var anonymous = endpoint.Metadata.GetMetadata<IAllowAnonymous>() is not null;
            var policies = endpoint.Metadata.GetOrderedMetadata<IAuthorizeData>().Select(a => a.Policy).ToList();
            if (pattern.StartsWith("api/", StringComparison.Ordinal))
            {
                Assert.True(anonymous == (pattern == "api/v1/healthcheck"), pattern);
                if (!anonymous) Assert.Contains("project", policies);
            }
            else if (pattern.StartsWith("admin/v1/projects/{project_id}/webhooks", StringComparison.Ordinal))
            {
                // A project's webhooks: the root token or that project's own token.
                Assert.False(anonymous, pattern);
                Assert.Contains("project_or_root", policies);
            }
            else if (pattern.StartsWith("admin/v1/", StringComparison.Ordinal))
            {
                Assert.False(anonymous, pattern);
                Assert.Contains("root", policies);
            }
            else
            {
                // Everything else (OpenAPI document, admin console pages) chose explicitly: a policy or AllowAnonymous.
                Assert.True(anonymous || policies.Count > 0, pattern);
            }
        }

        // Paths no endpoint matches fall under the fallback policy too: no token, no hint whether they exist.
        using var unknown = await app.Client(token: null).GetAsync("/no/such/route");
        Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);
        using var docs = await app.Client(token: null).GetAsync("/docs/index.html");
        Assert.Equal(HttpStatusCode.OK, docs.StatusCode);
        using var openapi = await app.Client(token: null).GetAsync("/openapi.json");
        Assert.Equal(HttpStatusCode.OK, openapi.StatusCode);
    }

    [Fact]
    public async Task Healthcheck_needs_no_token_and_really_queries_the_database()
    {
        var data = await app.Client(token: null).GetAsync("/api/v1/healthcheck").Ok();
        Assert.Null(data);
    }

    [Fact]
    public async Task Admin_routes_need_the_root_token()
    {
        var project = await app.Client().PostJson("/admin/v1/projects", new { project_id = "auth-admin" }).Ok();
        var projectClient = app.Client(project!["token"]!.GetValue<string>());
        using var response = await projectClient.GetAsync("/admin/v1/projects");
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        using var anonymous = await app.Client(token: null).GetAsync("/admin/v1/projects");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
    }

    [Fact]
    public async Task Suspended_project_is_rejected_and_a_rotated_token_replaces_the_old_one()
    {
        var root = app.Client();
        var created = await root.PostJson("/admin/v1/projects", new { project_id = "auth-suspend" }).Ok();
        var token = created!["token"]!.GetValue<string>();
        Assert.StartsWith("sk-auth-suspend-", token);
        var client = app.Client(token);
        await client.CreateUserAsync();

        var rotated = await root.PostAsync("/admin/v1/projects/auth-suspend/rotate_token", null).Ok();
        var newToken = rotated!["token"]!.GetValue<string>();
        Assert.NotEqual(token, newToken);
        using (var old = await client.PostJson("/api/v1/users", new { }))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, old.StatusCode);
            Assert.Contains("Wrong secret key", (await old.Json())["errmsg"]!.GetValue<string>());
        }
        var fresh = app.Client(newToken);
        await fresh.CreateUserAsync();

        await root.PatchAsync("/admin/v1/projects/auth-suspend", JsonContent("{\"status\":\"suspended\"}")).Ok();
        using var suspended = await fresh.PostJson("/api/v1/users", new { });
        Assert.Equal(HttpStatusCode.Unauthorized, suspended.StatusCode);
        Assert.Contains("suspended", (await suspended.Json())["errmsg"]!.GetValue<string>());
    }

    [Fact]
    public async Task Token_values_never_appear_in_responses_for_other_projects()
    {
        var root = app.Client();
        await root.PostJson("/admin/v1/projects", new { project_id = "auth-list" }).Ok();
        var list = await root.GetAsync("/admin/v1/projects").Ok();
        var entry = list!.AsArray().Single(p => p!["project_id"]!.GetValue<string>() == "auth-list")!;
        Assert.Null(entry["token"]);
        Assert.Null(entry["project_secret"]);
    }

    private static StringContent JsonContent(string json)
    {
        var content = new StringContent(json);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }
}
