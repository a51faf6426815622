using System.Text.Json.Nodes;
using Memobase.Server.Tests.Infrastructure;

namespace Memobase.Server.Tests.Api;

public sealed class UsersApiTests(MemobaseApp app) : IClassFixture<MemobaseApp>
{
    private readonly HttpClient _client = app.Client();

    [Fact]
    public async Task User_crud_round_trips_with_upstream_shapes()
    {
        var id = await _client.CreateUserAsync(new { test = 1 });

        var user = await _client.GetAsync($"/api/v1/users/{id}").Ok();
        Assert.Equal(1, user!["data"]!["test"]!.GetValue<int>());
        Assert.Null(user["id"]); // upstream quirk: id is always null
        Assert.True(DateTimeOffset.TryParse(user["created_at"]!.GetValue<string>(), out _));
        Assert.Contains("T", user["updated_at"]!.GetValue<string>());

        var updated = await _client.PutJson($"/api/v1/users/{id}", "{\"data\":{\"test\":2}}").Ok();
        Assert.Equal(id.ToString(), updated!["id"]!.GetValue<string>());
        user = await _client.GetAsync($"/api/v1/users/{id}").Ok();
        Assert.Equal(2, user!["data"]!["data"]!["test"]!.GetValue<int>()); // PUT replaces additional_fields wholesale

        await _client.DeleteAsync($"/api/v1/users/{id}").Ok();
        var message = await _client.GetAsync($"/api/v1/users/{id}").Fails(404);
        Assert.Equal($"User {id} not found", message);
    }

    [Fact]
    public async Task Client_supplied_uuid5_is_used_and_a_duplicate_is_a_clean_409()
    {
        var id = "a9f1b7a0-3c7e-5e0d-9b1c-6f5e2a4b8c9d"; // version 5
        var created = await _client.PostJson("/api/v1/users", new { id, data = new { a = 1 } }).Ok();
        Assert.Equal(id, created!["id"]!.GetValue<string>());

        var message = await _client.PostJson("/api/v1/users", new { id }).Fails(409);
        Assert.Equal($"User {id} already exists", message);
        Assert.DoesNotContain("Exception", message);
    }

    [Fact]
    public async Task Empty_body_creates_a_user_with_null_fields()
    {
        var created = await _client.PostJson("/api/v1/users", "{}").Ok();
        var id = created!["id"]!.GetValue<string>();
        Assert.Equal(4, Guid.Parse(id).Version);
        var user = await _client.GetAsync($"/api/v1/users/{id}").Ok();
        Assert.Null(user!["data"]);
    }

    [Fact]
    public async Task Unknown_user_is_errno_404_on_get_put_and_delete()
    {
        var id = Guid.NewGuid();
        await _client.GetAsync($"/api/v1/users/{id}").Fails(404);
        await _client.PutJson($"/api/v1/users/{id}", "{\"a\":1}").Fails(404);
        await _client.DeleteAsync($"/api/v1/users/{id}").Fails(404);
    }

    [Fact]
    public async Task Go_sdk_style_put_with_a_raw_map_replaces_fields()
    {
        var id = await _client.CreateUserAsync(new { keep = false });
        await _client.PutJson($"/api/v1/users/{id}", "{\"test\":123}").Ok();
        var user = await _client.GetAsync($"/api/v1/users/{id}").Ok();
        Assert.Equal(123, user!["data"]!["test"]!.GetValue<int>());
        Assert.Null(user["data"]!["keep"]);
    }

    [Fact]
    public async Task Deleting_a_user_removes_its_blobs_and_buffer_entries()
    {
        var id = await _client.CreateUserAsync();
        var other = await _client.CreateUserAsync();
        for (var i = 0; i < 3; i++)
        {
            await _client.PostJson($"/api/v1/blobs/insert/{id}", Http.ChatBlob(("user", $"message {i}"))).Ok();
            await _client.PostJson($"/api/v1/blobs/insert/{id}", "{\"blob_type\":\"doc\",\"blob_data\":{\"content\":\"a doc\"}}").Ok();
        }
        await _client.PostJson($"/api/v1/blobs/insert/{other}", Http.ChatBlob(("user", "kept"))).Ok();
        Assert.Equal(6L, await app.ScalarAsync<long>("SELECT count(*) FROM blobs WHERE user_id = $1", id));
        Assert.Equal(6L, await app.ScalarAsync<long>("SELECT count(*) FROM buffer_entries WHERE user_id = $1", id));

        await _client.DeleteAsync($"/api/v1/users/{id}").Ok();

        Assert.Equal(0L, await app.ScalarAsync<long>("SELECT count(*) FROM blobs WHERE user_id = $1", id));
        Assert.Equal(0L, await app.ScalarAsync<long>("SELECT count(*) FROM buffer_entries WHERE user_id = $1", id));
        Assert.Equal(0L, await app.ScalarAsync<long>("SELECT count(*) FROM users WHERE id = $1", id));
        Assert.Equal(1L, await app.ScalarAsync<long>("SELECT count(*) FROM blobs WHERE user_id = $1", other));
        Assert.Equal(1L, await app.ScalarAsync<long>("SELECT count(*) FROM buffer_entries WHERE user_id = $1", other));
    }

    [Fact]
    public async Task Responses_carry_a_request_id_and_process_time()
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/healthcheck");
        request.Headers.Add("X-Request-ID", "trace-abc-123");
        using var response = await _client.SendAsync(request);
        Assert.Equal("trace-abc-123", response.Headers.GetValues("X-Request-ID").Single());
        Assert.True(double.TryParse(response.Headers.GetValues("X-Process-Time").Single(), System.Globalization.CultureInfo.InvariantCulture, out _));
        _ = JsonNode.Parse(await response.Content.ReadAsStringAsync());
    }
}
