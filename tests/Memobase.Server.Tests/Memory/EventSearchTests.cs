using System.Text.Json.Nodes;
using Memobase.Server.Tests.Fakes;
using Memobase.Server.Tests.Infrastructure;

namespace Memobase.Server.Tests.Memory;

/// <summary>Semantic search over events and gists (real[] vectors ranked in SQL), against the fake embeddings endpoint.</summary>
public sealed class EventSearchTests(MemoryApp app) : IClassFixture<MemoryApp>
{
    private readonly HttpClient _client = app.Client();

    /// <summary>Answers every embedding request for <paramref name="query"/> with <paramref name="vector"/>.</summary>
    private void QueryVector(string query, float[] vector)
        => app.Fake.EmbeddingHandler = r => r.Inputs.Count == 1 && r.Inputs[0] == query ? FakeReply.Vectors([vector]) : FakeReply.Default;

    private async Task<JsonNode> Search(string kind, Guid user, string query)
        => (await _client.GetAsync($"/api/v1/users/{kind}/search/{user}?{query}").Ok())!;

    [Fact]
    public async Task Events_and_gists_written_by_the_pipeline_are_found_with_similarity_one_for_constant_vectors()
    {
        app.Fake.ConstantEmbeddings = true;
        try
        {
            var user = await _client.CreateUserAsync();
            await _client.PostJson($"/api/v1/blobs/insert/{user}", Http.ChatBlob(("user", "I'm Gus and I love pizza"), ("assistant", "Cool"))).Ok();
            await _client.PostAsync($"/api/v1/users/buffer/{user}/chat?wait_process=true", null).Ok();

            var data = await Search("event", user, "query=what%20does%20he%20eat&use_gists=false");
            Assert.Empty(data["gists"]!.AsArray());
            var ev = Assert.Single(data["events"]!.AsArray())!;
            Assert.Equal(1.0, ev["similarity"]!.GetValue<double>(), 5);
            Assert.Contains("Gus", ev["event_data"]!["event_tip"]!.GetValue<string>());

            data = await Search("event_gist", user, "query=pizza&topk=10&similarity_threshold=0.200000&time_range_in_days=7");
            Assert.Empty(data["events"]!.AsArray()); // present for the TypeScript and Go SDKs
            var gists = data["gists"]!.AsArray();
            Assert.Equal(2, gists.Count); // one per entry-summary line
            Assert.All(gists, g =>
            {
                Assert.Equal(1.0, g!["similarity"]!.GetValue<double>(), 5);
                Assert.StartsWith("- ", g["gist_data"]!["content"]!.GetValue<string>());
                Seed.Timestamp(g["created_at"]);
            });
            Assert.Contains(gists, g => g!["gist_data"]!["content"]!.GetValue<string>().Contains("pizza", StringComparison.Ordinal));
        }
        finally
        {
            app.Fake.ConstantEmbeddings = false;
        }
    }

    [Fact]
    public async Task Events_are_ranked_by_cosine_similarity_above_the_threshold_within_the_time_range()
    {
        var user = await _client.CreateUserAsync();
        var close = Seed.Axis(0, 1, 1, 0.1f);       // cos ≈ 0.995 to axis 0
        var middle = Seed.Axis(0, 1, 1, 1);         // cos ≈ 0.707
        var far = Seed.Axis(0, 0.1f, 1, 1);         // cos ≈ 0.0995
        await app.EventAsync(user, Seed.EventData("close", null), 1, close);
        await app.EventAsync(user, Seed.EventData("middle", null), 2, middle);
        await app.EventAsync(user, Seed.EventData("far", null), 3, far);
        await app.EventAsync(user, Seed.EventData("old but close", null), 40, close);
        await app.EventAsync(user, Seed.EventData("no vector", null), 1);
        await app.EventAsync(user, Seed.EventData("other dimension", null), 1, [1, 0, 0]);
        QueryVector("q", Seed.Axis(0, 3)); // not normalised: cosine does not care
        try
        {
            var events = (await Search("event", user, "query=q"))["events"]!.AsArray();
            // equal similarity: the newer event first
            Assert.Equal(["close", "old but close", "middle"], events.Select(e => e!["event_data"]!["event_tip"]!.GetValue<string>()));
            Assert.Equal(1 / Math.Sqrt(1.01), events[0]!["similarity"]!.GetValue<double>(), 5);
            Assert.Equal(Math.Sqrt(0.5), events[2]!["similarity"]!.GetValue<double>(), 5);

            var tips = async (string q) => (await Search("event", user, q))["events"]!.AsArray().Select(e => e!["event_data"]!["event_tip"]!.GetValue<string>()).ToList();
            Assert.Equal(["close", "old but close", "middle", "far"], await tips("query=q&similarity_threshold=0.05"));
            Assert.Equal(["close", "old but close"], await tips("query=q&similarity_threshold=0.9"));
            Assert.Equal(["close", "middle"], await tips("query=q&time_range_in_days=30"));
            Assert.Equal(["close"], await tips("query=q&topk=1"));
            Assert.Empty(await tips("query=q&time_range_in_days=0"));
        }
        finally
        {
            app.Fake.EmbeddingHandler = null;
        }
    }

