using Memobase.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Memobase.Server.Tests.Data;

/// <summary>
/// A database created by the hand-written migrations (a committed pg_dump, Fixtures/legacy-schema-20261121020000.sql)
/// upgrades in place: after the server's start-up migration its schema equals a freshly migrated database's, and the
/// rows it held are still there and served.
/// </summary>
public sealed class SchemaUpgradeTests : IAsyncLifetime
{
    private readonly MemobaseApp _legacy = new();
    private readonly MemobaseApp _fresh = new();

    public async Task InitializeAsync()
    {
        await _legacy.InitializeAsync();
        await _fresh.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        await ((IAsyncLifetime)_legacy).DisposeAsync();
        await ((IAsyncLifetime)_fresh).DisposeAsync();
    }

    private static readonly Guid UserId = Guid.Parse("6f1c0a52-3a8e-4c47-9d1e-0b6a1f2c3d4e");
    private static readonly Guid BlobId = Guid.Parse("0d7e5b1a-9c3f-4a2e-8b6d-1e2f3a4b5c6d");
    private static readonly Guid JobId = Guid.Parse("a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d");
    private static readonly Guid ProfileId = Guid.Parse("b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e");
    private static readonly Guid EventId = Guid.Parse("c3d4e5f6-a7b8-4c9d-8e1f-2a3b4c5d6e7f");
    private static readonly Guid GistId = Guid.Parse("d4e5f6a7-b8c9-4d0e-9f2a-3b4c5d6e7f80");

