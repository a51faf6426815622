using System.Diagnostics;
using Memobase.Server.Data;
using Memobase.Server.Tokenization;
using Microsoft.Extensions.Options;
using Npgsql;
using Memobase.Server.Telemetry;

namespace Memobase.Server.Llm;

/// <summary>
/// The optional LLM budget (<c>llm_requests_per_minute</c>, <c>llm_tokens_per_minute</c>), shared by every replica
/// through one PostgreSQL row (<c>llm_budget_buckets</c>, name <c>chat</c>): a token bucket per dimension that refills
/// at 97 % of limit / 60 per second (<see cref="Margin"/>) and holds at most 10 seconds' worth (limit / 6), so even a burst after a quiet spell stays
/// well inside a provider's per-minute window. A call takes one request and its estimated tokens (o200k count of the
/// prompt + the running mean of completion lengths) in one atomic <c>UPDATE</c>; the reported usage corrects the tokens
/// afterwards (the bucket may go below zero, which delays later calls). A call bigger than the bucket waits until the
/// bucket is full. The row is read and written by single statements, never held while a call runs. Within a process
/// the waiting calls form one line, so the process asks PostgreSQL about once per granted call (plus a poll every
/// ≤ 1 s while the budget is exhausted).
/// </summary>
public sealed partial class LlmBudget : IDisposable
{
    private const string BucketName = "chat";
    private const double BurstSeconds = 10;

    /// <summary>
    /// The buckets refill at 97 % of the configured rates: a provider counting the same limit sees each request a few
    /// milliseconds after it was granted, with jitter, so a bucket refilled at exactly its rate would now and then send a
    /// request just before the provider's own bucket has a token for it.
    /// </summary>
    private const double Margin = 0.97;

    private readonly Lazy<NpgsqlDataSource> _db;
    private readonly ILogger<LlmBudget> _logger;
    private readonly double _requestsPerSecond;
    private readonly double _requestCap;
    private readonly double _tokensPerSecond;
    private readonly double _tokenCap;
    private readonly SemaphoreSlim _line = new(1, 1);
    private readonly Lock _estimateLock = new();
    private double _meanCompletionTokens;
    private volatile bool _rowEnsured;

    /// <param name="db">Resolved at the first budgeted call: without a budget no database is needed (the pipeline runs without one in tests).</param>
    public LlmBudget(Lazy<NpgsqlDataSource> db, IOptions<LlmOptions> options, ILogger<LlmBudget> logger)
    {
        _db = db;
        _logger = logger;
        var o = options.Value;
        _requestsPerSecond = o.LlmRequestsPerMinute / 60.0 * Margin;
        _requestCap = Math.Max(1, o.LlmRequestsPerMinute / 60.0 * BurstSeconds);
        _tokensPerSecond = o.LlmTokensPerMinute / 60.0 * Margin;
        _tokenCap = Math.Max(1, o.LlmTokensPerMinute / 60.0 * BurstSeconds);
        _meanCompletionTokens = Math.Min(o.LlmMaxTokens, 256);
    }

    /// <summary>True when a requests or tokens budget is configured.</summary>
    public bool IsEnabled => _requestsPerSecond > 0 || _tokensPerSecond > 0;

    /// <summary>True when a tokens budget is configured (only then are prompts counted before the call).</summary>
    public bool LimitsTokens => _tokensPerSecond > 0;

    /// <summary>Tokens a call is expected to use: the prompt's o200k count plus the mean completion so far (0 without a tokens budget).</summary>
    public int Estimate(string systemPrompt, string userPrompt, int maxTokens)
    {
        if (!LimitsTokens) return 0;
        double completion;
        lock (_estimateLock) completion = _meanCompletionTokens;
        return O200kTokenizer.Instance.CountTokens(systemPrompt) + O200kTokenizer.Instance.CountTokens(userPrompt) + (int)Math.Min(maxTokens, completion);
    }

    /// <summary>Waits until the shared budget grants one request and <paramref name="tokens"/> tokens, and takes them.</summary>
    public async Task ReserveAsync(int tokens, CancellationToken ct)
    {
        await _line.WaitAsync(ct);
        try
        {
            long? waitStarted = null;
            while (true)
            {
                var wait = await TryTakeAsync(requests: 1, tokens, ct);
                if (wait is null) break;
                if (waitStarted is null)
                {
                    waitStarted = Stopwatch.GetTimestamp();
                    MemobaseTelemetry.LlmBudgetWaits.Add(1, new KeyValuePair<string, object?>("project_id", LlmCallContext.ProjectId));
                }
                await Task.Delay(wait.Value, ct);
            }
            if (waitStarted is { } started)
            {
                MemobaseTelemetry.LlmBudgetWaitSeconds.Record(Stopwatch.GetElapsedTime(started).TotalSeconds,
                    new KeyValuePair<string, object?>("project_id", LlmCallContext.ProjectId));
            }
        }
        finally
        {
            _line.Release();
        }
    }

