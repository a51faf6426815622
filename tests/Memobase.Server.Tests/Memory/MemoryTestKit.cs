using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Memobase.Server.Tests.Fakes;
using Memobase.Server.Tests.Infrastructure;
using Npgsql;
using NpgsqlTypes;

namespace Memobase.Server.Tests.Memory;

/// <summary>
/// The server on a fresh database with its LLM and embeddings pointed at a <see cref="FakeOpenAiServer"/>
/// (<see cref="Dimension"/>-dimensional vectors, embeddings enabled).
/// </summary>
public class MemoryApp : MemobaseApp
{
    public const int Dimension = 8;

    public FakeOpenAiServer Fake { get; private set; } = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Fake = await FakeOpenAiServer.StartAsync();
        With("llm_base_url", Fake.BaseUrl);
        With("llm_api_key", "test");
        With("llm_max_retries", "0");
        With("enable_event_embedding", "true");
        With("embedding_base_url", Fake.BaseUrl);
        With("embedding_api_key", "test");
        With("embedding_dim", Dimension.ToString(CultureInfo.InvariantCulture));
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        if (Fake is not null) await Fake.DisposeAsync();
        GC.SuppressFinalize(this);
    }
}

/// <summary>Seeding and SQL helpers for the memory API tests.</summary>
public static class Seed
{
    public const string Root = "__root__";

    public static async Task ExecAsync(this MemobaseApp app, string sql, params object?[] args)
    {
        await using var conn = new NpgsqlConnection(app.ConnectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, conn);
        foreach (var a in args) cmd.Parameters.Add(Parameter(a));
        await cmd.ExecuteNonQueryAsync();
    }

    private static NpgsqlParameter Parameter(object? value) => value switch
    {
        null => new NpgsqlParameter { Value = DBNull.Value },
        float[] v => new NpgsqlParameter { Value = v, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Real },
        JsonNode n => new NpgsqlParameter { Value = n.ToJsonString(), NpgsqlDbType = NpgsqlDbType.Jsonb },
        _ => new NpgsqlParameter { Value = value },
    };

    /// <summary>A new project and a client authenticated with its token.</summary>
    public static async Task<HttpClient> ProjectClientAsync(this MemobaseApp app, string projectId, string status = "active")
    {
        var created = await app.Client().PostJson("/admin/v1/projects", new { project_id = projectId, status }).Ok();
        return app.Client(created!["token"]!.GetValue<string>());
    }

    /// <summary>Inserts an event row directly, <paramref name="ageDays"/> days old.</summary>
    public static async Task<Guid> EventAsync(this MemobaseApp app, Guid user, JsonNode eventData, double ageDays = 0,
        float[]? embedding = null, string project = Root)
    {
        var id = Guid.NewGuid();
        await app.ExecAsync("""
            INSERT INTO user_events (project_id, id, user_id, event_data, embedding, created_at, updated_at)
            VALUES ($1, $2, $3, $4, $5, now() - make_interval(secs => $6), now() - make_interval(secs => $6))
            """, project, id, user, eventData, embedding, ageDays * 86400);
        return id;
    }

    /// <summary>An event with a tip and tags (<c>("emotion","happy")</c> pairs).</summary>
    public static Task<Guid> TaggedEventAsync(this MemobaseApp app, Guid user, string tip, double ageDays, params (string Tag, string Value)[] tags)
        => app.EventAsync(user, EventData(tip, tags.Length == 0 ? null : tags), ageDays);

    public static JsonObject EventData(string? tip, (string Tag, string Value)[]? tags, params (string Topic, string SubTopic, string Content)[] delta)
        => new()
        {
            ["event_tip"] = tip,
            ["event_tags"] = tags is null ? null : new JsonArray(tags.Select(t => (JsonNode)new JsonObject { ["tag"] = t.Tag, ["value"] = t.Value }).ToArray()),
            ["profile_delta"] = new JsonArray(delta.Select(d => (JsonNode)new JsonObject
            {
                ["content"] = d.Content,
                ["attributes"] = new JsonObject { ["topic"] = d.Topic, ["sub_topic"] = d.SubTopic },
            }).ToArray()),
        };

    /// <summary>Inserts a gist row directly (its event must exist), <paramref name="ageDays"/> days old.</summary>
    public static async Task<Guid> GistAsync(this MemobaseApp app, Guid user, Guid eventId, string content, double ageDays = 0,
        float[]? embedding = null, string project = Root)
    {
        var id = Guid.NewGuid();
        await app.ExecAsync("""
            INSERT INTO user_event_gists (project_id, id, user_id, event_id, gist_data, embedding, created_at, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, now() - make_interval(secs => $7), now() - make_interval(secs => $7))
            """, project, id, user, eventId, new JsonObject { ["content"] = content }, embedding, ageDays * 86400);
        return id;
    }

    /// <summary>Adds a profile through the API, then sets its updated_at to <paramref name="minutesAgo"/> minutes ago.</summary>
    public static async Task<Guid> ProfileAsync(this HttpClient client, MemobaseApp app, Guid user, string topic, string subTopic,
        string content, double minutesAgo)
    {
        var data = await client.PostJson($"/api/v1/users/profile/{user}",
            new { content, attributes = new { topic, sub_topic = subTopic } }).Ok();
        var id = Guid.Parse(data!["id"]!.GetValue<string>());
        await app.ExecAsync("UPDATE user_profiles SET updated_at = now() - make_interval(secs => $2) WHERE id = $1", id, minutesAgo * 60);
        return id;
    }

    /// <summary>A unit vector along axis <paramref name="axis"/>, optionally mixed with axis <paramref name="other"/>.</summary>
    public static float[] Axis(int axis, float weight = 1, int other = -1, float otherWeight = 0)
    {
        var v = new float[MemoryApp.Dimension];
        v[axis] = weight;
        if (other >= 0) v[other] = otherWeight;
        return v;
    }

    public static string Q(string value) => Uri.EscapeDataString(value);

    public static List<string> Strings(this JsonNode? array) => array!.AsArray().Select(x => x!.GetValue<string>()).ToList();

    public static DateTimeOffset Timestamp(JsonNode? node)
    {
        var text = node!.GetValue<string>();
        // RFC 3339: a 'T' separator and an explicit offset (Z or ±hh:mm).
        Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$", text);
        return DateTimeOffset.Parse(text, CultureInfo.InvariantCulture);
    }

    public static string Json(object value) => JsonSerializer.Serialize(value);
}
