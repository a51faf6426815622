using System.Globalization;
using System.Text.Json.Nodes;
using Memobase.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;

namespace Memobase.Server.Tests.Memory;

public sealed class ProjectApiTests(MemobaseApp app) : IClassFixture<MemobaseApp>
{
    private static readonly DateOnly Today = DateOnly.FromDateTime(DateTime.UtcNow);

    private static async Task<string> GetConfig(HttpClient client)
        => (await client.GetAsync("/api/v1/project/profile_config").Ok())!["profile_config"]!.GetValue<string>();

    [Fact]
    public async Task Profile_config_round_trips_verbatim_and_is_validated()
    {
        var client = await app.ProjectClientAsync("config-a");
        Assert.Equal("", await GetConfig(client));

        await client.PostJson("/api/v1/project/profile_config", new { profile_config = "" }).Ok();
        Assert.Equal("", await GetConfig(client));

        const string yaml = "\nlanguage: zh\noverwrite_user_profiles:\n  - topic: interest\n    sub_topics:\n      - name: foods\n        description: what they eat\n";
        await client.PostJson("/api/v1/project/profile_config", new { profile_config = yaml }).Ok();
        Assert.Equal(yaml, await GetConfig(client));

        Assert.StartsWith("Invalid profile config: ", await client.PostJson("/api/v1/project/profile_config", new { profile_config = "[[[" }).Fails(400));
        const string badDescription = "overwrite_user_profiles:\n  - topic: interest\n    sub_topics:\n      - name: foods\n        description: true\n";
        Assert.StartsWith("Invalid profile config: ", await client.PostJson("/api/v1/project/profile_config", new { profile_config = badDescription }).Fails(400));
        Assert.Equal("Profile config is too long",
            await client.PostJson("/api/v1/project/profile_config", new { profile_config = "# " + new string('x', 65534) }).Fails(400));
        Assert.Equal(yaml, await GetConfig(client)); // failures change nothing

        await client.PostJson("/api/v1/project/profile_config", "{}").Invalid("body", "profile_config");
        await client.PostJson("/api/v1/project/profile_config", """{"profile_config": 5}""").Invalid("body", "profile_config");
        await client.PostJson("/api/v1/project/profile_config", "[]").Invalid("body");

        await client.PostJson("/api/v1/project/profile_config", """{"profile_config": null}""").Ok();
        Assert.Equal("", await GetConfig(client));
        Assert.Null(await app.ScalarAsync<object?>("SELECT profile_config FROM projects WHERE project_id = 'config-a'") as string);

        // configs are per project
        await client.PostJson("/api/v1/project/profile_config", new { profile_config = "language: en\n" }).Ok();
        var other = await app.ProjectClientAsync("config-b");
        Assert.Equal("", await GetConfig(other));
    }

