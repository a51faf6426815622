namespace Memobase.Server.Events;

/// <summary>A similarity query over one user's events or gists.</summary>
/// <param name="Vector">The query embedding (<c>embedding_dim</c> entries).</param>
/// <param name="TopK">At most this many rows, best first.</param>
/// <param name="SimilarityThreshold">Only rows with cosine similarity strictly greater than this.</param>
/// <param name="TimeRangeInDays">Only rows created within the last this many days.</param>
public sealed record VectorQuery(string ProjectId, Guid UserId, float[] Vector, int TopK, double SimilarityThreshold, int TimeRangeInDays);

/// <summary>
/// Ranks a user's events and event gists by cosine similarity (<c>1 − cosine distance</c>, as upstream's pgvector
/// query) to a query vector. Rows without an embedding never match. Results are ordered by similarity, highest first,
/// and carry it in <see cref="EventRow.Similarity"/> / <see cref="GistRow.Similarity"/>.
/// </summary>
/// <remarks>
/// The registered implementation is <see cref="SignCodeEventVectorSearch"/>: pgvector is not packaged for our
/// PostgreSQL, so vectors are stored as <c>real[]</c> with a sign-bit copy (<c>embedding_bits</c>) that a first stage
/// ranks by, and the best candidates are scored exactly in the server.
/// <para>
/// To switch to pgvector: add a migration that creates the extension and converts the columns
/// (<c>ALTER TABLE user_events ALTER COLUMN embedding TYPE vector(&lt;dim&gt;) USING embedding::vector</c>, same for
/// <c>user_event_gists</c>, optionally with HNSW indexes), write an implementation of this interface that orders by
/// <c>embedding &lt;=&gt; $query</c> and returns <c>1 - (embedding &lt;=&gt; $query)</c> as similarity, and register it
/// instead of <see cref="SignCodeEventVectorSearch"/> in <c>AddMemobaseMemoryApi</c>. It should keep the contract on
/// time: a search that cannot finish within its budget throws <see cref="EventSearchTimeoutException"/>.
/// </para>
/// </remarks>
public interface IEventVectorSearch
{
    Task<IReadOnlyList<EventRow>> SearchEventsAsync(VectorQuery query, CancellationToken ct);

    Task<IReadOnlyList<GistRow>> SearchGistsAsync(VectorQuery query, CancellationToken ct);
}

/// <summary>A search did not finish within <c>search_timeout_ms</c> (waiting for a search slot included).</summary>
public sealed class EventSearchTimeoutException(int timeoutMs)
    : Exception($"The search did not finish within {timeoutMs} ms; try a shorter time_range_in_days, or again later")
{
    public int TimeoutMs { get; } = timeoutMs;
}
