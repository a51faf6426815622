using System.Diagnostics;
using Npgsql;

namespace Memobase.Bench;

/// <summary>Database set-up for the bench: a fresh database, the fast seed and small query helpers.</summary>
/// <summary>One pg_stat_statements row.</summary>
internal sealed record StatementStat(long Calls, double TotalMs, double MeanMs, long Rows, string Query);

internal static class Database
{
    public const string Project = "__root__";

    /// <summary>The capacity endpoint's query, verbatim from Buffers/BuffersApi.cs (GetBufferIds).</summary>
    public const string CapacitySql =
        "SELECT id FROM buffer_entries WHERE project_id = $1 AND user_id = $2 AND blob_type = $3 AND status = $4 ORDER BY seq";

    public static async Task RecreateAsync(string adminConnectionString, string database)
    {
        await using var conn = new NpgsqlConnection(adminConnectionString);
        await conn.OpenAsync();
        await ExecAsync(conn, $"DROP DATABASE IF EXISTS {database} WITH (FORCE)");
        await ExecAsync(conn, $"CREATE DATABASE {database}");
    }

    public static string ConnectionString(string adminConnectionString, string database, int maxPool, string app)
        => new NpgsqlConnectionStringBuilder(adminConnectionString)
        {
            Database = database, MaxPoolSize = maxPool, ApplicationName = app, CommandTimeout = 600, Timeout = 30,
        }.ConnectionString;

    /// <summary>postgres://user:pw@host:port/db for the server's DATABASE_URL.</summary>
    public static string Url(string adminConnectionString, string database)
    {
        var b = new NpgsqlConnectionStringBuilder(adminConnectionString);
        return $"postgres://{Uri.EscapeDataString(b.Username ?? "postgres")}:{Uri.EscapeDataString(b.Password ?? "")}@{b.Host}:{b.Port}/{database}";
    }

    public static async Task<int> ExecAsync(NpgsqlConnection conn, string sql, params object[] args)
    {
        await using var cmd = new NpgsqlCommand(sql, conn) { CommandTimeout = 600 };
        foreach (var a in args) cmd.Parameters.Add(new NpgsqlParameter { Value = a });
        return await cmd.ExecuteNonQueryAsync();
    }

    public static async Task<T> ScalarAsync<T>(NpgsqlDataSource db, string sql, params object[] args)
    {
        await using var cmd = db.CreateCommand(sql);
        foreach (var a in args) cmd.Parameters.Add(new NpgsqlParameter { Value = a });
        return (T)(await cmd.ExecuteScalarAsync())!;
    }