    [Fact]
    public async Task Users_are_listed_with_counts_search_ordering_and_paging()
    {
        var client = await app.ProjectClientAsync("users-list");
        var a = await client.CreateUserAsync(new { name = "a" });
        var b = await client.CreateUserAsync();
        var c = await client.CreateUserAsync();
        await app.ExecAsync("UPDATE users SET updated_at = now() - make_interval(mins => $2) WHERE id = $1", a, 30);
        await app.ExecAsync("UPDATE users SET updated_at = now() - make_interval(mins => $2) WHERE id = $1", b, 20);
        await app.ExecAsync("UPDATE users SET updated_at = now() - make_interval(mins => $2) WHERE id = $1", c, 10);
        for (var i = 0; i < 3; i++) await client.ProfileAsync(app, b, "t", $"s{i}", "x", 1);
        await client.ProfileAsync(app, a, "t", "s", "x", 1);
        for (var i = 0; i < 2; i++) await app.EventAsync(a, Seed.EventData("e", null), 0, project: "users-list");

        async Task<(List<string> Ids, long Count, JsonNode Data)> List(string query)
        {
            var data = (await client.GetAsync($"/api/v1/project/users{query}").Ok())!;
            return (data["users"]!.AsArray().Select(u => u!["id"]!.GetValue<string>()).ToList(), data["count"]!.GetValue<long>(), data);
        }

        var (ids, count, all) = await List("");
        Assert.Equal([c.ToString(), b.ToString(), a.ToString()], ids);
        Assert.Equal(3, count);
        var first = all["users"]![2]!;
        Assert.Equal("users-list", first["project_id"]!.GetValue<string>());
        Assert.Equal("a", first["additional_fields"]!["name"]!.GetValue<string>());
        Assert.Equal(1, first["profile_count"]!.GetValue<long>());
        Assert.Equal(2, first["event_count"]!.GetValue<long>());
        Seed.Timestamp(first["created_at"]);
        Seed.Timestamp(first["updated_at"]);
        Assert.Null(all["users"]![0]!["additional_fields"]);

        Assert.Equal([a.ToString(), b.ToString(), c.ToString()], (await List("?order_desc=False")).Ids);
        Assert.Equal([b.ToString(), a.ToString(), c.ToString()], (await List("?order_by=profile_count")).Ids);
        Assert.Equal([a.ToString()], (await List("?order_by=event_count&limit=1")).Ids);
        Assert.Equal(a.ToString(), (await List("?order_by=event_count&order_desc=false")).Ids[^1]);
        var page = await List("?limit=1&offset=1");
        Assert.Equal([b.ToString()], page.Ids);
        Assert.Equal(3, page.Count); // count is before limit/offset
        var beyond = await List("?offset=10");
        Assert.Empty(beyond.Ids);
        Assert.Equal(3, beyond.Count);

        var search = await List($"?search={b.ToString()[..13].ToUpperInvariant()}");
        Assert.Equal([b.ToString()], search.Ids);
        Assert.Equal(1, search.Count);

        await client.GetAsync("/api/v1/project/users?order_by=name").Invalid("query", "order_by");
        await client.GetAsync("/api/v1/project/users?limit=-1").Invalid("query", "limit");
        await client.GetAsync("/api/v1/project/users?limit=ten").Invalid("query", "limit");
        await client.GetAsync("/api/v1/project/users?order_desc=sideways").Invalid("query", "order_desc");

        // users of other projects are not listed
        Assert.DoesNotContain(a.ToString(), (await app.Client().GetAsync("/api/v1/project/users?limit=1000").Ok())!["users"]!.AsArray()
            .Select(u => u!["id"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Usage_has_one_element_per_day_today_first()
    {
        var client = await app.ProjectClientAsync("usage-a");
        var days = (await client.GetAsync("/api/v1/project/usage").Ok())!.AsArray();
        Assert.Equal(7, days.Count);
        Assert.Equal(Enumerable.Range(0, 7).Select(i => Today.AddDays(-i).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)),
            days.Select(d => d!["date"]!.GetValue<string>()));
        Assert.All(days, d =>
        {
            foreach (var key in (string[])["total_insert", "total_success_insert", "total_input_token", "total_output_token"]) Assert.Equal(0, d![key]!.GetValue<long>());
        });

        var user = await client.CreateUserAsync();
        await client.PostJson($"/api/v1/blobs/insert/{user}", Http.ChatBlob(("user", "hello"))).Ok();
        await client.PostJson($"/api/v1/blobs/insert/{user}", Http.ChatBlob(("user", "again"))).Ok();
        await client.PostJson($"/api/v1/blobs/insert/{Guid.NewGuid()}", Http.ChatBlob(("user", "no such user"))).Fails(404);
        await app.ExecAsync("""
            INSERT INTO usage_daily (project_id, day, total_insert, total_success_insert, total_input_token, total_output_token)
            VALUES ('usage-a', $1, 5, 4, 300, 20)
            """, Today.AddDays(-2));

        days = (await client.GetAsync("/api/v1/project/usage?last_days=3").Ok())!.AsArray();
        Assert.Equal(3, days.Count);
        Assert.Equal(3, days[0]!["total_insert"]!.GetValue<long>()); // counted even though not yet written by the recorder
        Assert.Equal(2, days[0]!["total_success_insert"]!.GetValue<long>());
        Assert.Equal(0, days[1]!["total_insert"]!.GetValue<long>());
        Assert.Equal(Today.AddDays(-2).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), days[2]!["date"]!.GetValue<string>());
        Assert.Equal(300, days[2]!["total_input_token"]!.GetValue<long>());
        Assert.Equal(20, days[2]!["total_output_token"]!.GetValue<long>());

        Assert.Empty((await client.GetAsync("/api/v1/project/usage?last_days=0").Ok())!.AsArray());
        await client.GetAsync("/api/v1/project/usage?last_days=-1").Invalid("query", "last_days");
        await client.GetAsync("/api/v1/project/usage?last_days=week").Invalid("query", "last_days");
    }

    [Fact]
    public async Task Root_billing_is_unlimited_and_refills_next_month()
    {
        var data = (await app.Client().GetAsync("/api/v1/project/billing").Ok())!;
        Assert.Null(data["token_left"]);
        Assert.True(data["project_token_cost_month"]!.GetValue<long>() >= 0);
        var refill = Seed.Timestamp(data["next_refill_at"]);
        var now = DateTime.UtcNow;
        Assert.Equal(new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero).AddMonths(1), refill);
    }
}

/// <summary>The server with quotas: <c>USAGE_TOKEN_LIMIT_ACTIVE</c> from the plain environment name, pro from <c>Memobase:</c>.</summary>
public sealed class QuotaApp : MemobaseApp
{
    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        With("usage_token_limit_pro", "50");
        With("billing_quota_cache_seconds", "0");
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.UseSetting("USAGE_TOKEN_LIMIT_ACTIVE", "1000");
        builder.UseSetting("USAGE_TOKEN_LIMIT_ULTRA", "7"); // ignored: Memobase:usage_token_limit_ultra wins
        builder.UseSetting("Memobase:usage_token_limit_ultra", "-1");
    }
}

