using System.Collections;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Memobase.Server.Events;
using Npgsql;
using NpgsqlTypes;

namespace Memobase.Bench;

/// <summary>
/// Scenario 4, the read path (issue 15 §5): one user per size with that many events (3 gists each, 1536-dimension
/// synthetic vectors, spread over 170 days) and 10 profiles, seeded with COPY; then profile, events, context, event
/// search, gist search and context with chats_str at each size, with 1 and with 8 clients; and recall@10 of both
/// searches against the exact cosine ranking, computed here from the user's stored vectors.
/// </summary>
internal sealed partial class Bench
{
    private const int ReadDim = 1536;
    private readonly StringBuilder _readPath = new();

    private sealed record ReadUser(int Size, Guid Id);

    private async Task ReadPathAsync()
    {
        await StartServerAsync(o.WorkerConcurrency[0], o.ServerLogLevel, "read path", embeddings: true);
        var users = new List<ReadUser>();
        foreach (var size in o.ReadSizes)
        {
            var sw = Stopwatch.StartNew();
            var user = await SeedReadUserAsync(size);
            users.Add(new ReadUser(size, user));
            Log($"read path: seeded a user with {size:N0} events ({3 * size:N0} gists) in {sw.Elapsed.TotalSeconds:0.0} s");
        }
        await using (var conn = await _db.OpenConnectionAsync())
        {
            await Database.ExecAsync(conn, "VACUUM ANALYZE user_events");
            await Database.ExecAsync(conn, "VACUUM ANALYZE user_event_gists");
        }

        var chats = Uri.EscapeDataString(JsonSerializer.Serialize(new[] { new { role = "user", content = "q:{0}" } }));
        var ops = new (string Name, Func<Guid, long, string> Uri)[]
        {
            ("profile", (u, _) => $"/api/v1/users/profile/{u}"),
            ("events", (u, _) => $"/api/v1/users/event/{u}"),
            ("context", (u, _) => $"/api/v1/users/context/{u}"),
            ("event search", (u, q) => $"/api/v1/users/event/search/{u}?query=q:{q}&topk=10&similarity_threshold=0.2"),
            ("gist search", (u, q) => $"/api/v1/users/event_gist/search/{u}?query=q:{q}&topk=10&similarity_threshold=0.2"),
            ("context chats_str", (u, q) => $"/api/v1/users/context/{u}?chats_str={chats.Replace("%7B0%7D", q.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)}"),
        };
        var rows = new List<(int Size, int Clients, string Op, LoadResult R)>();
        foreach (var clients in new[] { 1, 8 })
        {
            foreach (var user in users)
            {
                foreach (var (name, uri) in ops)
                {
                    var http = _http;
                    LoadRunner.Operation op = async (_, random, ct) =>
                    {
                        using var response = await http.GetAsync(new Uri(uri(user.Id, random.NextInt64(1L << 40)), UriKind.Relative), ct);
                        return await CheckAsync(response, ct);
                    };
                    await LoadRunner.RunAsync($"{name} warm-up", clients, TimeSpan.FromSeconds(0.5), 3, op, Snapshot, 7);
                    await WaitForQuietAsync($"{name} {user.Size}");
                    var r = await LoadRunner.RunAsync($"{name}, {user.Size:N0} events, {clients} clients", clients,
                        TimeSpan.FromSeconds(o.ReadSeconds), o.ReadMaxOps, op, Snapshot, 11);
                    rows.Add((user.Size, clients, name, r));
                    Log($"read path {name}, {user.Size:N0} events, {clients} clients: {r.Ok} ok, {r.Errors} errors, p50 {r.Quantile(0.5):0.0} ms, " +
                        $"p95 {r.Quantile(0.95):0.0} ms, p99 {r.Quantile(0.99):0.0} ms{(r.FirstError is null ? "" : "; first error: " + r.FirstError)}");
                }
            }
        }

        var recall = new List<(int Size, string Kind, double Recall, int Queries)>();
        foreach (var user in users.Where(u => u.Size >= 1000 && u.Size <= 10_000))
        {
            foreach (var kind in new[] { "event", "gist" })
            {
                recall.Add((user.Size, kind, await RecallAsync(user, kind, 20), 20));
                Log($"read path recall@10 {kind} search, {user.Size:N0} events: {recall[^1].Recall:0.000}");
            }
        }
        await WriteReadPathReportAsync(rows, recall);
    }

