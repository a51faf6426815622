using System.Diagnostics;

namespace Memobase.Bench;

/// <summary>One measured phase: successful operations, failures, wall time and latency distribution.</summary>
internal sealed class LoadResult
{
    private readonly long[] _sortedTicks;

    public LoadResult(string name, int concurrency, long[] latencyTicks, long errors, double seconds, CpuUse cpu, string? firstError)
    {
        Name = name;
        Concurrency = concurrency;
        _sortedTicks = latencyTicks;
        Array.Sort(_sortedTicks);
        Errors = errors;
        Seconds = seconds;
        Cpu = cpu;
        FirstError = firstError;
    }

    public string Name { get; }
    public int Concurrency { get; }
    public long Ok => _sortedTicks.Length;
    public long Errors { get; }
    public double Seconds { get; }
    public CpuUse Cpu { get; }
    public string? FirstError { get; }
    public double Rate => Seconds > 0 ? Ok / Seconds : 0;

    /// <summary>Latency quantile in milliseconds (nearest rank).</summary>
    public double Quantile(double q) => _sortedTicks.Length == 0 ? double.NaN : NearestRank(_sortedTicks, q) * 1000.0 / Stopwatch.Frequency;

    public double MeanMs => _sortedTicks.Length == 0 ? double.NaN : _sortedTicks.Average(t => (double)t) * 1000.0 / Stopwatch.Frequency;

    /// <summary>The server's own time per request (its X-Process-Time header), sorted, when the operation reported it.</summary>
    public double[] ServerSideMs { get; set; } = [];

    /// <summary>Server-side quantile in milliseconds (nearest rank), NaN when not reported.</summary>
    public double ServerSideQuantile(double q) => ServerSideMs.Length == 0 ? double.NaN : NearestRank(ServerSideMs, q);

    /// <summary>The value at nearest rank <paramref name="q"/> of a sorted, non-empty array.</summary>
    private static T NearestRank<T>(T[] sorted, double q) => sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1)];

    /// <summary>CPU milliseconds per successful operation of one party.</summary>
    public double PerOpMs(double cpuSeconds) => Ok > 0 ? cpuSeconds * 1000.0 / Ok : double.NaN;
}

/// <summary>
/// Collects the server-side duration of each successful request from the server's <c>X-Process-Time</c> header (seconds,
/// measured from the server's first middleware to the start of the response): client latency minus this is time in
/// Kestrel, the kernel and the load generator.
/// </summary>
internal sealed class ServerTimings
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<double> _ms = new();

    public void Record(System.Net.Http.HttpResponseMessage response)
    {
        if (response.Headers.TryGetValues("X-Process-Time", out var values)
            && double.TryParse(values.FirstOrDefault(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var seconds))
        {
            _ms.Enqueue(seconds * 1000);
        }
    }

    /// <summary>Everything recorded since the last call, sorted; clears the collector.</summary>
    public double[] Drain()
    {
        var list = new List<double>(_ms.Count);
        while (_ms.TryDequeue(out var ms)) list.Add(ms);
        var sorted = list.ToArray();
        Array.Sort(sorted);
        return sorted;
    }
}

/// <summary>
/// Closed-loop load: <c>concurrency</c> workers each issue one operation at a time, back to back. Every phase is bounded
/// by time AND by operation count. Latency = wall time of one operation as seen by the worker.
/// </summary>
internal static class LoadRunner
{
    /// <summary>An operation: returns null on success, else an error description. Gets the worker index and its random source.</summary>
    public delegate ValueTask<string?> Operation(int worker, Random random, CancellationToken ct);

    /// <param name="ratePerSecond">
    /// 0: closed loop (each worker starts its next operation as soon as the previous one ends). Otherwise open loop at this
    /// offered rate: operation k of worker w is due at t0 + (k·concurrency + w) / rate, and its latency is measured from that
    /// due time (so time spent behind schedule counts: no coordinated omission).
    /// </param>
    public static async Task<LoadResult> RunAsync(string name, int concurrency, TimeSpan duration, long maxOps, Operation op,
        Func<CpuSnapshot> snapshot, int seed, double ratePerSecond = 0)
    {
        using var stop = new CancellationTokenSource(duration);
        // Operations in flight when the phase ends are allowed to finish (and counted); this only guards against hangs.
        using var abort = new CancellationTokenSource(duration + TimeSpan.FromSeconds(30));
        long started = 0, errors = 0;
        string? firstError = null;
        var perWorker = new List<long>[concurrency];
        var capacity = (int)Math.Min(maxOps / concurrency + 1, 1_000_000);
        var before = snapshot();
        var t0 = Stopwatch.GetTimestamp();
        var workers = Enumerable.Range(0, concurrency).Select(w => Task.Run(async () =>
        {
            var random = new Random(seed * 1000 + w);
            var list = perWorker[w] = new List<long>(capacity);
            for (long k = 0; !stop.IsCancellationRequested && Interlocked.Increment(ref started) <= maxOps; k++)
            {
                var s = Stopwatch.GetTimestamp();
                if (ratePerSecond > 0)
                {
                    var due = t0 + (long)((k * concurrency + w) / ratePerSecond * Stopwatch.Frequency);
                    var wait = Stopwatch.GetElapsedTime(s, due);
                    if (wait > TimeSpan.Zero)
                    {
                        try
                        {
                            await Task.Delay(wait, stop.Token);
                        }
                        catch (OperationCanceledException)
                        {
                            break;
                        }
                        s = Stopwatch.GetTimestamp(); // on time: measure from the actual start (timer slack is not latency)
                    }
                    else
                    {
                        s = due; // behind schedule: the wait for a free worker is part of the latency
                    }
                }
                string? error;
                try
                {
                    error = await op(w, random, abort.Token);
                }
                catch (OperationCanceledException) when (abort.IsCancellationRequested)
                {
                    error = "aborted: no answer 30 s after the end of the phase";
                }
                catch (Exception ex) when (ex is HttpRequestException or IOException or TimeoutException or TaskCanceledException
                                               or Npgsql.NpgsqlException)
                {
                    error = ex.GetType().Name + ": " + ex.Message;
                }
                var e = Stopwatch.GetTimestamp();
                if (error is null) list.Add(e - s);
                else
                {
                    Interlocked.Increment(ref errors);
                    Interlocked.CompareExchange(ref firstError, error, null);
                }
            }
        })).ToArray();
        await Task.WhenAll(workers);
        var seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        var after = snapshot();
        var all = perWorker.Where(l => l is not null).SelectMany(l => l).ToArray();
        return new LoadResult(name, concurrency, all, errors, seconds, CpuUse.Between(before, after), firstError);
    }
}
