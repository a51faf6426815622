using Memobase.Server.Tests.Infrastructure;

namespace Memobase.Server.Tests.Api;

public sealed class BlobsApiTests(MemobaseApp app) : IClassFixture<MemobaseApp>
{
    private readonly HttpClient _client = app.Client();

    [Fact]
    public async Task Doc_blob_round_trips_with_fields_and_pages_in_insert_order()
    {
        var user = await _client.CreateUserAsync();
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var inserted = await _client.PostJson($"/api/v1/blobs/insert/{user}",
                $$$"""{"blob_type":"doc","blob_data":{"content":"doc {{{i}}}","ignored_extra":true},"fields":{"source":"test","n":{{{i}}}}}""").Ok();
            ids.Add(inserted!["id"]!.GetValue<string>());
            Assert.Empty(inserted["chat_results"]!.AsArray());
        }

        var blob = await _client.GetAsync($"/api/v1/blobs/{user}/{ids[1]}").Ok();
        Assert.Equal("doc", blob!["blob_type"]!.GetValue<string>());
        Assert.Equal("doc 1", blob["blob_data"]!["content"]!.GetValue<string>());
        Assert.Null(blob["blob_data"]!["ignored_extra"]);
        Assert.Equal("test", blob["fields"]!["source"]!.GetValue<string>());
        Assert.NotNull(blob["created_at"]);

        var page0 = await _client.GetAsync($"/api/v1/users/blobs/{user}/doc?page=0&page_size=2").Ok();
        Assert.Equal(ids.Take(2), page0!["ids"]!.AsArray().Select(x => x!.GetValue<string>()));
        var page1 = await _client.GetAsync($"/api/v1/users/blobs/{user}/doc?page=1&page_size=2").Ok();
        Assert.Equal([ids[2]], page1!["ids"]!.AsArray().Select(x => x!.GetValue<string>()));
        var one = await _client.GetAsync($"/api/v1/users/blobs/{user}/doc?page_size=1").Ok();
        Assert.Single(one!["ids"]!.AsArray());
        var chats = await _client.GetAsync($"/api/v1/users/blobs/{user}/chat").Ok();
        Assert.Empty(chats!["ids"]!.AsArray());

