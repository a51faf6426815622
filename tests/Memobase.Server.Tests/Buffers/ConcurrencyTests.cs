using Memobase.Server.Tests.Fakes;
using Memobase.Server.Tests.Infrastructure;
using Memobase.Server.Llm;

namespace Memobase.Server.Tests.Buffers;

/// <summary>Racing flushes and inserts: every entry is processed by exactly one job, and one flush writes one event.</summary>
public sealed class ConcurrencyTests(LlmApp app) : IClassFixture<LlmApp>
{
    private readonly HttpClient _client = app.Client();

    [Fact]
    public async Task Concurrent_flushes_of_one_user_give_exactly_one_event()
    {
        // Slow the summary a little so the flushes really overlap with a running job.
        app.Fake.ChatHandler = r => r.Stage == PromptStages.EntrySummary && r.User.Contains("race-one", StringComparison.Ordinal)
            ? FakeReply.Delay(TimeSpan.FromMilliseconds(300)) : FakeReply.Default;
        var user = await _client.CreateUserAsync();
        for (var i = 0; i < 5; i++) await _client.PostJson($"/api/v1/blobs/insert/{user}", Http.ChatBlob(("user", $"race-one message {i}"))).Ok();

        var flushes = Enumerable.Range(0, 12).Select(i => Task.Run(async () =>
        {
            var wait = i % 3 == 0 ? "false" : "true";
            using var response = await _client.PostAsync($"/api/v1/users/buffer/{user}/chat?wait_process={wait}", null);
            return (wait, await response.Json());
        })).ToList();
        var results = await Task.WhenAll(flushes);

        Assert.All(results, r => Assert.Equal(0, r.Item2["errno"]!.GetValue<int>()));
        var eventIds = results.Where(r => r.wait == "true" && r.Item2["data"] is { } d && d.AsArray().Count > 0)
            .Select(r => r.Item2["data"]![0]!["event_id"]!.GetValue<string>()).Distinct().ToList();
        Assert.Single(eventIds); // every waiting caller saw the same single event
        await LlmApp.Eventually(async () => await app.ScalarAsync<long>(
            "SELECT count(*) FROM buffer_entries WHERE user_id = $1 AND status = 'done'", user) == 5);
        Assert.Equal(1L, await app.ScalarAsync<long>("SELECT count(*) FROM user_events WHERE user_id = $1", user));
        Assert.Equal(1, app.Fake.RequestsFor(PromptStages.EntrySummary).Count(r => r.User.Contains("race-one", StringComparison.Ordinal)));
        Assert.Equal(1L, await app.ScalarAsync<long>("SELECT count(*) FROM flush_jobs WHERE user_id = $1 AND status = 'done'", user));
    }

    [Fact]
    public async Task Flushes_racing_inserts_process_every_entry_exactly_once()
    {
        var user = await _client.CreateUserAsync();
        const int inserts = 60;
        var inserting = Task.Run(async () =>
        {
            for (var i = 0; i < inserts; i++)
            {
                await _client.PostJson($"/api/v1/blobs/insert/{user}", Http.ChatBlob(("user", $"racer line {i:D3}"))).Ok();
            }
        });
        var flushing = Task.Run(async () =>
        {
            while (!inserting.IsCompleted)
            {
                await _client.PostAsync($"/api/v1/users/buffer/{user}/chat?wait_process={(Random.Shared.Next(2) == 0 ? "true" : "false")}", null).Ok();
            }
        });
        await Task.WhenAll(inserting, flushing);
        await _client.PostAsync($"/api/v1/users/buffer/{user}/chat?wait_process=true", null).Ok();
        await LlmApp.Eventually(async () => await app.ScalarAsync<long>(
            "SELECT count(*) FROM buffer_entries WHERE user_id = $1 AND status = 'done'", user) == inserts, 30);

        // The default summary echoes one bullet per chat line, and every bullet becomes a gist: each line exactly once.
        var gists = await app.ScalarAsync<string[]>("SELECT array_agg(gist_data ->> 'content') FROM user_event_gists WHERE user_id = $1", user);
        var lines = gists.Where(g => g.Contains("racer line", StringComparison.Ordinal)).ToList();
        Assert.Equal(inserts, lines.Count);
        Assert.Equal(inserts, lines.Distinct().Count());
        Assert.Equal(0L, await app.ScalarAsync<long>("SELECT count(*) FROM buffer_entries WHERE user_id = $1 AND status <> 'done'", user));
        var jobs = await app.ScalarAsync<long>("SELECT count(*) FROM flush_jobs WHERE user_id = $1 AND status = 'done'", user);
        Assert.Equal(jobs, await app.ScalarAsync<long>("SELECT count(*) FROM user_events WHERE user_id = $1", user));
    }
}
