using System.Collections;
using System.Text.Json.Nodes;
using Memobase.Server.Events;
using Memobase.Server.Tests.Fakes;
using Memobase.Server.Tests.Infrastructure;
using Npgsql;
using NpgsqlTypes;

namespace Memobase.Server.Tests.Memory;

/// <summary>
/// A server with 256-dimension embeddings whose searches rescore only 50 rows (so windows of a few hundred rows take
/// the sign-bit first stage), run one at a time, and have a 2 s budget.
/// </summary>
public sealed class BoundedSearchApp : MemoryApp
{
    public const int SearchDimension = 256;
    public const int Rescore = 50;
    public const int TimeoutMs = 2000;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        With("embedding_dim", SearchDimension.ToString(System.Globalization.CultureInfo.InvariantCulture));
        With("search_rescore_candidates", Rescore.ToString(System.Globalization.CultureInfo.InvariantCulture));
        With("search_timeout_ms", TimeoutMs.ToString(System.Globalization.CultureInfo.InvariantCulture));
        With("search_max_concurrency", "1");
    }
}

/// <summary>
/// Vector search on random data against the exact cosine ranking, the sign bits' three writers (server, trigger,
/// migration function), and the search budget: errno 504, the context fallback, and a search pool of its own.
/// </summary>
public sealed class EventSearchBoundsTests(BoundedSearchApp app) : IClassFixture<BoundedSearchApp>
{
    private const int D = BoundedSearchApp.SearchDimension;
    private readonly HttpClient _client = app.Client();

    private static float[] RandomVector(Random rng)
    {
        var v = new float[D];
        for (var i = 0; i < D; i++) v[i] = (float)(rng.NextDouble() * 2 - 1);
        return v;
    }

    private static float[] Axis(int axis)
    {
        var v = new float[D];
        v[axis] = 1;
        return v;
    }

    private static float[] Plus(float[] a, float weight, float[] b) => a.Zip(b, (x, y) => x + weight * y).ToArray();

    private void QueryVector(string query, float[] vector)
        => app.Fake.EmbeddingHandler = r => r.Inputs.Count == 1 && r.Inputs[0] == query ? FakeReply.Vectors([vector]) : FakeReply.Default;

    private async Task<JsonArray> Search(string kind, Guid user, string query)
        => (await _client.GetAsync($"/api/v1/users/{kind}/search/{user}?{query}").Ok())![kind == "event" ? "events" : "gists"]!.AsArray();

    /// <summary>Inserts gists with the given vectors and ages (days) with one COPY; their ids in order.</summary>
    private async Task<List<Guid>> GistsAsync(Guid user, List<(float[] Vector, double AgeDays)> rows)
    {
        var ev = await app.TaggedEventAsync(user, "bulk", 0);
        var ids = rows.Select(_ => Guid.NewGuid()).ToList();
        await using var conn = new NpgsqlConnection(app.ConnectionString);
        await conn.OpenAsync();
        await using (var copy = await conn.BeginBinaryImportAsync(
            "COPY user_event_gists (project_id, id, user_id, event_id, gist_data, embedding, created_at, updated_at) FROM STDIN (FORMAT BINARY)"))
        {
            var now = DateTime.UtcNow;
            for (var i = 0; i < rows.Count; i++)
            {
                await copy.StartRowAsync();
                await copy.WriteAsync(Seed.Root);
                await copy.WriteAsync(ids[i]);
                await copy.WriteAsync(user);
                await copy.WriteAsync(ev);
                await copy.WriteAsync($$"""{"content":"- gist {{i}}"}""", NpgsqlDbType.Jsonb);
                await copy.WriteAsync(rows[i].Vector, NpgsqlDbType.Array | NpgsqlDbType.Real);
                var at = now.AddDays(-rows[i].AgeDays);
                await copy.WriteAsync(at, NpgsqlDbType.TimestampTz);
                await copy.WriteAsync(at, NpgsqlDbType.TimestampTz);
            }
            await copy.CompleteAsync();
        }
        return ids;
    }

    private static List<Guid> ExactTop(List<Guid> ids, List<(float[] Vector, double AgeDays)> rows, float[] query,
        int topk, double threshold, double maxAgeDays)
        => Enumerable.Range(0, ids.Count)
            .Where(i => rows[i].AgeDays < maxAgeDays)
            .Select(i => (Id: ids[i], Similarity: Cosine(query, rows[i].Vector)))
            .Where(x => x.Similarity > threshold)
            .OrderByDescending(x => x.Similarity)
            .Take(topk).Select(x => x.Id).ToList();

    private static double Cosine(float[] a, float[] b)
    {
        double dot = 0, na = 0, nb = 0;
        for (var i = 0; i < a.Length; i++)
        {
            dot += (double)a[i] * b[i];
            na += (double)a[i] * a[i];
            nb += (double)b[i] * b[i];
        }
        return dot / Math.Sqrt(na * nb);
    }