        await _client.DeleteAsync($"/api/v1/blobs/{user}/{ids[1]}").Ok();
        var message = await _client.GetAsync($"/api/v1/blobs/{user}/{ids[1]}").Fails(404);
        Assert.Equal($"Blob with id {ids[1]} of user {user} not found", message);
        await _client.DeleteAsync($"/api/v1/blobs/{user}/{ids[1]}").Ok(); // deleting again still succeeds
        Assert.Equal(0L, await app.ScalarAsync<long>("SELECT count(*) FROM buffer_entries WHERE blob_id = $1", Guid.Parse(ids[1])));
    }

    [Fact]
    public async Task Insert_records_an_idle_buffer_entry_with_the_exact_o200k_token_count()
    {
        var user = await _client.CreateUserAsync();
        // Rendering (upstream §5.2): "[<message created_at or blob day>] <alias(role) or role>: <content>" per line.
        var chat = """
            {"blob_type":"chat","created_at":"2025-01-14T10:00:00+00:00","blob_data":{"messages":[
              {"role":"user","content":"Hi, I'm Gus and I love tennis"},
              {"role":"assistant","alias":"Coach","content":"Nice! 你喜欢打网球吗？ 🎾"}]}}
            """;
        var chatId = Guid.Parse((await _client.PostJson($"/api/v1/blobs/insert/{user}", chat).Ok())!["id"]!.GetValue<string>());
        // o200k_base count of "[2025/01/14] user: Hi, I'm Gus and I love tennis\n[2025/01/14] Coach(assistant): Nice! 你喜欢打网球吗？ 🎾"
        Assert.Equal(43, await app.ScalarAsync<int>("SELECT token_size FROM buffer_entries WHERE blob_id = $1", chatId));
        Assert.Equal("idle", await app.ScalarAsync<string>("SELECT status FROM buffer_entries WHERE blob_id = $1", chatId));

        var summary = """{"blob_type":"summary","created_at":"2025-01-14T08:00:00Z","blob_data":{"summary":"Gus moved to Tokyo in 2024."}}""";
        var summaryId = Guid.Parse((await _client.PostJson($"/api/v1/blobs/insert/{user}", summary).Ok())!["id"]!.GetValue<string>());
        // "- Gus moved to Tokyo in 2024.[2025/01/14]"
        Assert.Equal(17, await app.ScalarAsync<int>("SELECT token_size FROM buffer_entries WHERE blob_id = $1", summaryId));

        var doc = """{"blob_type":"doc","blob_data":{"content":"Meeting notes: budget approved, launch on 2025-03-01."}}""";
        var docId = Guid.Parse((await _client.PostJson($"/api/v1/blobs/insert/{user}", doc).Ok())!["id"]!.GetValue<string>());
        Assert.Equal(16, await app.ScalarAsync<int>("SELECT token_size FROM buffer_entries WHERE blob_id = $1", docId));

        var idle = await _client.GetAsync($"/api/v1/users/buffer/capacity/{user}/chat?status=idle").Ok();
        Assert.Single(idle!["ids"]!.AsArray());
    }

    [Fact]
    public async Task Chat_with_alias_and_message_created_at_is_accepted_and_stored_normalised()
    {
        var user = await _client.CreateUserAsync();
        var inserted = await _client.PostJson($"/api/v1/blobs/insert/{user}", """
            {"blob_type":"chat","blob_data":{"messages":[{"role":"user","content":"hello","alias":"Gus","created_at":"Year 32637"}]}}
            """).Ok();
        var blob = await _client.GetAsync($"/api/v1/blobs/{user}/{inserted!["id"]}").Ok();
        var message = blob!["blob_data"]!["messages"]![0]!;
        Assert.Equal("Gus", message["alias"]!.GetValue<string>());
        Assert.Equal("Year 32637", message["created_at"]!.GetValue<string>());
        Assert.Equal("user", message["role"]!.GetValue<string>());
    }

    [Fact]
    public async Task TypeScript_sdk_blob_data_carrying_the_whole_blob_is_accepted()
    {
        var user = await _client.CreateUserAsync();
        var inserted = await _client.PostJson($"/api/v1/blobs/insert/{user}", """
            {"blob_type":"chat","blob_data":{"type":"chat","messages":[{"role":"user","content":"hi"}],"fields":{"from":"ts"},"created_at":"2025-02-01T00:00:00Z"}}
            """).Ok();
        var blob = await _client.GetAsync($"/api/v1/blobs/{user}/{inserted!["id"]}").Ok();
        Assert.Equal("ts", blob!["fields"]!["from"]!.GetValue<string>());
        Assert.StartsWith("2025-02-01", blob["created_at"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("""{"blob_type":"chat","blob_data":{}}""", "messages: Field required")]
    [InlineData("""{"blob_type":"chat","blob_data":{"messages":[{"role":"system","content":"x"}]}}""", "role")]
    [InlineData("""{"blob_type":"chat","blob_data":{"messages":[{"role":"user"}]}}""", "content: Field required")]
    [InlineData("""{"blob_type":"summary","blob_data":{"text":"x"}}""", "summary: Field required")]
    [InlineData("""{"blob_type":"doc","blob_data":{"content":42}}""", "content: Input should be a valid string")]
    public async Task Unparseable_blob_is_errno_400_and_nothing_is_stored(string body, string expected)
    {
        var user = await _client.CreateUserAsync();
        var message = await _client.PostJson($"/api/v1/blobs/insert/{user}", body).Fails(400);
        Assert.StartsWith("Unable to parse blob: ", message);
        Assert.Contains(expected, message);
        Assert.Equal(0L, await app.ScalarAsync<long>("SELECT count(*) FROM blobs WHERE user_id = $1", user));
    }

    [Theory]
    [InlineData("image")]
    [InlineData("code")]
    [InlineData("transcript")]
    public async Task Unsupported_blob_types_are_errno_500_as_upstream(string type)
    {
        var user = await _client.CreateUserAsync();
        var message = await _client.PostJson($"/api/v1/blobs/insert/{user}", $$$"""{"blob_type":"{{{type}}}","blob_data":{"x":1}}""").Fails(500);
        Assert.Contains(type, message);
    }

    [Fact]
    public async Task Insert_for_an_unknown_user_is_errno_404()
    {
        var user = Guid.NewGuid();
        var message = await _client.PostJson($"/api/v1/blobs/insert/{user}", Http.ChatBlob(("user", "hi"))).Fails(404);
        Assert.Equal($"User {user} not found", message);
    }

    [Fact]
    public async Task Listing_blobs_of_an_unknown_user_is_an_empty_list()
    {
        var data = await _client.GetAsync($"/api/v1/users/blobs/{Guid.NewGuid()}/chat").Ok();
        Assert.Empty(data!["ids"]!.AsArray());
    }
}
