using System.Net;
using Memobase.Server.Tests.Infrastructure;

namespace Memobase.Server.Tests.Api;

/// <summary>Every request-validation failure is HTTP 422 with FastAPI's {"detail":[{loc,msg,type}]} body.</summary>
public sealed class ValidationTests(MemobaseApp app) : IClassFixture<MemobaseApp>
{
    private readonly HttpClient _client = app.Client();

    [Theory]
    [InlineData("not-a-uuid")]
    [InlineData("00000000-0000-0000-0000-000000000000")] // nil
    [InlineData("6ba7b810-9dad-11d1-80b4-00c04fd430c8")] // v1
    [InlineData("01890a5d-ac96-774b-bcce-b302099a8057")] // v7
    public async Task Path_user_id_must_be_uuid_v4_or_v5(string id)
    {
        var error = await _client.GetAsync($"/api/v1/users/{id}").Invalid("path", "user_id");
        Assert.Equal(id, error["input"]!.GetValue<string>());
        await _client.PostJson($"/api/v1/blobs/insert/{id}", Http.ChatBlob(("user", "x"))).Invalid("path", "user_id");
        await _client.GetAsync($"/api/v1/users/buffer/capacity/{id}/chat").Invalid("path", "user_id");
        await _client.DeleteAsync($"/api/v1/users/{id}").Invalid("path", "user_id");
    }

    [Fact]
    public async Task Blob_id_must_be_a_uuid()
    {
        await _client.GetAsync($"/api/v1/blobs/{Guid.NewGuid()}/xyz").Invalid("path", "blob_id");
    }

    [Fact]
    public async Task Body_id_must_be_uuid_v4_or_v5()
    {
        await _client.PostJson("/api/v1/users", new { id = "6ba7b810-9dad-11d1-80b4-00c04fd430c8" }).Invalid("body", "id");
        await _client.PostJson("/api/v1/users", new { id = "nope" }).Invalid("body", "id");
    }

    [Theory]
    [InlineData("/api/v1/users/blobs/{0}/video", "blob_type")]
    [InlineData("/api/v1/users/buffer/capacity/{0}/Chat", "buffer_type")]
    [InlineData("/api/v1/users/buffer/capacity/{0}/1", "buffer_type")]
    public async Task Unknown_blob_or_buffer_type_in_the_path_is_422(string template, string name)
    {
        var error = await _client.GetAsync(string.Format(System.Globalization.CultureInfo.InvariantCulture, template, Guid.NewGuid())).Invalid("path", name);
        Assert.Equal("enum", error["type"]!.GetValue<string>());
    }

    [Fact]
    public async Task Unknown_buffer_type_on_flush_is_422()
    {
        await _client.PostAsync($"/api/v1/users/buffer/{Guid.NewGuid()}/audio", null).Invalid("path", "buffer_type");
    }

    [Fact]
    public async Task Unknown_status_query_is_422()
    {
        await _client.GetAsync($"/api/v1/users/buffer/capacity/{Guid.NewGuid()}/chat?status=pending").Invalid("query", "status");
    }

    [Theory]
    [InlineData("page=abc", "page")]
    [InlineData("page_size=1.5", "page_size")]
    [InlineData("page=-1", "page")]
    [InlineData("page_size=0", "page_size")]
    public async Task Wrongly_typed_query_values_are_422(string query, string name)
    {
        await _client.GetAsync($"/api/v1/users/blobs/{Guid.NewGuid()}/chat?{query}").Invalid("query", name);
    }

    [Fact]
    public async Task Non_boolean_wait_process_is_422()
    {
        var error = await _client.PostAsync($"/api/v1/users/buffer/{Guid.NewGuid()}/chat?wait_process=maybe", null).Invalid("query", "wait_process");
        Assert.Equal("bool_parsing", error["type"]!.GetValue<string>());
    }

    [Fact]
    public async Task Insert_body_errors_name_the_field()
    {
        var user = await _client.CreateUserAsync();
        await _client.PostJson($"/api/v1/blobs/insert/{user}", """{"blob_data":{"content":"x"}}""").Invalid("body", "blob_type");
        await _client.PostJson($"/api/v1/blobs/insert/{user}", """{"blob_type":"doc"}""").Invalid("body", "blob_data");
        await _client.PostJson($"/api/v1/blobs/insert/{user}", """{"blob_type":"pdf","blob_data":{}}""").Invalid("body", "blob_type");
        await _client.PostJson($"/api/v1/blobs/insert/{user}", """{"blob_type":"doc","blob_data":"text"}""").Invalid("body", "blob_data");
        await _client.PostJson($"/api/v1/blobs/insert/{user}", """{"blob_type":"doc","blob_data":{"content":"x"},"created_at":"yesterday"}""").Invalid("body", "created_at");
        await _client.PostJson($"/api/v1/blobs/insert/{user}", """{"blob_type":"doc","blob_data":{"content":"x"},"fields":[1]}""").Invalid("body", "fields");
        await _client.PostJson($"/api/v1/blobs/insert/{user}", "[1,2]").Invalid("body");
        Assert.Equal(0L, await app.ScalarAsync<long>("SELECT count(*) FROM blobs WHERE user_id = $1", user));
    }

    [Fact]
    public async Task Malformed_json_is_422_not_500()
    {
        using var response = await _client.PostJson("/api/v1/users", "{\"data\": ");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var body = await response.Json();
        Assert.Equal("body", body["detail"]![0]!["loc"]![0]!.GetValue<string>());
        Assert.DoesNotContain("   at ", body.ToJsonString());
    }

    [Fact]
    public async Task Create_user_data_must_be_an_object()
    {
        await _client.PostJson("/api/v1/users", """{"data":[1,2]}""").Invalid("body", "data");
        await _client.PutJson($"/api/v1/users/{Guid.NewGuid()}", "[1]").Invalid("body");
    }

    [Fact]
    public async Task Python_sdk_query_strings_with_empty_segments_and_capitalised_booleans_are_accepted()
    {
        var user = await _client.CreateUserAsync();
        await _client.PostJson($"/api/v1/blobs/insert/{user}?wait_process=False&&", Http.ChatBlob(("user", "hi"))).Ok();
        var data = await _client.GetAsync($"/api/v1/users/buffer/capacity/{user}/chat?&status=idle&&").Ok();
        Assert.Single(data!["ids"]!.AsArray());
    }
}