    private static List<Guid> Ids(JsonArray rows) => rows.Select(r => Guid.Parse(r!["id"]!.GetValue<string>())).ToList();

    [Fact]
    public async Task Sign_bits_from_the_server_the_sql_function_and_the_trigger_agree()
    {
        var rng = new Random(3);
        await using var conn = new NpgsqlConnection(app.ConnectionString);
        await conn.OpenAsync();
        foreach (var length in new[] { 1, 8, 1536 })
        {
            var v = Enumerable.Range(0, length).Select(i => i % 7 == 0 ? 0f : (float)(rng.NextDouble() * 2 - 1)).ToArray();
            await using var cmd = new NpgsqlCommand("SELECT memobase_sign_bits($1)", conn);
            cmd.Parameters.Add(new NpgsqlParameter { Value = v, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Real });
            var sql = (BitArray)(await cmd.ExecuteScalarAsync())!;
            Assert.Equal(Bools(SignCode.Of(v)), Bools(sql));
        }

        // A writer that leaves the bits out (older server, hand-written SQL) gets them from the trigger, also on update.
        var user = await _client.CreateUserAsync();
        var first = RandomVector(rng);
        var ev = await app.EventAsync(user, Seed.EventData("t", null), 0, first);
        Assert.Equal(Bools(SignCode.Of(first)), Bools(await app.ScalarAsync<BitArray>("SELECT embedding_bits FROM user_events WHERE id = $1", ev)));
        var second = first.Select(x => -x).ToArray();
        await app.ExecAsync("UPDATE user_events SET embedding = $2 WHERE id = $1", ev, second);
        Assert.Equal(Bools(SignCode.Of(second)), Bools(await app.ScalarAsync<BitArray>("SELECT embedding_bits FROM user_events WHERE id = $1", ev)));
        await app.ExecAsync("UPDATE user_events SET embedding = NULL WHERE id = $1", ev);
        Assert.True(await app.ScalarAsync<bool>("SELECT embedding_bits IS NULL FROM user_events WHERE id = $1", ev));
    }

    private static bool[] Bools(BitArray bits) => Enumerable.Range(0, bits.Length).Select(i => bits[i]).ToArray();

    [Fact]
    public async Task Ranking_equals_the_exact_cosine_ranking_on_random_data_with_threshold_and_time_range_honoured()
    {
        var rng = new Random(11);
        var user = await _client.CreateUserAsync();
        // No more rows than a search rescores (at least 2 × topk): exact by construction. Rows lean towards or away
        // from a base vector by a random amount, so their similarities to queries near it spread over about ±0.9.
        var center = RandomVector(rng);
        var small = Enumerable.Range(0, 2 * BoundedSearchApp.Rescore)
            .Select(_ => (Plus(RandomVector(rng), (float)(rng.NextDouble() * 3 - 1), center), rng.NextDouble() * 60)).ToList();
        var ids = await GistsAsync(user, small);
        try
        {
            for (var q = 0; q < 5; q++)
            {
                var query = Plus(center, 0.3f, RandomVector(rng));
                QueryVector($"q{q}", query);
                Assert.Equal(ExactTop(ids, small, query, 20, -1, 180),
                    Ids(await Search("event_gist", user, $"query=q{q}&topk=20&similarity_threshold=-1")));
                Assert.Equal(ExactTop(ids, small, query, 20, 0.3, 30),
                    Ids(await Search("event_gist", user, $"query=q{q}&topk=20&similarity_threshold=0.3&time_range_in_days=30")));
                var found = await Search("event_gist", user, $"query=q{q}&topk=40&similarity_threshold=0.5&time_range_in_days=20");
                Assert.Equal(ExactTop(ids, small, query, 40, 0.5, 20), Ids(found));
                Assert.All(found, g => Assert.True(g!["similarity"]!.GetValue<double>() > 0.5));
            }
        }
        finally
        {
            app.Fake.EmbeddingHandler = null;
        }
    }

    [Fact]
    public async Task Recall_at_10_through_the_sign_bit_first_stage_is_at_least_0_95_and_similarities_are_exact()
    {
        // 3,000 rows, 60 times what is rescored (topk 10), from 60 random topics; queries are new samples of a topic.
        var rng = new Random(5);
        var topics = Enumerable.Range(0, 60).Select(_ => RandomVector(rng)).ToArray();
        float[] Sample() => Plus(topics[rng.Next(topics.Length)], 0.6f, RandomVector(rng));
        var user = await _client.CreateUserAsync();
        var rows = Enumerable.Range(0, 3000).Select(_ => (Sample(), rng.NextDouble() * 100)).ToList();
        var ids = await GistsAsync(user, rows);
        var hits = 0;
        const int Queries = 20;
        try
        {
            for (var q = 0; q < Queries; q++)
            {
                var query = Sample();
                QueryVector($"r{q}", query);
                var found = await Search("event_gist", user, $"query=r{q}&topk=10&similarity_threshold=-1");
                Assert.Equal(10, found.Count);
                var exact = ExactTop(ids, rows, query, 10, -1, 180);
                hits += Ids(found).Count(exact.Contains);
                foreach (var g in found)
                {
                    var i = ids.IndexOf(Guid.Parse(g!["id"]!.GetValue<string>()));
                    Assert.Equal(Cosine(query, rows[i].Item1), g["similarity"]!.GetValue<double>(), 9);
                }
                var similarities = found.Select(g => g!["similarity"]!.GetValue<double>()).ToList();
                Assert.Equal(similarities.OrderDescending(), similarities);
            }
        }
        finally
        {
            app.Fake.EmbeddingHandler = null;
        }
        Assert.InRange(hits / (10.0 * Queries), 0.95, 1.0);
    }

