using System.Collections;
using Memobase.Server.Data;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Memobase.Server.Events;

/// <summary>
/// <see cref="IEventVectorSearch"/> over <c>real[]</c> embeddings and their sign bits (<see cref="SignCode"/>), in
/// two stages within one statement and exact rescoring here:
/// <list type="number">
/// <item>PostgreSQL keeps the 5 × R rows (R = max(<see cref="EventSearchOptions.RescoreCandidates"/>, 2 × topk)) of
///   the user's time window with the fewest differing sign bits (<c>bit_count(embedding_bits # query_signs)</c>, about
///   1 µs per row), then the R of them with the smallest mismatch weighted by the query's magnitudes;</item>
/// <item>their full vectors come back, and the exact cosine similarity is computed here in double precision; rows at or
///   below the threshold are dropped, the rest ordered by similarity (then newest first), top k returned.</item>
/// </list>
/// A window with at most R rows is therefore ranked exactly; for larger ones the bench measures recall@10 against the
/// exact ranking. Searches run on a connection pool of their own with <see cref="EventSearchOptions.MaxConcurrency"/>
/// connections and a budget of <see cref="EventSearchOptions.TimeoutMs"/> (also the statement_timeout), so they can
/// never take connections from the flush workers or plain reads; a search over budget throws
/// <see cref="EventSearchTimeoutException"/>.
/// </summary>
public sealed class SignCodeEventVectorSearch : IEventVectorSearch, IAsyncDisposable
{
    private static readonly string EventsSql = RankedSql("user_events", "event_data");
    private static readonly string GistsSql = RankedSql("user_event_gists", "gist_data");

    /// <summary>
    /// The one two-stage search of both tables: the nearest <c>$5</c> rows by sign-bit Hamming distance to <c>$3</c>,
    /// rescored with the four magnitude masks <c>$6</c>–<c>$9</c>; the best <c>$10</c>, of the user <c>$1</c>/<c>$2</c>,
    /// created within <c>$4</c> days.
    /// </summary>
    private static string RankedSql(string table, string dataColumn) => $"""
        SELECT id, {dataColumn}::text, created_at, updated_at, embedding FROM (
            SELECT id, {dataColumn}, created_at, updated_at, embedding, embedding_bits FROM {table}
            WHERE project_id = $1 AND user_id = $2 AND length(embedding_bits) = length($3)
              AND created_at > now() - make_interval(days => $4)
            ORDER BY bit_count(embedding_bits # $3) LIMIT $5
        ) first_stage
        ORDER BY bit_count((embedding_bits # $3) & $6) + 2 * bit_count((embedding_bits # $3) & $7)
               + 4 * bit_count((embedding_bits # $3) & $8) + 8 * bit_count((embedding_bits # $3) & $9)
        LIMIT $10
        """;

    /// <summary>First-stage rows per rescored row.</summary>
    public const int FirstStageFactor = 5;

    private readonly NpgsqlDataSource _searchDb;
    private readonly SemaphoreSlim _slots;
    private readonly EventSearchOptions _options;

    public SignCodeEventVectorSearch(IOptions<DatabaseOptions> database, IOptions<EventSearchOptions> options, ILoggerFactory logs)
    {
        _options = options.Value;
        _slots = new SemaphoreSlim(_options.MaxConcurrency, _options.MaxConcurrency);
        var cs = new NpgsqlConnectionStringBuilder(database.Value.ConnectionString);
        cs.ApplicationName = string.IsNullOrEmpty(cs.ApplicationName) ? "memobase-server-search" : cs.ApplicationName + "-search";
        cs.MaxPoolSize = _options.MaxConcurrency;
        cs.MinPoolSize = 0;
        if (cs.MaxAutoPrepare == 0) cs.MaxAutoPrepare = database.Value.MaxAutoPrepare;
        if (!database.Value.ResetOnClose) cs.NoResetOnClose = true;
        cs.Options = $"{cs.Options} -c statement_timeout={_options.TimeoutMs}".Trim();
        cs.CommandTimeout = _options.TimeoutMs / 1000 + 5;
        var builder = new NpgsqlDataSourceBuilder(cs.ConnectionString);
        builder.UseLoggerFactory(logs);
        _searchDb = builder.Build();
    }

    public Task<IReadOnlyList<EventRow>> SearchEventsAsync(VectorQuery query, CancellationToken ct)
        => SearchAsync(EventsSql, query, (id, json, created, updated, similarity) => new EventRow(id, json, created, updated, similarity), r => r.CreatedAt, ct);

    public Task<IReadOnlyList<GistRow>> SearchGistsAsync(VectorQuery query, CancellationToken ct)
        => SearchAsync(GistsSql, query, (id, json, created, updated, similarity) => new GistRow(id, json, created, updated, similarity), r => r.CreatedAt, ct);

    private async Task<IReadOnlyList<T>> SearchAsync<T>(
        string sql, VectorQuery query, Func<Guid, string, DateTime, DateTime, double, T> row, Func<T, DateTime> createdAt, CancellationToken ct)
    {
        var topk = Math.Max(0, query.TopK);
        if (topk == 0 || query.Vector.Length == 0) return [];
        using var budget = CancellationTokenSource.CreateLinkedTokenSource(ct);
        budget.CancelAfter(_options.TimeoutMs);
        try
        {
            await _slots.WaitAsync(budget.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new EventSearchTimeoutException(_options.TimeoutMs);
        }
        try
        {
            var rescore = Math.Max(_options.RescoreCandidates, 2 * topk);
            var (signs, planes) = SignCode.Query(query.Vector);
            await using var cmd = _searchDb.CreateCommand(sql);
            EventStore.AddScope(cmd, query.ProjectId, query.UserId);
            Sql.Add(cmd.Parameters, Sql.Varbit(signs), Math.Clamp(query.TimeRangeInDays, -EventStore.MaxDays, EventStore.MaxDays),
                (int)Math.Min(int.MaxValue, (long)rescore * FirstStageFactor));
            foreach (var plane in planes) Sql.Add(cmd.Parameters, Sql.Varbit(plane));
            Sql.Add(cmd.Parameters, rescore);

            var scored = new List<(T Row, double Similarity)>();
            await using var reader = await cmd.ExecuteReaderAsync(budget.Token);
            while (await reader.ReadAsync(budget.Token))
            {
                if (reader.IsDBNull(4)) continue;
                var similarity = SignCode.Cosine(query.Vector, reader.GetFieldValue<float[]>(4));
                if (similarity is not { } s || !(s > query.SimilarityThreshold)) continue;
                scored.Add((row(reader.GetGuid(0), reader.GetString(1), reader.GetDateTime(2), reader.GetDateTime(3), s), s));
            }
            return scored
                .OrderByDescending(x => x.Similarity).ThenByDescending(x => createdAt(x.Row))
                .Take(topk).Select(x => x.Row).ToList();
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new EventSearchTimeoutException(_options.TimeoutMs);
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.QueryCanceled && !ct.IsCancellationRequested)
        {
            throw new EventSearchTimeoutException(_options.TimeoutMs);
        }
        finally
        {
            _slots.Release();
        }
    }

    public ValueTask DisposeAsync()
    {
        _slots.Dispose();
        return _searchDb.DisposeAsync();
    }
}
