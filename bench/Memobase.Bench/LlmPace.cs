using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Npgsql;

namespace Memobase.Bench;

/// <summary>One drain of scenario 6: jobs, time, the fake provider's view of the calls.</summary>
internal sealed record PaceRound(string Label, int Users, int Jobs, int Done, int Failed, int AttemptsOn429, int MaxAttempts, double DrainSeconds,
    int Calls, int Rejected, double WindowRate, double WindowSeconds, int WindowCalls, int WindowRejected, int PeakInFlight, string Load);

internal sealed partial class Bench
{
    private readonly StringBuilder _pace = new();

    // ------------------------------------------------------------------------------------------ scenario 6: LLM pace (issue 14)

    /// <summary>
    /// 6a: a 1 s ± 20 % LLM without a limit: drain rate, peak RSS, capacity and insert p99 (open loop) idle and during the
    /// drain. 6b: a provider limit of N requests/min (429 + Retry-After) with no budget configured. 6c: the same limit
    /// with <c>llm_requests_per_minute</c> = N. 6d: two server processes sharing that budget.
    /// </summary>
    private async Task LlmPaceAsync()
    {
        var latency = TimeSpan.FromMilliseconds(o.LlmLatencyMs);
        _llm.Latency = latency;
        _llm.LatencyJitter = o.LlmJitter;
        var rpm = o.ProviderRequestsPerMinute;
        _pace.AppendLine(CultureInfo.InvariantCulture, $"""

            ### 6. LLM pace (issue 14): fake LLM answering in {latency.TotalMilliseconds:0} ms ± {o.LlmJitter:P0}

            Each user has {o.BlobsPerFlushUser} chat blobs; all users are flushed with `wait_process=false` (32 requests at a time) and the
            bench polls `flush_jobs` until every job is finished. "Provider rate" = successful LLM requests per second the fake
            received between 10 s after the first request and 5 s before the last (so neither the provider's initial burst
            allowance nor the drain's tail counts). "Attempts spent on 429" = failed attempts whose error names HTTP 429.

            | scenario | users | jobs done / failed | drain s | jobs/s | LLM requests | 429 answers | provider rate /s (window) | 429 answers in the window | max attempts of a job | attempts spent on 429 | peak requests in flight at the fake | load average (1/5/15 min) |
            |---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|
            """);

            // ---- 6a: no limit
        _llm.RequestsPerMinute = 0;
        await StartServerAsync(256, o.ServerLogLevel, "6a 1 s LLM");
        var capIdle = await Phase("6a capacity idle, open loop", 10, CapacityHttpOp(), 61, rate: o.PaceProbeRate);
        var insIdle = await Phase("6a inserts idle, open loop", 10, InsertOp(), 62, rate: o.PaceProbeRate / 2);
        LoadResult? capDrain = null, insDrain = null;
        var http = _http;
        var a = await PaceDrainAsync("6a: 1 s LLM, no limit, defaults", o.PaceUsers, [http], async () =>
        {
            await Task.Delay(TimeSpan.FromSeconds(5)); // the drain at full speed
            capDrain = await LoadRunner.RunAsync("6a capacity during drain", o.Connections, TimeSpan.FromSeconds(10), o.MaxOpsPerPhase,
                CapacityHttpOp(), Snapshot, 63, o.PaceProbeRate);
            insDrain = await LoadRunner.RunAsync("6a inserts during drain", o.Connections, TimeSpan.FromSeconds(10), o.MaxOpsPerPhase,
                InsertOp(), Snapshot, 64, o.PaceProbeRate / 2);
        });
        var peakMb = Proc.Memory(_server.Pid).HwmKb / 1024.0;
        _server.RecordRss("6a after the drain");

        // ---- 6b: provider limit, no budget
        _llm.RequestsPerMinute = rpm;
        await StartServerAsync(256, o.ServerLogLevel, $"6b provider {rpm}/min, no budget");
        var b = await PaceDrainAsync($"6b: provider limit {rpm}/min, no budget", o.PaceLimitedUsers, [_http]);

        // ---- 6c: same limit, llm_requests_per_minute
        var budgetEnv = new Dictionary<string, string> { ["MEMOBASE_LLM_REQUESTS_PER_MINUTE"] = rpm.ToString(CultureInfo.InvariantCulture) };
        await Database.ScalarAsync<long>(_db, "WITH d AS (DELETE FROM llm_budget_buckets RETURNING 1) SELECT count(*) FROM d");
        await StartServerAsync(256, o.ServerLogLevel, $"6c provider {rpm}/min, budget {rpm}/min", budgetEnv);
        var c = await PaceDrainAsync($"6c: provider limit {rpm}/min, llm_requests_per_minute={rpm}", o.PaceLimitedUsers, [_http]);

        // ---- 6d: two processes, one budget
        await Database.ScalarAsync<long>(_db, "WITH d AS (DELETE FROM llm_budget_buckets RETURNING 1) SELECT count(*) FROM d");
        await StartServerAsync(256, o.ServerLogLevel, $"6d replica A, budget {rpm}/min", budgetEnv);
        var first = _http;
        var firstServer = _server;
        await StartServerAsync(256, o.ServerLogLevel, $"6d replica B, budget {rpm}/min", budgetEnv, keepPrevious: true);
        var d = await PaceDrainAsync($"6d: two processes, provider limit {rpm}/min, shared llm_requests_per_minute={rpm}", o.PaceLimitedUsers, [first, _http]);
        var workers = await Database.ScalarAsync<long>(_db, "SELECT count(DISTINCT split_part(worker, ':', 2)) FROM flush_job_attempts WHERE started_at > now() - make_interval(secs => $1)",
            d.DrainSeconds + 5);
        firstServer.Stop();
        first.Dispose();
        _llm.RequestsPerMinute = 0;
        _llm.Latency = TimeSpan.Zero;

        foreach (var r in new[] { a, b, c, d })
        {
            _pace.AppendLine(CultureInfo.InvariantCulture,
                $"| {r.Label} | {r.Users} | {r.Done} / {r.Failed} | {r.DrainSeconds:0.0} | **{r.Done / r.DrainSeconds:0.0}** | {r.Calls:N0} | {r.Rejected:N0} ({(r.Calls == 0 ? 0 : 100.0 * r.Rejected / r.Calls):0.0} %) | " +
                $"{(r.WindowSeconds > 0 ? $"**{r.WindowRate:0.00}** over {r.WindowSeconds:0} s" : "–")} | " +
                $"{r.WindowRejected:N0} of {r.WindowCalls:N0} ({(r.WindowCalls == 0 ? 0 : 100.0 * r.WindowRejected / r.WindowCalls):0.0} %) | {r.MaxAttempts} | {r.AttemptsOn429} | {r.PeakInFlight} | {r.Load} |");
        }
        string Ratio(double x, double y) => double.IsNaN(x) || double.IsNaN(y) || y == 0 ? "–" : $"{x / y:0.00}×";
        _pace.AppendLine(CultureInfo.InvariantCulture, $"""

            6a: peak RSS of the server process (VmHWM) **{peakMb:0} MB**. Latency probes, open loop (capacity {o.PaceProbeRate}/s, inserts {o.PaceProbeRate / 2}/s, 10 s each), idle before the drain and during it:

            | probe | idle p50 / p99 ms | during drain p50 / p99 ms | p99 during / idle | errors during |
            |---|---|---|---:|---:|
            | capacity | {capIdle.Quantile(0.5):0.00} / {capIdle.Quantile(0.99):0.00} | {capDrain?.Quantile(0.5):0.00} / {capDrain?.Quantile(0.99):0.00} | {Ratio(capDrain?.Quantile(0.99) ?? double.NaN, capIdle.Quantile(0.99))} | {capDrain?.Errors} |
            | inserts | {insIdle.Quantile(0.5):0.00} / {insIdle.Quantile(0.99):0.00} | {insDrain?.Quantile(0.5):0.00} / {insDrain?.Quantile(0.99):0.00} | {Ratio(insDrain?.Quantile(0.99) ?? double.NaN, insIdle.Quantile(0.99))} | {insDrain?.Errors} |

            6d: worker processes that ran jobs: {workers}; the provider's limit is {rpm / 60.0:0.00}/s.
            """);
    }