    [Fact]
    public async Task Gists_are_ranked_the_same_way()
    {
        var user = await _client.CreateUserAsync();
        var ev = await app.TaggedEventAsync(user, "tip", 1);
        await app.GistAsync(user, ev, "- second", 1, Seed.Axis(1, 1, 2, 1));
        await app.GistAsync(user, ev, "- first", 1, Seed.Axis(1, 1));
        await app.GistAsync(user, ev, "- unrelated", 1, Seed.Axis(3, 1));
        await app.GistAsync(user, ev, "- no vector", 1);
        QueryVector("gq", Seed.Axis(1, 1));
        try
        {
            var gists = (await Search("event_gist", user, "query=gq"))["gists"]!.AsArray();
            Assert.Equal(["- first", "- second"], gists.Select(g => g!["gist_data"]!["content"]!.GetValue<string>()));
            Assert.Equal(1.0, gists[0]!["similarity"]!.GetValue<double>(), 5);
        }
        finally
        {
            app.Fake.EmbeddingHandler = null;
        }
    }

    [Fact]
    public async Task The_query_is_required_and_numbers_are_validated()
    {
        var user = await _client.CreateUserAsync();
        await _client.GetAsync($"/api/v1/users/event/search/{user}").Invalid("query", "query");
        await _client.GetAsync($"/api/v1/users/event_gist/search/{user}?topk=5").Invalid("query", "query");
        await _client.GetAsync($"/api/v1/users/event/search/{user}?query=x&topk=many").Invalid("query", "topk");
        await _client.GetAsync($"/api/v1/users/event/search/{user}?query=x&similarity_threshold=high").Invalid("query", "similarity_threshold");
        await _client.GetAsync($"/api/v1/users/event_gist/search/{user}?query=x&topk=-1").Invalid("query", "topk");
        await _client.GetAsync("/api/v1/users/event/search/nope?query=x").Invalid("path", "user_id");
    }

    [Fact]
    public async Task An_embedding_api_failure_is_errno_503()
    {
        var user = await _client.CreateUserAsync();
        app.Fake.EmbeddingHandler = _ => FakeReply.Status(500);
        try
        {
            var message = await _client.GetAsync($"/api/v1/users/event/search/{user}?query=x").Fails(503);
            Assert.StartsWith("Embedding service unavailable", message);
            await _client.GetAsync($"/api/v1/users/event_gist/search/{user}?query=x").Fails(503);
        }
        finally
        {
            app.Fake.EmbeddingHandler = null;
        }
    }

    [Fact]
    public async Task Another_project_finds_nothing()
    {
        var other = await app.ProjectClientAsync("search-iso");
        var user = await _client.CreateUserAsync();
        await app.EventAsync(user, Seed.EventData("mine", null), 0, Seed.Axis(0));
        QueryVector("iso", Seed.Axis(0));
        try
        {
            Assert.Single((await Search("event", user, "query=iso"))["events"]!.AsArray());
            Assert.Empty((await other.GetAsync($"/api/v1/users/event/search/{user}?query=iso").Ok())!["events"]!.AsArray());
        }
        finally
        {
            app.Fake.EmbeddingHandler = null;
        }
    }
}

/// <summary>With embeddings disabled (the default test configuration) semantic search is errno 501, as upstream.</summary>
public sealed class EventSearchDisabledTests(MemobaseApp app) : IClassFixture<MemobaseApp>
{
    [Fact]
    public async Task Search_is_errno_501_when_event_embedding_is_off()
    {
        var client = app.Client();
        var user = await client.CreateUserAsync();
        Assert.Equal("Event embedding is not enabled", await client.GetAsync($"/api/v1/users/event/search/{user}?query=x").Fails(501));
        Assert.Equal("Event embedding is not enabled", await client.GetAsync($"/api/v1/users/event_gist/search/{user}?query=x").Fails(501));
    }
}
