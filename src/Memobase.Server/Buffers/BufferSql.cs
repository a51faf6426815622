namespace Memobase.Server.Buffers;

/// <summary>
/// SQL of the insert hot path, in a file of its own with no dependencies so that the benchmark (bench/) links it and
/// EXPLAINs exactly what the server runs.
/// </summary>
public static class BufferSql
{
    /// <summary>
    /// Blob row + idle buffer entry in one round trip, only if the user exists in the project; returns the number of
    /// entries inserted (0: unknown user) and the user's idle tokens of that type. The CTEs see one snapshot, so that
    /// sum excludes the new entry: the caller adds its size.
    /// Parameters: $1 project, $2 user, $3 blob id, $4 type, $5 blob_data (jsonb), $6 fields (jsonb), $7 created_at,
    /// $8 entry id, $9 token size.
    /// </summary>
    public const string InsertBlob = """
        WITH u AS (SELECT 1 FROM users WHERE project_id = $1 AND id = $2),
        b AS (
            INSERT INTO blobs (project_id, id, user_id, blob_type, blob_data, additional_fields, created_at, updated_at)
            SELECT $1, $3, $2, $4, $5, $6, $7, $7 FROM u
            RETURNING id),
        e AS (
            INSERT INTO buffer_entries (project_id, id, user_id, blob_id, blob_type, token_size)
            SELECT $1, $8, $2, b.id, $4, $9 FROM b
            RETURNING id)
        SELECT (SELECT count(*) FROM e),
               (SELECT coalesce(sum(token_size), 0) FROM buffer_entries
                 WHERE project_id = $1 AND user_id = $2 AND blob_type = $4 AND status = 'idle')
        """;
}