    public static async Task<List<string>> LinesAsync(NpgsqlDataSource db, string sql)
    {
        var lines = new List<string>();
        await using var cmd = db.CreateCommand(sql);
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync()) lines.Add(reader.GetValue(0)?.ToString() ?? "");
        return lines;
    }

    public static async Task<List<Guid>> CapacityIdsAsync(NpgsqlDataSource db, Guid user, string status, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand(CapacitySql);
        cmd.Parameters.Add(new NpgsqlParameter { Value = Project });
        cmd.Parameters.Add(new NpgsqlParameter { Value = user });
        cmd.Parameters.Add(new NpgsqlParameter { Value = "chat" });
        cmd.Parameters.Add(new NpgsqlParameter { Value = status });
        var ids = new List<Guid>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) ids.Add(reader.GetGuid(0));
        return ids;
    }

    /// <summary>
    /// users × entriesPerUser chat blobs with one buffer entry each, written with INSERT … SELECT generate_series. Entry i
    /// belongs to user i mod users, so a user's entries are spread over the heap as with interleaved real traffic (seq grows
    /// with i). Per user, by position k = i div users (0 = oldest): the newest 5 are idle, then 2 processing, 1 failed, the
    /// rest done. Blob and entry ids are md5(i) UUIDs, so both statements agree without a temp table. The session runs with
    /// session_replication_role = replica, which skips the foreign-key triggers: the keys are consistent by construction.
    /// </summary>
    /// <returns>The user ids (in seed order) and the seconds it took.</returns>
    public static async Task<(Guid[] Users, double Seconds)> SeedAsync(NpgsqlDataSource db, int users, int entriesPerUser)
    {
        var sw = Stopwatch.StartNew();
        await using var conn = await db.OpenConnectionAsync();
        var total = (long)users * entriesPerUser;
        await ExecAsync(conn, "SET maintenance_work_mem = '256MB'");
        await ExecAsync(conn, "SET session_replication_role = replica");
        await ExecAsync(conn, "CREATE TEMP TABLE seed_users AS SELECT n, gen_random_uuid() AS id FROM generate_series(0, $1 - 1) n", users);
        await ExecAsync(conn, "INSERT INTO users (project_id, id) SELECT $1, id FROM seed_users ORDER BY n", Project);
        // One realistic two-message chat per blob (the same text: blob contents do not matter to these scenarios).
        await ExecAsync(conn, """
            INSERT INTO blobs (project_id, id, user_id, blob_type, blob_data, created_at, updated_at)
            SELECT $1, md5('blob' || i)::uuid, u.ids[(i % $3) + 1], 'chat',
                   '{"messages": [{"role": "user", "content": "I finally went hiking near the lake this weekend, the weather was great."},
                                  {"role": "assistant", "content": "That sounds wonderful! Which trail did you take, and would you go again?"}]}'::jsonb,
                   now(), now()
            FROM (SELECT array_agg(id ORDER BY n) AS ids FROM seed_users) u, generate_series(0::bigint, $2 - 1) i
            """, Project, total, (long)users);
        await ExecAsync(conn, """
            INSERT INTO buffer_entries (project_id, id, user_id, blob_id, blob_type, token_size, status, processed_at)
            SELECT $1, md5('entry' || i)::uuid, u.ids[(i % $3) + 1], md5('blob' || i)::uuid, 'chat', 40 + (i % 13)::int,
                   CASE WHEN i / $3 >= $4 - 5 THEN 'idle' WHEN i / $3 >= $4 - 7 THEN 'processing'
                        WHEN i / $3 >= $4 - 8 THEN 'failed' ELSE 'done' END,
                   CASE WHEN i / $3 < $4 - 8 THEN now() END
            FROM (SELECT array_agg(id ORDER BY n) AS ids FROM seed_users) u, generate_series(0::bigint, $2 - 1) i
            """, Project, total, (long)users, (long)entriesPerUser);
        await ExecAsync(conn, "RESET session_replication_role");
        await ExecAsync(conn, "VACUUM (ANALYZE) users");
        await ExecAsync(conn, "VACUUM (ANALYZE) blobs");
        await ExecAsync(conn, "VACUUM (ANALYZE) buffer_entries");
        var ids = new List<Guid>(users);
        await using (var cmd = new NpgsqlCommand("SELECT id FROM seed_users ORDER BY n", conn))
        await using (var reader = await cmd.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync()) ids.Add(reader.GetGuid(0));
        }
        await ExecAsync(conn, "DROP TABLE seed_users");
        return (ids.ToArray(), sw.Elapsed.TotalSeconds);
    }

    /// <summary>The server's insert statement (src/Memobase.Server/Buffers/BufferSql.cs, linked into this project).</summary>
    public const string InsertSql = Memobase.Server.Buffers.BufferSql.InsertBlob;

    /// <summary>EXPLAIN (ANALYZE, BUFFERS) of one chat insert for <paramref name="user"/>, rolled back.</summary>
    public static async Task<List<string>> ExplainInsertAsync(NpgsqlDataSource db, Guid user, string storedJson)
    {
        var lines = new List<string>();
        await using var conn = await db.OpenConnectionAsync();
        await using var tx = await conn.BeginTransactionAsync();
        await using (var cmd = new NpgsqlCommand("EXPLAIN (ANALYZE, BUFFERS) " + InsertSql, conn, tx))
        {
            cmd.Parameters.Add(new NpgsqlParameter { Value = Project });
            cmd.Parameters.Add(new NpgsqlParameter { Value = user });
            cmd.Parameters.Add(new NpgsqlParameter { Value = Guid.NewGuid() });
            cmd.Parameters.Add(new NpgsqlParameter { Value = "chat" });
            cmd.Parameters.Add(new NpgsqlParameter { Value = storedJson, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Jsonb });
            cmd.Parameters.Add(new NpgsqlParameter { Value = DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Jsonb });
            cmd.Parameters.Add(new NpgsqlParameter { Value = DateTime.UtcNow, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
            cmd.Parameters.Add(new NpgsqlParameter { Value = Guid.NewGuid() });
            cmd.Parameters.Add(new NpgsqlParameter { Value = 70 });
            await using var reader = await cmd.ExecuteReaderAsync();
            while (await reader.ReadAsync()) lines.Add(reader.GetString(0));
        }
        await tx.RollbackAsync();
        return lines;
    }

    public static async Task<bool> EnableStatementStatsAsync(NpgsqlDataSource db)
    {
        try
        {
            await using var conn = await db.OpenConnectionAsync();
            await ExecAsync(conn, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
            await ExecAsync(conn, "SELECT pg_stat_statements_reset()");
            return true;
        }
        catch (PostgresException)
        {
            return false;
        }
    }

    public static async Task ResetStatementStatsAsync(NpgsqlDataSource db)
    {
        await using var conn = await db.OpenConnectionAsync();
        await ExecAsync(conn, "SELECT pg_stat_statements_reset()");
    }

    /// <summary>The statements of the server (application_name memobase-server is not recorded, so: all but the bench's own), by total time.</summary>
    public static async Task<List<StatementStat>> TopStatementsAsync(NpgsqlDataSource db, int limit)
    {
        var list = new List<StatementStat>();
        await using var cmd = db.CreateCommand("""
            SELECT calls, total_exec_time, mean_exec_time, rows, regexp_replace(query, '\s+', ' ', 'g')
            FROM pg_stat_statements
            WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND query NOT ILIKE '%pg_stat_statements%' AND query NOT ILIKE 'EXPLAIN%' AND query NOT ILIKE '%pg_stat_activity%'
              AND query NOT ILIKE '%FILTER (WHERE status IN (''done'', ''failed'', ''merged''))%'
            ORDER BY total_exec_time DESC LIMIT $1
            """);
        cmd.Parameters.Add(new NpgsqlParameter { Value = limit });
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            list.Add(new StatementStat(reader.GetInt64(0), reader.GetDouble(1), reader.GetDouble(2), reader.GetInt64(3), reader.GetString(4)));
        }
        return list;
    }

    public static async Task<int> PostmasterPidAsync(NpgsqlDataSource db)
    {
        var backend = await ScalarAsync<int>(db, "SELECT pg_backend_pid()");
        return Proc.ParentPid(backend);
    }
}
