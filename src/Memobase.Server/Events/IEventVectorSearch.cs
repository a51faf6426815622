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
/// The registered implementation is <see cref="ArrayEventVectorSearch"/>: pgvector is not packaged for our
/// PostgreSQL, so vectors are stored as <c>real[]</c> and scored in SQL by <c>memobase_cosine_similarity</c>
/// (<see cref="Data.VectorFunctions"/>) — a sequential scan over the user's rows inside the time
/// window, which the <c>(project_id, user_id, created_at DESC)</c> indexes narrow down.
/// <para>
/// To switch to pgvector: add a migration that creates the extension and converts the columns
/// (<c>ALTER TABLE user_events ALTER COLUMN embedding TYPE vector(&lt;dim&gt;) USING embedding::vector</c>, same for
/// <c>user_event_gists</c>, optionally with HNSW indexes), write an implementation of this interface that orders by
/// <c>embedding &lt;=&gt; $query</c> and returns <c>1 - (embedding &lt;=&gt; $query)</c> as similarity, and register it
/// instead of <see cref="ArrayEventVectorSearch"/> in <c>AddMemobaseMemoryApi</c>. Nothing else depends on the storage
/// type: the pipeline writes <c>float[]</c> parameters, which pgvector accepts through an assignment cast from
/// <c>real[]</c>.
/// </para>
/// </remarks>
public interface IEventVectorSearch
{
    Task<IReadOnlyList<EventRow>> SearchEventsAsync(VectorQuery query, CancellationToken ct);

    Task<IReadOnlyList<GistRow>> SearchGistsAsync(VectorQuery query, CancellationToken ct);
}