    /// <summary>After a call: charges the difference between the reported and the estimated tokens, and learns the completion length.</summary>
    public async Task CorrectAsync(int estimatedTokens, int promptTokens, int completionTokens)
    {
        lock (_estimateLock) _meanCompletionTokens += (completionTokens - _meanCompletionTokens) * 0.1;
        if (!LimitsTokens) return;
        var delta = promptTokens + completionTokens - estimatedTokens;
        if (delta == 0) return;
        try
        {
            await TakeAsync(0, delta, force: true, CancellationToken.None);
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            LogCorrectionFailed(_logger, ex);
        }
    }

    /// <returns>Null when taken, else how long to wait before asking again (10 ms to 1 s).</returns>
    private async Task<TimeSpan?> TryTakeAsync(int requests, int tokens, CancellationToken ct)
    {
        var levels = await TakeAsync(requests, tokens, force: false, ct);
        if (levels is null) return null;
        var (available, availableTokens) = levels.Value;
        var seconds = 0.0;
        if (_requestsPerSecond > 0 && available < requests) seconds = Math.Max(seconds, (requests - available) / _requestsPerSecond);
        if (_tokensPerSecond > 0)
        {
            var need = Math.Min(tokens, _tokenCap);
            if (availableTokens < need) seconds = Math.Max(seconds, (need - availableTokens) / _tokensPerSecond);
        }
        return TimeSpan.FromSeconds(Math.Clamp(seconds, 0.01, 1));
    }

    /// <summary>One atomic refill-and-take on the shared row.</summary>
    /// <returns>Null when taken (always with <paramref name="force"/>), else the refilled levels that were too low.</returns>
    private async Task<(double Requests, double Tokens)?> TakeAsync(int requests, int tokens, bool force, CancellationToken ct)
    {
        await EnsureRowAsync(ct);
        const string elapsed = "greatest(0, extract(epoch FROM clock_timestamp() - updated_at)::float8)";
        const string r = $"least($3, requests + {elapsed} * $2)";
        const string t = $"least($5, tokens + {elapsed} * $4)";
        await using var conn = await _db.Value.OpenConnectionAsync(ct);
        await using var cmd = new NpgsqlCommand($"""
            WITH taken AS (
                UPDATE llm_budget_buckets SET
                    requests = CASE WHEN $2 > 0 THEN {r} - $6 ELSE 0 END,
                    tokens = CASE WHEN $4 > 0 THEN {t} - $7 ELSE 0 END,
                    updated_at = clock_timestamp()
                WHERE name = $1 AND ($8 OR (($2 <= 0 OR {r} >= $6) AND ($4 <= 0 OR {t} >= least($7, $5))))
                RETURNING 1)
            SELECT EXISTS (SELECT 1 FROM taken), {r}, {t} FROM llm_budget_buckets WHERE name = $1
            """, conn);
        Sql.Add(cmd.Parameters, BucketName, _requestsPerSecond, _requestCap, _tokensPerSecond, _tokenCap, (double)requests, (double)tokens, force);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct) || reader.GetBoolean(0)) return null;
        return (reader.GetDouble(1), reader.GetDouble(2));
    }

    private async Task EnsureRowAsync(CancellationToken ct)
    {
        if (_rowEnsured) return;
        await using var conn = await _db.Value.OpenConnectionAsync(ct);
        await using var cmd = new NpgsqlCommand("""
            INSERT INTO llm_budget_buckets (name, requests, tokens, updated_at) VALUES ($1, $2, $3, clock_timestamp())
            ON CONFLICT (name) DO NOTHING
            """, conn);
        Sql.Add(cmd.Parameters, BucketName, _requestCap, _tokenCap);
        await cmd.ExecuteNonQueryAsync(ct);
        _rowEnsured = true;
    }

    public void Dispose() => _line.Dispose();

    [LoggerMessage(EventId = 4110, Level = LogLevel.Warning, Message = "Correcting the shared LLM token budget failed; the estimate stands")]
    private static partial void LogCorrectionFailed(ILogger logger, Exception ex);
}