    /// <summary>Creates <paramref name="n"/> users with chats, flushes them all through <paramref name="clients"/> in turn, polls until done.</summary>
    private async Task<PaceRound> PaceDrainAsync(string label, int n, IReadOnlyList<HttpClient> clients, Func<Task>? during = null)
    {
        var users = new List<Guid>(n);
        await using (var cmd = _db.CreateCommand("INSERT INTO users (project_id, id) SELECT $1, gen_random_uuid() FROM generate_series(1, $2) RETURNING id"))
        {
            cmd.Parameters.Add(new NpgsqlParameter { Value = Database.Project });
            cmd.Parameters.Add(new NpgsqlParameter { Value = n });
            await using var reader = await cmd.ExecuteReaderAsync();
            while (await reader.ReadAsync()) users.Add(reader.GetGuid(0));
        }
        var userArray = users.ToArray();
        var random = new Random(11);
        var bodies = Enumerable.Range(0, Chats.Length).Select(i => ChatBody(new Random(i))).ToArray();
        var work = users.SelectMany(u => Enumerable.Range(0, o.BlobsPerFlushUser).Select(_ => (u, bodies[random.Next(bodies.Length)]))).ToList();
        await Parallel.ForEachAsync(work, new ParallelOptions { MaxDegreeOfParallelism = o.Connections }, async (item, ct) =>
        {
            using var content = new ByteArrayContent(item.Item2);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var response = await clients[0].PostAsync(new Uri($"/api/v1/blobs/insert/{item.u}", UriKind.Relative), content, ct);
            if (await CheckAsync(response, ct) is { } error) throw new InvalidOperationException($"{label}: insert failed: {error}");
        });

        await WaitForQuietAsync(label);
        _llm.ResetCalls();
        var t0 = Stopwatch.GetTimestamp();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(o.PaceDrainTimeoutSeconds));
        var flushing = Parallel.ForAsync(0, n, new ParallelOptions { MaxDegreeOfParallelism = o.Connections, CancellationToken = timeout.Token }, async (i, ct) =>
        {
            using var response = await clients[i % clients.Count].PostAsync(new Uri($"/api/v1/users/buffer/{userArray[i]}/chat?wait_process=false", UriKind.Relative), null, ct);
            if (await CheckAsync(response, ct) is { } error) throw new InvalidOperationException($"{label}: flush failed: {error}");
        });
        var probes = during is null ? Task.CompletedTask : Task.Run(during);
        long finished = 0, jobs = 0;
        while (!timeout.IsCancellationRequested)
        {
            await Task.Delay(250);
            await using var cmd = _db.CreateCommand("""
                SELECT count(*) FILTER (WHERE status IN ('done', 'failed', 'merged')), count(*) FROM flush_jobs WHERE project_id = $1 AND user_id = ANY($2)
                """);
            cmd.Parameters.Add(new NpgsqlParameter { Value = Database.Project });
            cmd.Parameters.Add(new NpgsqlParameter { Value = userArray });
            await using var reader = await cmd.ExecuteReaderAsync();
            await reader.ReadAsync();
            finished = reader.GetInt64(0);
            jobs = reader.GetInt64(1);
            if (flushing.IsCompleted && finished == jobs && jobs >= n) break;
        }
        var drainSeconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        await flushing;
        await probes;
        if (finished < jobs || jobs < n) _pace.AppendLine(CultureInfo.InvariantCulture, $"- {label}: TIMEOUT with {finished}/{jobs} jobs finished.");

