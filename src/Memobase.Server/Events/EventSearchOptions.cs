using System.ComponentModel.DataAnnotations;

namespace Memobase.Server.Events;

/// <summary>Knobs of event and gist vector search (config section "Memobase", snake_case keys).</summary>
public sealed class EventSearchOptions
{
    /// <summary>
    /// Searches this process runs at once. They use a connection pool of their own of this size, so flush workers and
    /// plain reads keep theirs; further searches wait in line (within <see cref="TimeoutMs"/>).
    /// </summary>
    [ConfigurationKeyName("search_max_concurrency")]
    [Range(1, 64)]
    public int MaxConcurrency { get; set; } = 2;

    /// <summary>
    /// Budget of one search, waiting in line included; also the PostgreSQL statement_timeout of the search connections.
    /// A search that does not finish in it answers errno 504, and context falls back to the newest gists.
    /// </summary>
    [ConfigurationKeyName("search_timeout_ms")]
    [Range(100, 600_000)]
    public int TimeoutMs { get; set; } = 5000;

    /// <summary>
    /// Rows whose full vectors are scored exactly per search (at least 2 × topk). They are the best of 5 × as many rows
    /// picked by a sign-bit first stage; a user with fewer rows in the time window is ranked exactly.
    /// </summary>
    [ConfigurationKeyName("search_rescore_candidates")]
    [Range(10, 100_000)]
    public int RescoreCandidates { get; set; } = 200;
}
