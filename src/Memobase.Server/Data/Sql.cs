using Npgsql;
using NpgsqlTypes;

namespace Memobase.Server.Data;

/// <summary>
/// The one parameter helper of the raw-SQL stores (positional <c>$n</c> parameters, in order). Raw SQL is kept for what
/// needs PostgreSQL itself (SKIP LOCKED claims, CTE inserts, batches in one round trip, LISTEN/NOTIFY); plain CRUD goes
/// through EF Core.
/// </summary>
public static class Sql
{
    public static NpgsqlCommand Command(NpgsqlConnection conn, NpgsqlTransaction? tx, string sql, params object?[] args)
    {
        var cmd = new NpgsqlCommand(sql, conn, tx);
        foreach (var a in args) cmd.Parameters.Add(Parameter(a));
        return cmd;
    }

    /// <summary>A command of an <see cref="NpgsqlBatch"/> (several statements, one round trip, one transaction).</summary>
    public static NpgsqlBatchCommand BatchCommand(string sql, params object?[] args)
    {
        var cmd = new NpgsqlBatchCommand(sql);
        foreach (var a in args) cmd.Parameters.Add(Parameter(a));
        return cmd;
    }

    public static async Task<int> ExecuteAsync(NpgsqlConnection conn, NpgsqlTransaction? tx, string sql, CancellationToken ct, params object?[] args)
    {
        await using var cmd = Command(conn, tx, sql, args);
        return await cmd.ExecuteNonQueryAsync(ct);
    }

    public static async Task<T> ScalarAsync<T>(NpgsqlConnection conn, NpgsqlTransaction? tx, string sql, CancellationToken ct, params object?[] args)
    {
        await using var cmd = Command(conn, tx, sql, args);
        var value = await cmd.ExecuteScalarAsync(ct);
        return value is null or DBNull ? default! : (T)value;
    }

    private static NpgsqlParameter Parameter(object? value) => value switch
    {
        null => new NpgsqlParameter { Value = DBNull.Value },
        string[] s => new NpgsqlParameter { Value = s, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text },
        _ => new NpgsqlParameter { Value = value },
    };
}
