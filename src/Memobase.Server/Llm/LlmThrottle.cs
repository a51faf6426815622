using System.Diagnostics;
using Microsoft.Extensions.Options;

namespace Memobase.Server.Llm;

/// <summary>
/// Paces this process's chat completions: at most <see cref="Limit"/> calls in flight, and, when a budget is configured
/// (<c>llm_requests_per_minute</c>, <c>llm_tokens_per_minute</c>), no call before the budget shared by all replicas
/// (<see cref="LlmBudget"/>) grants it. The limit starts at <c>llm_max_concurrency</c> and adapts to the provider:
/// every 429 sets it to 0.75 × min(limit, calls in flight) (at most once per max(1 s, Retry-After)), every success adds 1 / limit (about +1 per
/// round of calls), up to <c>llm_max_concurrency</c> again — additive increase, multiplicative decrease, so a provider's
/// limit is found rather than hammered. Waiting callers are served in arrival order. Thread-safe singleton.
/// </summary>
public sealed class LlmThrottle
{
    private const double DecreaseFactor = 0.75;

    private readonly Lock _lock = new();
    private readonly LinkedList<TaskCompletionSource> _queue = new();
    private readonly LlmBudget _budget;
    private readonly int _max;
    private double _limit;
    private int _inFlight;
    private int _waiting;
    private long _noDecreaseBefore;

    public LlmThrottle(IOptions<LlmOptions> options, LlmBudget budget)
    {
        _budget = budget;
        _max = options.Value.LlmMaxConcurrency;
        _limit = _max;
        LlmMetrics.Register(this);
    }

    /// <summary>The current concurrency limit (between 1 and <c>llm_max_concurrency</c>).</summary>
    public int Limit
    {
        get
        {
            lock (_lock) return CurrentLimit;
        }
    }

    /// <summary>Calls in flight now.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Calls waiting for a slot or for the budget now. The worker claims no new job while any call waits.</summary>
    public int Waiting => Volatile.Read(ref _waiting);

    private int CurrentLimit => Math.Max(1, (int)_limit);

    /// <summary>
    /// Waits for a slot, then for the budget (one request and <paramref name="estimatedTokens"/> tokens). Dispose the
    /// result when the call is over (a call waiting out a 429 keeps its slot).
    /// </summary>
    public async Task<Slot> AcquireAsync(int estimatedTokens, CancellationToken ct)
    {
        Interlocked.Increment(ref _waiting);
        try
        {
            await AcquireSlotAsync(ct);
            try
            {
                if (_budget.IsEnabled) await _budget.ReserveAsync(estimatedTokens, ct);
            }
            catch
            {
                ReleaseSlot();
                throw;
            }
            return new Slot(this);
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }
    }

    /// <summary>Before a call holding a slot is sent again (after a 429): waits for the budget of one more request.</summary>
    public async Task ReserveBudgetAsync(int estimatedTokens, CancellationToken ct)
    {
        if (!_budget.IsEnabled) return;
        Interlocked.Increment(ref _waiting);
        try
        {
            await _budget.ReserveAsync(estimatedTokens, ct);
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }
    }

    private async Task AcquireSlotAsync(CancellationToken ct)
    {
        TaskCompletionSource waiter;
        LinkedListNode<TaskCompletionSource> node;
        lock (_lock)
        {
            if (_queue.Count == 0 && _inFlight < CurrentLimit)
            {
                _inFlight++;
                return;
            }
            waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            node = _queue.AddLast(waiter);
        }
        await using var registration = ct.Register(() =>
        {
            lock (_lock)
            {
                if (node.List is null) return; // already granted: the caller owns the slot
                _queue.Remove(node);
            }
            waiter.TrySetCanceled(ct);
        });
        await waiter.Task;
    }

    private void ReleaseSlot()
    {
        lock (_lock)
        {
            _inFlight--;
            GrantLocked();
        }
    }

    private void GrantLocked()
    {
        while (_queue.First is { } first && _inFlight < CurrentLimit)
        {
            _queue.RemoveFirst();
            _inFlight++;
            first.Value.TrySetResult();
        }
    }

    /// <summary>The provider answered 429: lower the limit (once per max(1 s, <paramref name="retryAfter"/>)).</summary>
    public void RateLimited(TimeSpan? retryAfter)
    {
        var now = Stopwatch.GetTimestamp();
        lock (_lock)
        {
            if (now < _noDecreaseBefore) return;
            // From the calls actually in flight: cutting an unused headroom (limit 256, 40 in flight) would change nothing.
            _limit = Math.Max(1, Math.Min(_limit, _inFlight) * DecreaseFactor);
            var cooldown = retryAfter is { } r && r > TimeSpan.FromSeconds(1) ? r : TimeSpan.FromSeconds(1);
            _noDecreaseBefore = now + (long)(cooldown.TotalSeconds * Stopwatch.Frequency);
        }
    }

    /// <summary>A call succeeded: raise the limit by 1 / limit, up to <c>llm_max_concurrency</c>.</summary>
    public void Succeeded()
    {
        lock (_lock)
        {
            if (_limit >= _max) return;
            _limit = Math.Min(_max, _limit + 1 / _limit);
            GrantLocked();
        }
    }

    /// <summary>A granted slot; disposing it frees the slot once.</summary>
    public sealed class Slot : IDisposable
    {
        private LlmThrottle? _owner;

        internal Slot(LlmThrottle owner) => _owner = owner;

        public void Dispose() => Interlocked.Exchange(ref _owner, null)?.ReleaseSlot();
    }
}