public sealed class BillingQuotaTests(QuotaApp app) : IClassFixture<QuotaApp>
{
    private async Task SpendAsync(string project, long input, long output)
        => await app.ExecAsync("""
            INSERT INTO usage_daily AS u (project_id, day, total_input_token, total_output_token) VALUES ($1, $2, $3, $4)
            ON CONFLICT (project_id, day) DO UPDATE SET total_input_token = u.total_input_token + EXCLUDED.total_input_token,
                                                        total_output_token = u.total_output_token + EXCLUDED.total_output_token
            """, project, DateOnly.FromDateTime(DateTime.UtcNow), input, output);

    [Fact]
    public async Task Token_left_is_the_status_limit_minus_this_months_tokens_and_inserts_stop_below_zero()
    {
        var client = await app.ProjectClientAsync("quota-active");
        var user = await client.CreateUserAsync();
        var billing = (await client.GetAsync("/api/v1/project/billing").Ok())!;
        Assert.Equal(1000, billing["token_left"]!.GetValue<long>());
        Assert.Equal(0, billing["project_token_cost_month"]!.GetValue<long>());

        await SpendAsync("quota-active", 600, 300);
        await app.ExecAsync("""
            INSERT INTO usage_daily (project_id, day, total_input_token, total_output_token) VALUES ('quota-active', $1, 5000, 0)
            """, DateOnly.FromDateTime(DateTime.UtcNow).AddMonths(-1)); // last month does not count
        billing = (await client.GetAsync("/api/v1/project/billing").Ok())!;
        Assert.Equal(100, billing["token_left"]!.GetValue<long>());
        Assert.Equal(900, billing["project_token_cost_month"]!.GetValue<long>());
        await client.PostJson($"/api/v1/blobs/insert/{user}", Http.ChatBlob(("user", "still fine"))).Ok();

        await SpendAsync("quota-active", 101, 0);
        Assert.Equal(-1, (await client.GetAsync("/api/v1/project/billing").Ok())!["token_left"]!.GetValue<long>());
        var message = await client.PostJson($"/api/v1/blobs/insert/{user}", Http.ChatBlob(("user", "over quota"))).Fails(503);
        Assert.StartsWith("Your project has exceeded its token quota", message);
        Assert.Single((await client.GetAsync($"/api/v1/users/blobs/{user}/chat").Ok())!["ids"]!.AsArray());

        // root and unlimited statuses are never limited
        var root = app.Client();
        await SpendAsync("__root__", 1_000_000, 0);
        var rootUser = await root.CreateUserAsync();
        await root.PostJson($"/api/v1/blobs/insert/{rootUser}", Http.ChatBlob(("user", "root"))).Ok();
        Assert.Null((await root.GetAsync("/api/v1/project/billing").Ok())!["token_left"]);

        var ultra = await app.ProjectClientAsync("quota-ultra", "ultra");
        Assert.Null((await ultra.GetAsync("/api/v1/project/billing").Ok())!["token_left"]);

        var pro = await app.ProjectClientAsync("quota-pro", "pro");
        Assert.Equal(50, (await pro.GetAsync("/api/v1/project/billing").Ok())!["token_left"]!.GetValue<long>());
    }
}