    /// <summary>Holds an ACCESS EXCLUSIVE lock on <paramref name="table"/> until disposed: every read of it waits.</summary>
    private static async Task<NpgsqlTransaction> LockAsync(NpgsqlConnection conn, string table)
    {
        await conn.OpenAsync();
        var tx = await conn.BeginTransactionAsync();
        await using var cmd = new NpgsqlCommand($"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE", conn, tx);
        await cmd.ExecuteNonQueryAsync();
        return tx;
    }

    private async Task<long> SearchBackendsAsync(bool waitingOnLock)
        => await app.ScalarAsync<long>(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE '%-search'"
            + (waitingOnLock ? " AND wait_event_type = 'Lock'" : " AND state <> 'idle'"));

    private static async Task WaitForAsync(Func<Task<bool>> condition)
    {
        for (var i = 0; i < 600 && !await condition(); i++) await Task.Delay(50);
        Assert.True(await condition());
    }

    [Fact]
    public async Task A_search_over_budget_is_errno_504_while_plain_reads_keep_their_connections()
    {
        var user = await _client.CreateUserAsync();
        await app.EventAsync(user, Seed.EventData("mine", null), 0, Axis(0));
        await _client.ProfileAsync(app, user, "basic_info", "name", "gus", 1);
        QueryVector("slow", Axis(0));
        try
        {
            await using var conn = new NpgsqlConnection(app.ConnectionString);
            await using (await LockAsync(conn, "user_events"))
            {
                // More searches than the main pool has connections: they wait for one search connection and the lock.
                var searches = Enumerable.Range(0, 12).Select(_ => _client.GetAsync($"/api/v1/users/event/search/{user}?query=slow")).ToList();
                await WaitForAsync(async () => await SearchBackendsAsync(waitingOnLock: true) == 1);
                var profile = await _client.GetAsync($"/api/v1/users/profile/{user}").Ok();
                Assert.Single(profile!["profiles"]!.AsArray());
                Assert.True(await SearchBackendsAsync(waitingOnLock: false) <= 1);
                foreach (var search in searches)
                {
                    var message = await search.Fails(504);
                    Assert.Contains($"{BoundedSearchApp.TimeoutMs} ms", message, StringComparison.Ordinal);
                }
            }
            // Lock released: the same search answers again.
            Assert.Single(await Search("event", user, "query=slow"));
        }
        finally
        {
            app.Fake.EmbeddingHandler = null;
        }
    }

    [Fact]
    public async Task Context_falls_back_to_the_newest_gists_when_the_search_runs_over_budget()
    {
        var user = await _client.CreateUserAsync();
        var ev = await app.TaggedEventAsync(user, "tip", 1);
        await app.GistAsync(user, ev, "- newest", 1, Axis(1));
        await app.GistAsync(user, ev, "- older", 2, Axis(2));
        var chats = Seed.Q("""[{"role":"user","content":"tell me"}]""");
        QueryVector("tell me", Axis(0)); // orthogonal to both gists: a finished search finds none
        try
        {
            var context = (await _client.GetAsync($"/api/v1/users/context/{user}?chats_str={chats}").Ok())!["context"]!.GetValue<string>();
            Assert.DoesNotContain("- newest", context, StringComparison.Ordinal);

            await using var conn = new NpgsqlConnection(app.ConnectionString);
            var tx = await LockAsync(conn, "user_event_gists");
            var request = _client.GetAsync($"/api/v1/users/context/{user}?chats_str={chats}");
            await WaitForAsync(async () => await SearchBackendsAsync(waitingOnLock: true) == 1);
            // The search is cancelled at its budget; then the fallback query waits for the lock, which is released.
            await WaitForAsync(async () => await SearchBackendsAsync(waitingOnLock: true) == 0);
            await tx.DisposeAsync();
            context = (await request.Ok())!["context"]!.GetValue<string>();
            Assert.Contains("- newest\n- older", context, StringComparison.Ordinal);
        }
        finally
        {
            app.Fake.EmbeddingHandler = null;
        }
    }
}
