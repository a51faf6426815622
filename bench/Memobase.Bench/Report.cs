using System.Globalization;
using System.Text;

namespace Memobase.Bench;

/// <summary>The markdown results: machine facts, one table per scenario, target verdicts, memory.</summary>
internal static class Report
{
    private const string LoadHeader =
        "| path | requests | rate /s | p50 ms | p99 ms | p99.9 ms | max ms | errors | CPU ms/req server | CPU ms/req PostgreSQL | CPU ms/req bench | machine busy | other processes (cores) |";

    private const string LoadRule = "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|";

    public static string Build(BenchOptions o, IReadOnlyDictionary<string, string> facts, IReadOnlyList<string> explain,
        LoadResult? capServer, LoadResult? capPaced, LoadResult? capDirect, LoadResult? capDefaultLogging, LoadResult? inserts,
        IReadOnlyList<string> insertExplain, IReadOnlyList<FlushRound> rounds, IReadOnlyList<ServerProcess> servers, FakeLlm llm,
        IReadOnlyList<(string Phase, long Ops, List<StatementStat> Top)> statements,
        IReadOnlyList<(string Phase, List<(string State, double AvgBackends)> States)> waits, double totalSeconds, string notes)
    {
        var sb = new StringBuilder();
        void L(string s = "") => sb.Append(s).Append('\n');
        string F(double v, string fmt = "0.00") => double.IsNaN(v) ? "–" : v.ToString(fmt, CultureInfo.InvariantCulture);
        string Met(bool ok) => ok ? "**met**" : "**MISSED**";

        L($"## Results {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC (bench run {totalSeconds:0} s)");
        L();
        foreach (var (k, v) in facts) L($"- {k}: {v}");
        L($"- load: {o.Connections} concurrent connections, closed loop, {o.WarmupSeconds:0} s warm-up then {o.CapacitySeconds:0} s (capacity) / {o.InsertSeconds:0} s (inserts) measured; server log level: {(o.ServerLogLevel.Length > 0 ? o.ServerLogLevel : "default")}");
        L();

        // ---- 1
        if (capServer is not null && capDirect is not null)
        {
            L("### 1. GET capacity (`status=idle`, 5 ids per user, users uniformly random)");
            L();
            L(LoadHeader);
            L(LoadRule);
            foreach (var r in new[] { capServer, capPaced, capDirect, capDefaultLogging }.OfType<LoadResult>()) L(LoadRow(r));
            var ratio = capServer.Rate / capDirect.Rate;
            L();
            L($"Server rate / direct rate = **{ratio:P0}** (target ≥ 50%: {Met(ratio >= 0.5)}); server p99 = **{F(capServer.Quantile(0.99))} ms** (target < 10 ms: {Met(capServer.Quantile(0.99) < 10)}).");
            L(ServerSideLine(capServer));
            if (capPaced is not null)
            {
                L($"Open loop at {capPaced.Rate:N0}/s ({(o.PacedRate > 0 ? "a fixed offered rate" : $"{o.PacedFraction:P0} of the closed-loop rate")}, latency from each request's due time): p50 {F(capPaced.Quantile(0.5))} ms, p99 **{F(capPaced.Quantile(0.99))} ms**.");
            }
            if (capDefaultLogging is not null)
            {
                var r2 = capDefaultLogging.Rate / capDirect.Rate;
                L($"With the default logging: {r2:P0} of direct, p99 {F(capDefaultLogging.Quantile(0.99))} ms.");
            }
            L();
            L("EXPLAIN (ANALYZE, BUFFERS) of the query for one user, after the load:");
            L();
            L("```");
            foreach (var line in explain) L(line);
            L("```");
            L();
        }

        // ---- 2
        if (inserts is not null)
        {
            L("### 2. Chat inserts (`POST /api/v1/blobs/insert/{user}`, 2-message chat, ~70 tokens; no flush triggered)");
            L();
            L(LoadHeader);
            L(LoadRule);
            L(LoadRow(inserts));
            L();
            L($"Rate **{inserts.Rate:N0}/s** (target ≥ 1,500/s: {Met(inserts.Rate >= 1500)}); p99 **{F(inserts.Quantile(0.99))} ms** (target < 25 ms: {Met(inserts.Quantile(0.99) < 25)}).");
            L(ServerSideLine(inserts));
            L();
            L("EXPLAIN (ANALYZE, BUFFERS) of one insert (the server's statement, rolled back):");
            L();
            L("```");
            foreach (var line in insertExplain) L(line);
            L("```");
            L();
        }

        // ---- 3
        if (rounds.Count > 0)
        {
            L($"### 3. Flush drain ({o.FlushUsers:N0} new users × {o.BlobsPerFlushUser} chat blobs, all flushed with `wait_process=false`, instant fake LLM)");
            L();
            L("| worker_concurrency | jobs done / failed | events | flush requests s | drain s | **jobs/s** (drain) | jobs/s (DB: first created → last finished) | (processing_ms − llm_ms) / job | p50 / p99 of that | llm_ms / job | (finished − started − llm_ms) / job | drain s × concurrency / job | queue wait avg ms | CPU ms/job server | CPU ms/job PostgreSQL | CPU ms/job fake LLM+bench | machine busy | other processes (cores) |");
            L("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var r in rounds)
            {
                var jobs = Math.Max(1, r.Done);
                L($"| {r.WorkerConcurrency} | {r.Done} / {r.Failed} | {r.Events} | {F(r.EnqueueSeconds)} | {F(r.DrainSeconds)} | **{F(r.Done / r.DrainSeconds, "0")}** | {F(r.Done / r.DbSpanSeconds, "0")} | " +
                  $"**{F((r.SumProcessingMs - r.SumLlmMs) / jobs, "0.0")} ms** | {F(r.P50OutsideMs, "0")} / {F(r.P99OutsideMs, "0")} ms | {F(r.SumLlmMs / jobs, "0.0")} ms | {F((r.SumSpanMs - r.SumLlmMs) / jobs, "0.0")} ms | " +
                  $"{F(r.DrainSeconds * 1000 * r.WorkerConcurrency / jobs, "0.0")} ms | {F(r.AvgQueueWaitMs, "0")} | {F(r.Cpu.Server * 1000 / jobs)} | {F(r.Cpu.Postgres * 1000 / jobs)} | {F(r.Cpu.Bench * 1000 / jobs)} | {F(r.Cpu.MachineBusyPercent, "0")}% | {F(r.Cpu.OtherCores)} |");
            }
            L();
            // Targets are judged on the server's default (the first concurrency, 8); the others show how it scales. With more
            // loops than cores, the wall time per job is mostly waiting for a core or a pooled connection, not work.
            foreach (var round in rounds)
            {
                var rate = round.Done / round.DrainSeconds;
                var cpuPerJob = round.Cpu.Server * 1000 / Math.Max(1, round.Done);
                var outside = (round.SumProcessingMs - round.SumLlmMs) / Math.Max(1, round.Done);
                var verdict = round == rounds[0]
                    ? $" (targets, at the default concurrency: ≥ 200 jobs/s {Met(rate >= 200)}; < 10 ms {Met(cpuPerJob < 10)} by CPU, {Met(outside < 10)} by wall time)"
                    : "";
                L($"- worker_concurrency={round.WorkerConcurrency}: **{rate:0} jobs/s**, **{cpuPerJob:0.00} ms server CPU per job**, " +
                  $"{outside:0.0} ms of (processing_ms − llm_ms) wall time per job{verdict}.");
            }
            L();
            L($"Each job: {rounds[0].LlmCalls / Math.Max(1, rounds[0].Done):0.0} LLM calls, {rounds[0].Entries / Math.Max(1, rounds[0].Done):0.0} entries; fake LLM requests by stage over the run: " +
              string.Join(", ", llm.ByStage.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key} {kv.Value:N0}")) + ".");
            L($"Leftover buffer entries of flushed users (processed chat blobs are deleted): {string.Join(", ", rounds.Select(r => r.LeftEntries))}.");
            L();
        }

        // ---- waits
        if (waits.Count > 0)
        {
            L("### PostgreSQL backend states (pg_stat_activity sampled every 50 ms; average number of active client backends in each state)");
            L();
            L("\"CPU\" = no wait event: executing, or runnable and waiting for a core. `Lock:*` = row/transaction locks, `LWLock:*` = internal contention, `IO:*` = I/O.");
            L();
            L("| phase | active backends by state |");
            L("|---|---|");
            foreach (var (phase, states) in waits)
            {
                L($"| {phase} | {string.Join(", ", states.Take(6).Select(x => $"{x.State} {x.AvgBackends:0.00}"))} (total {states.Sum(x => x.AvgBackends):0.00}) |");
            }
            L();
        }

        // ---- statements
        if (statements.Count > 0)
        {
            L("### PostgreSQL statements per measured phase (pg_stat_statements, top by total execution time)");
            L();
            L("Execution time inside PostgreSQL's executor only (no parse/bind/commit/network); \"per op\" divides by the phase's successful operations (requests, or finished jobs).");
            L();
            foreach (var (phase, ops, top) in statements)
            {
                L($"<details><summary>{phase}: {ops:N0} ops, {top.Sum(t => t.TotalMs) / Math.Max(1, ops):0.000} ms executor time per op in these statements</summary>");
                L();
                L("| calls per op | mean ms | ms per op | statement |");
                L("|---:|---:|---:|---|");
                foreach (var t in top)
                {
                    var q = t.Query.Length > 160 ? t.Query[..160] + "…" : t.Query;
                    L($"| {F((double)t.Calls / Math.Max(1, ops), "0.00")} | {F(t.MeanMs, "0.000")} | {F(t.TotalMs / Math.Max(1, ops), "0.000")} | `{q.Replace("|", "\\|", StringComparison.Ordinal)}` |");
                }
                L();
                L("</details>");
                L();
            }
        }

        // ---- 4
        L("### 4. Server memory");
        L();
        L("| server process | RSS after each phase (MiB) | peak VmHWM (MiB) |");
        L("|---|---|---:|");
        foreach (var s in servers)
        {
            L($"| {s.Label} | {string.Join("; ", s.RssAfter.Select(p => $"{p.Phase}: {p.RssMb:0}"))} | **{s.PeakMb:0}** |");
        }
        L();
        if (notes.Length > 0)
        {
            L("Checks and notes:");
            L();
            sb.Append(notes);
            L();
        }
        return sb.ToString();

        string ServerSideLine(LoadResult r) => r.ServerSideMs.Length == 0
            ? "Server-side time: not reported."
            : $"Server-side time (its X-Process-Time header: first middleware to response start; the rest of the latency is Kestrel, " +
              $"kernel and load generator): p50 {F(r.ServerSideQuantile(0.5))} ms, p99 {F(r.ServerSideQuantile(0.99))} ms, " +
              $"p99.9 {F(r.ServerSideQuantile(0.999))} ms, max {F(r.ServerSideQuantile(1))} ms.";

        string LoadRow(LoadResult r) =>
            $"| {r.Name} | {r.Ok:N0} | **{F(r.Rate, "N0")}** | {F(r.Quantile(0.5))} | **{F(r.Quantile(0.99))}** | {F(r.Quantile(0.999))} | {F(r.Quantile(1))} | {r.Errors} | " +
            $"{F(r.PerOpMs(r.Cpu.Server), "0.000")} | {F(r.PerOpMs(r.Cpu.Postgres), "0.000")} | {F(r.PerOpMs(r.Cpu.Bench), "0.000")} | {F(r.Cpu.MachineBusyPercent, "0")}% | {F(r.Cpu.OtherCores)} |";
    }
}
