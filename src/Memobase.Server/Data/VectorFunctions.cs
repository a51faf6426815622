namespace Memobase.Server.Data;

/// <summary>
/// <c>memobase_cosine_similarity(real[], real[])</c>: cosine similarity of two equally long vectors in double precision,
/// NULL when the lengths differ or either vector is all zeros (so such rows never pass a similarity threshold).
/// Used by event search in place of pgvector's <c>1 - (a &lt;=&gt; b)</c>. EF cannot model a function, so the
/// migrations create it with this SQL.
/// </summary>
public static class VectorFunctions
{
    public const string CreateCosineSimilarity = """
        CREATE OR REPLACE FUNCTION memobase_cosine_similarity(a real[], b real[])
        RETURNS double precision
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
        AS $$
            SELECT CASE WHEN cardinality(a) <> cardinality(b) OR cardinality(a) = 0 THEN NULL ELSE (
                SELECT CASE WHEN sum(x * x) = 0 OR sum(y * y) = 0 THEN NULL
                            ELSE sum(x * y) / (sqrt(sum(x * x)) * sqrt(sum(y * y))) END
                FROM unnest(a::double precision[], b::double precision[]) AS t(x, y)) END
        $$;
        """;

    public const string DropCosineSimilarity = "DROP FUNCTION IF EXISTS memobase_cosine_similarity(real[], real[]);";
}
