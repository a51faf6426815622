using System.Collections;
using Npgsql;
using NpgsqlTypes;

namespace Memobase.Server.Data;

/// <summary>
/// The one parameter helper of the raw-SQL stores (positional <c>$n</c> parameters, in order). Raw SQL is kept for what
/// needs PostgreSQL itself (SKIP LOCKED claims, CTE inserts, batches in one round trip, LISTEN/NOTIFY); plain CRUD goes
/// through EF Core.
/// </summary>
/// <remarks>
/// An argument's database type is inferred from its value (null is an untyped NULL, a <c>string[]</c> is <c>text[]</c>),
/// unless it is wrapped in one of the typed values below (<see cref="Jsonb"/>, <see cref="Text"/>, <see cref="Uuid"/>,
/// <see cref="Typed"/>), which also type a NULL, as a parameter that PostgreSQL cannot infer from the statement needs.
/// </remarks>
public static class Sql
{
    public static NpgsqlCommand Command(NpgsqlConnection conn, NpgsqlTransaction? tx, string sql, params object?[] args)
        => Add(new NpgsqlCommand(sql, conn, tx), args);

    /// <summary>A command on a pooled connection of its own.</summary>
    public static NpgsqlCommand Command(NpgsqlDataSource db, string sql, params object?[] args)
        => Add(db.CreateCommand(sql), args);

    /// <summary>A command on the request's shared transaction when there is one, else on a pooled connection of its own.</summary>
    public static NpgsqlCommand Command(NpgsqlDataSource db, RequestTransaction? shared, string sql, params object?[] args)
        => Add(db.CreateCommand(sql, shared), args);

    /// <summary>A command of an <see cref="NpgsqlBatch"/> (several statements, one round trip, one transaction).</summary>
    public static NpgsqlBatchCommand BatchCommand(string sql, params object?[] args)
    {
        var cmd = new NpgsqlBatchCommand(sql);
        Add(cmd.Parameters, args);
        return cmd;
    }

    /// <summary>Appends positional parameters (for statements whose parameters are added in parts).</summary>
    public static void Add(NpgsqlParameterCollection parameters, params object?[] args)
    {
        foreach (var a in args) parameters.Add(Parameter(a));
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

    /// <summary>A value of the given database type (null is a NULL of that type).</summary>
    public static NpgsqlParameter Typed(object? value, NpgsqlDbType type) => new() { Value = value ?? DBNull.Value, NpgsqlDbType = type };

    public static NpgsqlParameter Jsonb(string? json) => Typed(json, NpgsqlDbType.Jsonb);

    public static NpgsqlParameter Text(string? value) => Typed(value, NpgsqlDbType.Text);

    public static NpgsqlParameter Uuid(Guid? value) => Typed(value, NpgsqlDbType.Uuid);

    public static NpgsqlParameter TimestampTz(DateTime value) => Typed(value, NpgsqlDbType.TimestampTz);

    public static NpgsqlParameter Varbit(BitArray value) => Typed(value, NpgsqlDbType.Varbit);

    private static NpgsqlCommand Add(NpgsqlCommand cmd, object?[] args)
    {
        Add(cmd.Parameters, args);
        return cmd;
    }


    private static NpgsqlParameter Parameter(object? value) => value switch
    {
        NpgsqlParameter p => p,
        null => new NpgsqlParameter { Value = DBNull.Value },
        string[] s => new NpgsqlParameter { Value = s, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text },
        _ => new NpgsqlParameter { Value = value },
    };
}
