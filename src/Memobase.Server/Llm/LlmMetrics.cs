using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using Memobase.Server.Llm;
using Memobase.Server.Telemetry;

namespace Memobase.Server.Llm;

/// <summary>
/// Gauges of the LLM throttles of this process (one per server host; tests run several in one process):
/// <c>memobase_llm_in_flight</c> (chat completions on the wire), <c>memobase_llm_waiting</c> (calls waiting for a slot or
/// the budget) and <c>memobase_llm_concurrency_limit</c> (the adaptive limit, summed over hosts).
/// </summary>
public static class LlmMetrics
{
    private static readonly ConditionalWeakTable<LlmThrottle, object?> Throttles = new();

    static LlmMetrics()
    {
        MemobaseTelemetry.Meter.CreateObservableGauge("memobase_llm_in_flight", () => Sum(t => t.InFlight),
            description: "LLM chat completions in flight in this process");
        MemobaseTelemetry.Meter.CreateObservableGauge("memobase_llm_waiting", () => Sum(t => t.Waiting),
            description: "LLM calls waiting for a concurrency slot or for the shared budget");
        MemobaseTelemetry.Meter.CreateObservableGauge("memobase_llm_concurrency_limit", () => Sum(t => t.Limit),
            description: "Current adaptive limit of LLM calls in flight (llm_max_concurrency, lowered by 429s)");
    }

    public static void Register(LlmThrottle throttle) => Throttles.AddOrUpdate(throttle, null);

    private static long Sum(Func<LlmThrottle, int> value)
    {
        long total = 0;
        foreach (var (throttle, _) in Throttles) total += value(throttle);
        return total;
    }
}