        await using var stats = _db.CreateCommand("""
            SELECT count(*) FILTER (WHERE j.status = 'done')::int, count(*) FILTER (WHERE j.status = 'failed')::int, coalesce(max(j.attempts), 0)::int,
                (SELECT count(*) FROM flush_job_attempts a JOIN flush_jobs k ON k.id = a.job_id
                 WHERE k.project_id = $1 AND k.user_id = ANY($2) AND a.outcome IN ('failed', 'expired') AND a.error LIKE '%429%')::int
            FROM flush_jobs j WHERE j.project_id = $1 AND j.user_id = ANY($2)
            """);
        stats.Parameters.Add(new NpgsqlParameter { Value = Database.Project });
        stats.Parameters.Add(new NpgsqlParameter { Value = userArray });
        await using var r = await stats.ExecuteReaderAsync();
        await r.ReadAsync();
        var calls = _llm.Calls;
        var ok = calls.Where(c => c.Status == 200).Select(c => c.At).ToList();
        double windowRate = 0, windowSeconds = 0;
        int windowCalls = 0, windowRejected = 0;
        if (calls.Count > 0)
        {
            var from = calls[0].At + (long)(10 * Stopwatch.Frequency);
            var to = calls[^1].At - (long)(5 * Stopwatch.Frequency);
            if (to > from)
            {
                windowSeconds = (to - from) / (double)Stopwatch.Frequency;
                windowRate = ok.Count(t => t >= from && t <= to) / windowSeconds;
                windowCalls = calls.Count(c => c.At >= from && c.At <= to);
                windowRejected = calls.Count(c => c.At >= from && c.At <= to && c.Status == 429);
            }
        }
        var load = File.ReadAllText("/proc/loadavg").Split(' ');
        var round = new PaceRound(label, n, (int)jobs, r.GetInt32(0), r.GetInt32(1), r.GetInt32(3), r.GetInt32(2), drainSeconds, calls.Count,
            calls.Count(c => c.Status == 429), windowRate, windowSeconds, windowCalls, windowRejected, _llm.PeakInFlight, $"{load[0]} / {load[1]} / {load[2]}");
        Log($"{label}: {round.Done}/{round.Jobs} done, {round.Failed} failed in {drainSeconds:0.0} s = {round.Done / drainSeconds:0.0} jobs/s; " +
            $"{round.Calls} LLM requests, {round.Rejected} answered 429; provider rate {windowRate:0.00}/s over {windowSeconds:0} s; peak in flight {round.PeakInFlight}");
        return round;
    }

    // ------------------------------------------------------------------------------------------ scenario 7: prompt tokens per flush

    private static readonly (string Topic, string SubTopic, string Content)[] TwentyProfiles =
    [
        ("basic_info", "name", "Alex"), ("basic_info", "age", "34"), ("basic_info", "gender", "female"),
        ("basic_info", "location", "Reno, Nevada"), ("basic_info", "language", "English, some Japanese"),
        ("contact_info", "email", "alex@example.com"), ("education", "degree", "BSc Nursing"), ("education", "school", "University of Nevada"),
        ("demographics", "marital_status", "married"), ("demographics", "spouse_name", "Sam"),
        ("work", "company", "Renown Regional Medical Center"), ("work", "title", "Nurse"), ("work", "working_industry", "healthcare"),
        ("interest", "sports", "marathon running; hiking"), ("interest", "foods", "pastéis de nata"), ("interest", "travel", "Lisbon with her sister"),
        ("interest", "pets", "beagle mix named Biscuit"), ("psychological", "goals", "learn Japanese; run a marathon under 4 hours"),
        ("life_event", "family", "mother's 60th birthday next month"), ("health", "allergies", "peanuts"),
    ];

    /// <summary>A conversation of <paramref name="messages"/> messages from the bench's chat lines (deterministic).</summary>
    private static ChatLine[] Conversation(int messages) => Enumerable.Range(0, messages)
        .Select(i => new ChatLine(i % 2 == 0 ? "user" : "assistant", i % 2 == 0 ? Chats[i / 2 % Chats.Length] : Answers[i / 2 % Answers.Length]))
        .ToArray();

    /// <summary>One chat message of a scenario-7 conversation (serialised as <c>{role, content}</c>).</summary>
    private sealed record ChatLine(
        [property: System.Text.Json.Serialization.JsonPropertyName("role")] string Role,
        [property: System.Text.Json.Serialization.JsonPropertyName("content")] string Content);

    /// <summary>
    /// Prompt tokens per flush for fixed conversations (4, 20 and 80 messages; empty profile and a 20-entry profile), from
    /// the per-call records of each job (<c>flush_job_attempts.llm_call_log</c>). The fake answers without <c>usage</c>, so
    /// the server counts every prompt with its o200k tokenizer. The fake's replies grow with the input
    /// (<see cref="FakeLlm.EchoReplies"/>): one summary bullet per user message, one fact per bullet filed under the
    /// 20 profile slots in turn (so with the 20-entry profile every merge item has a current memo). Next to each flush,
    /// upstream's prompts for the same chats, profiles and fake replies (<see cref="UpstreamPrompts"/>), counted with the
    /// same tokenizer (system prompt + user message, as the server counts ours).
    /// </summary>
    private async Task CostPerFlushAsync()
    {
        _llm.OmitUsage = true;
        _llm.EchoReplies = true;
        var slots = TwentyProfiles.Select(p => (p.Topic, p.SubTopic)).ToList();
        _llm.EchoSlots = slots;
        await StartServerAsync(256, o.ServerLogLevel, "7 prompt tokens per flush");
        var stages = new[] { "entry_summary", "extract", "merge" };
        var rows = new List<(string Conversation, string Profile, Dictionary<string, long> Prompt, long Completion, Dictionary<string, long> Upstream)>();
        var notes = new List<string>();
        var tokenizer = Memobase.Server.Tokenization.O200kTokenizer.Instance;
        foreach (var (name, messages) in new[] { ("short", 4), ("medium", 20), ("long", 80) })
        {
            foreach (var profiles in new[] { 0, 20 })
            {
                using var created = await _http.PostAsync("/api/v1/users", JsonBody(new { }));
                var user = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("data").GetProperty("id").GetGuid();
                foreach (var p in TwentyProfiles.Take(profiles))
                {
                    using var added = await _http.PostAsync($"/api/v1/users/profile/{user}",
                        JsonBody(new { content = p.Content, attributes = new { topic = p.Topic, sub_topic = p.SubTopic } }));
                    if (await CheckAsync(added, CancellationToken.None) is { } e) throw new InvalidOperationException("profile: " + e);
                }
                var conversation = Conversation(messages);
                var day = DateTime.UtcNow.ToString("yyyy/MM/dd", CultureInfo.InvariantCulture);
                using (var inserted = await _http.PostAsync($"/api/v1/blobs/insert/{user}",
                    JsonBody(new { blob_type = "chat", blob_data = new { messages = conversation } })))
                {
                    if (await CheckAsync(inserted, CancellationToken.None) is { } e) throw new InvalidOperationException("insert: " + e);
                }
                using (var flushed = await _http.PostAsync($"/api/v1/users/buffer/{user}/chat?wait_process=true", null))
                {
                    if (await CheckAsync(flushed, CancellationToken.None) is { } e) throw new InvalidOperationException("flush: " + e);
                }
                var prompt = new Dictionary<string, long>();
                long completion = 0;
                await using (var cmd = _db.CreateCommand("""
                    SELECT c->>'stage', sum((c->>'input_tokens')::bigint), sum((c->>'output_tokens')::bigint)
                    FROM flush_jobs j JOIN flush_job_attempts a ON a.job_id = j.id, jsonb_array_elements(a.llm_call_log) c
                    WHERE j.user_id = $1 AND c->>'kind' = 'chat' GROUP BY 1
                    """))
                {
                    cmd.Parameters.Add(new NpgsqlParameter { Value = user });
                    await using var reader = await cmd.ExecuteReaderAsync();
                    while (await reader.ReadAsync())
                    {
                        prompt[reader.GetString(0)] = reader.GetInt64(1);
                        completion += reader.GetInt64(2);
                    }
                }

                // Upstream's three calls for the same chats, profiles and (echo) replies.
                var profileList = TwentyProfiles.Take(profiles).ToList();
                var chats = string.Join('\n', conversation.Select(m => $"[{day}] {m.Role}: {m.Content}"));
                var already = UpstreamPrompts.AlreadyLogged(profileList);
                var summary = UpstreamPrompts.EntrySummary(already, chats);
                var memo = FakeLlm.EchoSummary(summary.User).Trim();
                var extract = UpstreamPrompts.Extract(already, memo);
                var merge = UpstreamPrompts.Merge(FakeLlm.EchoFacts(memo, slots), profileList);
                if (merge.Items != _llm.LastMergeItems)
                {
                    notes.Add($"{name}, {profiles} profiles: upstream's merge has {merge.Items} items, ours had {_llm.LastMergeItems}");
                }
                var upstream = new Dictionary<string, long>
                {
                    ["entry_summary"] = tokenizer.CountTokens(summary.System) + tokenizer.CountTokens(summary.User),
                    ["extract"] = tokenizer.CountTokens(extract.System) + tokenizer.CountTokens(extract.User),
                    ["merge"] = tokenizer.CountTokens(merge.System) + tokenizer.CountTokens(merge.User),
                };
                rows.Add((name, profiles == 0 ? "empty" : "20 entries", prompt, completion, upstream));
            }
        }
        _llm.OmitUsage = false;
        _llm.EchoReplies = false;
        static string N(long v) => v.ToString("N0", CultureInfo.InvariantCulture);
        static string R(long ours, long theirs) => theirs == 0 ? "–" : (ours / (double)theirs).ToString("0.00", CultureInfo.InvariantCulture) + "×";
        _pace.AppendLine(CultureInfo.InvariantCulture, $"""

            ### 7. Prompt tokens per flush (o200k; fixed conversations of 4 / 20 / 80 messages): ours (counted by the server) vs upstream's (rendered by the bench)

            Each cell: ours / upstream's (ratio). Other stages: ours only (upstream makes no further call here: no event tags, no topic over max_profile_subtopics, no profile over max_pre_profile_token_size).

            | conversation | profile | {string.Join(" | ", stages)} | other stages | prompt total | completion (fake's echo replies) |
            |---|---|{string.Concat(stages.Select(_ => "---:|"))}---:|---:|---:|
            """);
        foreach (var (conversation, profile, prompt, completion, upstream) in rows)
        {
            var other = prompt.Where(kv => !stages.Contains(kv.Key)).Sum(kv => kv.Value);
            var total = prompt.Values.Sum();
            var upstreamTotal = upstream.Values.Sum();
            _pace.AppendLine(CultureInfo.InvariantCulture,
                $"| {conversation} | {profile} | {string.Join(" | ", stages.Select(s => $"{N(prompt.GetValueOrDefault(s))} / {N(upstream[s])} ({R(prompt.GetValueOrDefault(s), upstream[s])})"))} | {N(other)} | " +
                $"**{N(total)} / {N(upstreamTotal)} ({R(total, upstreamTotal)})** | {N(completion)} |");
        }
        var ours = stages.Select(s => rows.Sum(r => r.Prompt.GetValueOrDefault(s))).ToList();
        var theirs = stages.Select(s => rows.Sum(r => r.Upstream[s])).ToList();
        var oursTotal = rows.Sum(r => r.Prompt.Values.Sum());
        var theirsTotal = rows.Sum(r => r.Upstream.Values.Sum());
        _pace.AppendLine(CultureInfo.InvariantCulture,
            $"| **all six** | | {string.Join(" | ", stages.Select((_, i) => $"{N(ours[i])} / {N(theirs[i])} ({R(ours[i], theirs[i])})"))} | " +
            $"{N(rows.Sum(r => r.Prompt.Where(kv => !stages.Contains(kv.Key)).Sum(kv => kv.Value)))} | **{N(oursTotal)} / {N(theirsTotal)} ({R(oursTotal, theirsTotal)})** | {N(rows.Sum(r => r.Completion))} |");
        foreach (var note in notes) _pace.AppendLine(CultureInfo.InvariantCulture, $"- MISMATCH: {note}");
        Log($"7: prompt tokens per flush, all six: ours {oursTotal:N0}, upstream's {theirsTotal:N0} = {R(oursTotal, theirsTotal)}");
    }

    private static ByteArrayContent JsonBody(object body)
    {
        var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(body));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }
}