    [Fact]
    public async Task A_database_created_by_the_hand_written_migrations_upgrades_in_place_and_keeps_its_rows()
    {
        var fixture = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "Data", "Fixtures", "legacy-schema-20261121020000.sql"));
        await ExecuteAsync(_legacy.ConnectionString, fixture);
        await ExecuteAsync(_legacy.ConnectionString, $$"""
            INSERT INTO projects (project_id, project_secret, profile_config, status) VALUES ('legacy-app', 'f00d', 'language: en', 'pro');
            INSERT INTO users (project_id, id, additional_fields) VALUES ('__root__', '{{UserId}}', '{"name": "Gus"}');
            INSERT INTO blobs (project_id, id, user_id, blob_type, blob_data)
                VALUES ('__root__', '{{BlobId}}', '{{UserId}}', 'chat', '{"messages": [{"role": "user", "content": "I love tennis"}]}');
            INSERT INTO buffer_entries (project_id, id, user_id, blob_id, blob_type, token_size)
                VALUES ('__root__', gen_random_uuid(), '{{UserId}}', '{{BlobId}}', 'chat', 7);
            INSERT INTO flush_jobs (id, project_id, user_id, blob_type, status, trigger, max_attempts, llm_calls)
                VALUES ('{{JobId}}', '__root__', '{{UserId}}', 'chat', 'done', 'api', 3, 3);
            INSERT INTO flush_job_attempts (job_id, attempt, worker, outcome, started_at) VALUES ('{{JobId}}', 1, 'vm:1:a', 'done', now());
            INSERT INTO user_profiles (project_id, id, user_id, content, attributes)
                VALUES ('__root__', '{{ProfileId}}', '{{UserId}}', 'tennis', '{"topic": "interest", "sub_topic": "sports"}');
            INSERT INTO user_events (project_id, id, user_id, event_data, embedding)
                VALUES ('__root__', '{{EventId}}', '{{UserId}}', '{"event_tip": "Gus plays tennis", "event_tags": [{"tag": "mood", "value": "happy"}]}', '{0.6,0.8}');
            INSERT INTO user_event_gists (project_id, id, user_id, event_id, gist_data, embedding)
                VALUES ('__root__', '{{GistId}}', '{{UserId}}', '{{EventId}}', '{"content": "plays tennis"}', '{0.6,0.8}');
            INSERT INTO usage_daily (project_id, day, total_insert, total_input_token) VALUES ('legacy-app', '2026-11-20', 5, 1234);
            """);
        var legacyTables = await TablesAsync(_legacy.ConnectionString);
        var before = await RowCountsAsync(_legacy.ConnectionString, legacyTables);

        // Starting the server runs the migrator on both databases.
        using var legacyClient = _legacy.Client();
        using var freshClient = _fresh.Client();
        await legacyClient.GetAsync("/api/v1/healthcheck").Ok();
        await freshClient.GetAsync("/api/v1/healthcheck").Ok();

        var fresh = (await SchemaAsync(_fresh.ConnectionString)).Split('\n');
        var upgraded = (await SchemaAsync(_legacy.ConnectionString)).Split('\n');
        Assert.True(fresh.SequenceEqual(upgraded), "the upgraded schema differs from a fresh one:\n"
            + string.Join('\n', fresh.Except(upgraded).Select(l => "- only fresh:    " + l).Concat(upgraded.Except(fresh).Select(l => "- only upgraded: " + l))));
        using (var model = SchemaTests.OfflineContext())
        {
            var applied = await ColumnAsync(_legacy.ConnectionString, "SELECT \"MigrationId\" FROM \"__EFMigrationsHistory\"");
            Assert.All(model.Database.GetMigrations(), m => Assert.Contains(m, applied));
        }

        Assert.Equal(before, await RowCountsAsync(_legacy.ConnectionString, legacyTables));
        var user = await legacyClient.GetAsync($"/api/v1/users/{UserId}").Ok();
        Assert.Equal("Gus", user!["data"]!["name"]!.GetValue<string>());
        var profiles = (await legacyClient.GetAsync($"/api/v1/users/profile/{UserId}").Ok())!["profiles"]!.AsArray();
        Assert.Equal("tennis", Assert.Single(profiles)!["content"]!.GetValue<string>());
        var events = (await legacyClient.GetAsync($"/api/v1/users/event/{UserId}").Ok())!["events"]!.AsArray();
        Assert.Equal("Gus plays tennis", Assert.Single(events)!["event_data"]!["event_tip"]!.GetValue<string>());
        Assert.Equal(1.0, await ScalarAsync<double>(_legacy.ConnectionString,
            $"SELECT memobase_cosine_similarity(embedding, '{{0.6,0.8}}') FROM user_event_gists WHERE id = '{GistId}'"), 6);
        Assert.Equal("pro", await ScalarAsync<string>(_legacy.ConnectionString, "SELECT status FROM projects WHERE project_id = 'legacy-app'"));
        Assert.Equal(1234L, await ScalarAsync<long>(_legacy.ConnectionString, "SELECT total_input_token FROM usage_daily WHERE project_id = 'legacy-app'"));

        // The upgraded database keeps working: a new blob gets the next buffer sequence number.
        await legacyClient.PostJson($"/api/v1/blobs/insert/{UserId}", Http.ChatBlob(("user", "and squash"))).Ok();
        Assert.Equal(2L, await ScalarAsync<long>(_legacy.ConnectionString, "SELECT max(seq) FROM buffer_entries"));
        // Deleting the user still cascades through every table it owns.
        await legacyClient.DeleteAsync($"/api/v1/users/{UserId}").Ok();
        Assert.Equal(0L, await ScalarAsync<long>(_legacy.ConnectionString,
            "SELECT (SELECT count(*) FROM blobs) + (SELECT count(*) FROM buffer_entries) + (SELECT count(*) FROM flush_jobs) + (SELECT count(*) FROM flush_job_attempts) + (SELECT count(*) FROM user_profiles) + (SELECT count(*) FROM user_events) + (SELECT count(*) FROM user_event_gists)"));
    }

    /// <summary>Every column, constraint, index, sequence and function of the public schema, one normalised line each.</summary>
    private static async Task<string> SchemaAsync(string connectionString)
        => string.Join('\n', await ColumnAsync(connectionString, """
            SELECT 'column ' || table_name || '.' || column_name || ' #' || ordinal_position || ' ' || data_type
                   || coalesce('(' || character_maximum_length || ')', '') || ' null=' || is_nullable
                   || ' default=' || coalesce(column_default, '-') || ' identity=' || coalesce(identity_generation, '-')
            FROM information_schema.columns WHERE table_schema = 'public'
            UNION ALL
            SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
            FROM pg_constraint WHERE connamespace = 'public'::regnamespace
            UNION ALL
            SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
            UNION ALL
            SELECT 'sequence ' || sequencename || ' ' || data_type || ' ' || start_value || ' ' || increment_by
            FROM pg_sequences WHERE schemaname = 'public'
            UNION ALL
            SELECT 'function ' || pg_get_functiondef(p.oid) FROM pg_proc p WHERE pronamespace = 'public'::regnamespace
            ORDER BY 1
            """));

    /// <summary>The tables of a database (tables that later migrations add to it start empty: only these are compared).</summary>
    private static Task<List<string>> TablesAsync(string connectionString)
        => ColumnAsync(connectionString, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> '__EFMigrationsHistory' ORDER BY 1");

    private static async Task<string> RowCountsAsync(string connectionString, IEnumerable<string> tables)
    {
        var counts = new List<string>();
        foreach (var t in tables) counts.Add($"{t}={await ScalarAsync<long>(connectionString, $"SELECT count(*) FROM \"{t}\"")}");
        return string.Join(' ', counts);
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        // Unpooled: the dump changes session settings (search_path) that must not reach other tests' connections.
        await using var conn = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, conn);
        await cmd.ExecuteNonQueryAsync();
    }

    private static async Task<List<string>> ColumnAsync(string connectionString, string sql)
    {
        await using var conn = new NpgsqlConnection(connectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, conn);
        await using var reader = await cmd.ExecuteReaderAsync();
        var values = new List<string>();
        while (await reader.ReadAsync()) values.Add(reader.GetString(0));
        return values;
    }

    private static async Task<T> ScalarAsync<T>(string connectionString, string sql)
    {
        await using var conn = new NpgsqlConnection(connectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, conn);
        return (T)(await cmd.ExecuteScalarAsync())!;
    }
}