public sealed class MemoryApiDocsTests(MemobaseApp app) : IClassFixture<MemobaseApp>
{
    [Fact]
    public async Task The_openapi_document_lists_every_memory_endpoint_under_upstreams_operation_ids()
    {
        using var response = await app.Client(token: null).GetAsync("/openapi.json");
        var doc = await response.Json();
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        var operations = doc["paths"]!.AsObject()
            .SelectMany(p => p.Value!.AsObject().Select(m => (Path: p.Key, Method: m.Key, Id: m.Value!["operationId"]?.GetValue<string>())))
            .ToList();
        (string Path, string Method, string Id)[] expected =
        [
            ("/api/v1/users/profile/{user_id}", "get", "get_user_profile_api_v1_users_profile__user_id__get"),
            ("/api/v1/users/profile/{user_id}", "post", "add_user_profile_api_v1_users_profile__user_id__post"),
            ("/api/v1/users/profile/{user_id}/{profile_id}", "put", "update_user_profile_api_v1_users_profile__user_id___profile_id__put"),
            ("/api/v1/users/profile/{user_id}/{profile_id}", "delete", "delete_user_profile_api_v1_users_profile__user_id___profile_id__delete"),
            ("/api/v1/users/event/{user_id}", "get", "get_user_events_api_v1_users_event__user_id__get"),
            ("/api/v1/users/event/{user_id}/{event_id}", "put", "update_user_event_api_v1_users_event__user_id___event_id__put"),
            ("/api/v1/users/event/{user_id}/{event_id}", "delete", "delete_user_event_api_v1_users_event__user_id___event_id__delete"),
            ("/api/v1/users/event/search/{user_id}", "get", "search_user_events_api_v1_users_event_search__user_id__get"),
            ("/api/v1/users/event_gist/search/{user_id}", "get", "search_user_event_gists_api_v1_users_event_gist_search__user_id__get"),
            ("/api/v1/users/event_tags/search/{user_id}", "get", "search_user_events_by_tags_api_v1_users_event_tags_search__user_id__get"),
            ("/api/v1/users/context/{user_id}", "get", "get_user_context_api_v1_users_context__user_id__get"),
            ("/api/v1/project/profile_config", "get", "get_project_profile_config_string_api_v1_project_profile_config_get"),
            ("/api/v1/project/profile_config", "post", "update_project_profile_config_api_v1_project_profile_config_post"),
            ("/api/v1/project/billing", "get", "get_project_billing_api_v1_project_billing_get"),
            ("/api/v1/project/users", "get", "get_project_users_api_v1_project_users_get"),
            ("/api/v1/project/usage", "get", "get_project_usage_api_v1_project_usage_get"),
        ];
        foreach (var e in expected) Assert.Contains(e, operations);
    }
}