    private async Task<Guid> SeedReadUserAsync(int size)
    {
        var user = Guid.NewGuid();
        await using var conn = await _db.OpenConnectionAsync();
        await Database.ExecAsync(conn, "INSERT INTO users (project_id, id) VALUES ($1, $2)", Database.Project, user);
        await Database.ExecAsync(conn, """
            INSERT INTO user_profiles (project_id, id, user_id, content, attributes)
            SELECT $1, gen_random_uuid(), $2, 'fact number ' || i, jsonb_build_object('topic', 'topic' || (i % 3), 'sub_topic', 'sub' || i)
            FROM generate_series(1, 10) i
            """, Database.Project, user);
        var now = DateTime.UtcNow;
        var seedBase = (long)size << 32;
        var eventIds = new Guid[size];
        var times = new DateTime[size];
        await using (var copy = await conn.BeginBinaryImportAsync(
            "COPY user_events (project_id, id, user_id, event_data, embedding, embedding_bits, created_at, updated_at) FROM STDIN (FORMAT BINARY)"))
        {
            for (var i = 0; i < size; i++)
            {
                eventIds[i] = Guid.NewGuid();
                times[i] = now.AddSeconds(-(170.0 * 86400 * (i + 1) / (size + 1)));
                var v = SyntheticVectors.Of(seedBase + 4L * i, ReadDim);
                await copy.StartRowAsync();
                await copy.WriteAsync(Database.Project);
                await copy.WriteAsync(eventIds[i]);
                await copy.WriteAsync(user);
                await copy.WriteAsync($$"""{"event_tip":"- event {{i}}: the user talked about things","event_tags":null,"profile_delta":[]}""", NpgsqlDbType.Jsonb);
                await copy.WriteAsync(v, NpgsqlDbType.Array | NpgsqlDbType.Real);
                await copy.WriteAsync(SignCode.Of(v), NpgsqlDbType.Varbit);
                await copy.WriteAsync(times[i], NpgsqlDbType.TimestampTz);
                await copy.WriteAsync(times[i], NpgsqlDbType.TimestampTz);
            }
            await copy.CompleteAsync();
        }
        await using (var copy = await conn.BeginBinaryImportAsync(
            "COPY user_event_gists (project_id, id, user_id, event_id, gist_data, embedding, embedding_bits, created_at, updated_at) FROM STDIN (FORMAT BINARY)"))
        {
            for (var i = 0; i < size; i++)
            {
                for (var g = 1; g <= 3; g++)
                {
                    var v = SyntheticVectors.Of(seedBase + 4L * i + g, ReadDim);
                    await copy.StartRowAsync();
                    await copy.WriteAsync(Database.Project);
                    await copy.WriteAsync(Guid.NewGuid());
                    await copy.WriteAsync(user);
                    await copy.WriteAsync(eventIds[i]);
                    await copy.WriteAsync($$"""{"content":"- gist {{g}} of event {{i}}: the user mentioned something"}""", NpgsqlDbType.Jsonb);
                    await copy.WriteAsync(v, NpgsqlDbType.Array | NpgsqlDbType.Real);
                    await copy.WriteAsync(SignCode.Of(v), NpgsqlDbType.Varbit);
                    await copy.WriteAsync(times[i], NpgsqlDbType.TimestampTz);
                    await copy.WriteAsync(times[i], NpgsqlDbType.TimestampTz);
                }
            }
            await copy.CompleteAsync();
        }
        return user;
    }

    /// <summary>Share of the exact top 10 (cosine over all the user's vectors, threshold −1) that the server returns.</summary>
    private async Task<double> RecallAsync(ReadUser user, string kind, int queries)
    {
        var table = kind == "event" ? "user_events" : "user_event_gists";
        var stored = new List<(Guid Id, float[] V)>();
        await using (var cmd = _db.CreateCommand($"SELECT id, embedding FROM {table} WHERE project_id = $1 AND user_id = $2"))
        {
            cmd.Parameters.Add(new NpgsqlParameter { Value = Database.Project });
            cmd.Parameters.Add(new NpgsqlParameter { Value = user.Id });
            await using var reader = await cmd.ExecuteReaderAsync();
            while (await reader.ReadAsync()) stored.Add((reader.GetGuid(0), reader.GetFieldValue<float[]>(1)));
        }
        var hits = 0;
        var random = new Random(42);
        for (var q = 0; q < queries; q++)
        {
            var seed = random.NextInt64(1L << 40);
            var query = SyntheticVectors.Of(seed, ReadDim);
            var exact = stored.Select(s => (s.Id, Sim: SignCode.Cosine(query, s.V) ?? -2)).OrderByDescending(x => x.Sim).Take(10).Select(x => x.Id).ToHashSet();
            var path = kind == "event" ? "event/search" : "event_gist/search";
            using var response = await _http.GetAsync(new Uri(
                $"/api/v1/users/{path}/{user.Id}?query=q:{seed}&topk=10&similarity_threshold=-1&time_range_in_days=400", UriKind.Relative));
            using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            var found = doc.RootElement.GetProperty("data").GetProperty(kind == "event" ? "events" : "gists").EnumerateArray()
                .Select(e => e.GetProperty("id").GetGuid());
            hits += found.Count(exact.Contains);
        }
        return hits / (10.0 * queries);
    }

    private async Task WriteReadPathReportAsync(List<(int Size, int Clients, string Op, LoadResult R)> rows, List<(int Size, string Kind, double Recall, int Queries)> recall)
    {
        var load = await File.ReadAllTextAsync("/proc/loadavg");
        var sb = _readPath;
        sb.AppendLine("## 4. Read path (issue 15)").AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"Load average at the end: {string.Join(' ', load.Split(' ').Take(3))}. Latency in ms (client side), p50 / p95 / p99, n = requests.").AppendLine();
        sb.AppendLine("| events | clients | operation | n | errors | p50 | p95 | p99 |").AppendLine("|---:|---:|---|---:|---:|---:|---:|---:|");
        foreach (var (size, clients, op, r) in rows)
        {
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"| {size:N0} | {clients} | {op} | {r.Ok} | {r.Errors} | {r.Quantile(0.5):0.0} | {r.Quantile(0.95):0.0} | {r.Quantile(0.99):0.0} |");
        }
        sb.AppendLine().AppendLine("| events | search | recall@10 (threshold −1, all rows in the window) | queries |").AppendLine("|---:|---|---:|---:|");
        foreach (var (size, kind, value, queries) in recall) sb.AppendLine(CultureInfo.InvariantCulture, $"| {size:N0} | {kind} | {value:0.000} | {queries} |");
        sb.AppendLine();
    }
}
