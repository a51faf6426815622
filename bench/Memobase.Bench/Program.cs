using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Memobase.Bench;
using Npgsql;

// Memobase server benchmark (issue 3 §9). Normally started by bench/run; see bench/README.md.
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
BenchOptions options;
try
{
    options = BenchOptions.Parse(args);
}
catch (ArgumentException ex)
{
    await Console.Error.WriteLineAsync("memobase-bench: " + ex.Message);
    return 2;
}
var bench = new Bench(options);
try
{
    await bench.RunAsync();
    return 0;
}
finally
{
    await bench.DisposeAsync();
}

namespace Memobase.Bench
{
    internal sealed record FlushRound(int WorkerConcurrency, int Users, int Jobs, int Done, int Failed, int Events, long LeftEntries,
        double EnqueueSeconds, double DrainSeconds, double DbSpanSeconds, double SumProcessingMs, double SumLlmMs, double SumSpanMs,
        double P50OutsideMs, double P99OutsideMs, double AvgQueueWaitMs, double LlmCalls, double Entries, CpuUse Cpu, string ServerLabel);

    internal sealed partial class Bench(BenchOptions o) : IAsyncDisposable
    {
        private static readonly string[] Chats =
        [
            "I just got back from a week in Lisbon with my sister. We ate way too many pastéis de nata and walked up every hill in Alfama.",
            "My manager moved our release to Friday, so I'll be working late all week. I'm trying to keep my evening runs anyway.",
            "We adopted a rescue dog named Biscuit on Saturday! She's a two-year-old beagle mix and is scared of the vacuum cleaner.",
            "I've started learning Japanese on my commute. Hiragana is done, katakana is harder than I expected, kanji is terrifying.",
            "Can you remind me what I told you about my allergy? I'm booking a restaurant for my mom's 60th birthday next month.",
            "I finally finished the marathon in 4:12, twenty minutes faster than last year. My knees hate me but I'm really proud.",
        ];

        private static readonly string[] Answers =
        [
            "That sounds like a lovely trip! Did you get to Sintra as well, or did you stay in the city the whole week?",
            "That's a tough week. Keeping the runs is a great idea, even short ones help with stress. Want a lighter plan?",
            "Congratulations on adopting Biscuit! Beagle mixes are so friendly. Slow desensitisation helps with the vacuum fear.",
            "Great progress! Katakana gets easier with loanwords. For kanji, spaced repetition with a few new characters a day works well.",
            "You mentioned you're allergic to peanuts. I'd tell the restaurant when booking and ask about their kitchen practices.",
            "Congratulations, that's a huge improvement! Give your knees a few easy days and maybe some foam rolling.",
        ];

        private readonly string _token = "bench-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
        private readonly List<ServerProcess> _servers = [];
        private readonly StringBuilder _notes = new();
        private NpgsqlDataSource _db = null!;
        private FakeLlm _llm = null!;
        private int _postmaster;
        private Guid[] _users = [];
        private ServerProcess _server = null!;
        private HttpClient _http = null!;
        private readonly ServerTimings _serverTimings = new();
        private bool _statementStats;
        private string _serverDll = "";

        /// <summary>pg_stat_statements of each measured phase, with the phase's operation count.</summary>
        private readonly List<(string Phase, long Ops, List<StatementStat> Top)> _statements = [];

        /// <summary>Sampled backend states of each measured phase (average number of active backends per state).</summary>
        private readonly List<(string Phase, List<(string State, double AvgBackends)> States)> _waits = [];

        public async Task RunAsync()
        {
            var total = Stopwatch.StartNew();
            Log($"work dir {o.WorkDir}; results -> {o.OutFile}");
            // Run a private copy of the build output: the repo's bin/ may be rebuilt by someone else meanwhile.
            var serverDir = Path.Combine(o.WorkDir, "server");
            CopyDirectory(Path.GetDirectoryName(o.ServerDll)!, serverDir);
            _serverDll = Path.Combine(serverDir, Path.GetFileName(o.ServerDll));
            await Database.RecreateAsync(o.AdminConnectionString, o.Database);
            _db = NpgsqlDataSource.Create(Database.ConnectionString(o.AdminConnectionString, o.Database, 8, "memobase-bench-admin"));
            _postmaster = await Database.PostmasterPidAsync(_db);
            _llm = await FakeLlm.StartAsync();
            Log($"fake LLM at {_llm.BaseUrl}; PostgreSQL postmaster pid {_postmaster}");

            await StartServerAsync(o.WorkerConcurrency[0], o.ServerLogLevel, "main", embeddings: o.FlushEmbeddings);

            Log($"seeding {o.Users:N0} users x {o.EntriesPerUser} buffer entries ...");
            (_users, var seedSeconds) = await Database.SeedAsync(_db, o.Users, o.EntriesPerUser);
            var entryCount = await Database.ScalarAsync<long>(_db, "SELECT count(*) FROM buffer_entries");
            var idleCount = await Database.ScalarAsync<long>(_db, "SELECT count(*) FROM buffer_entries WHERE status = 'idle'");
            Log($"seeded {entryCount:N0} entries ({idleCount:N0} idle) in {seedSeconds:0.0} s");
            var facts = await MachineFactsAsync(seedSeconds, entryCount, idleCount);

            _statementStats = o.StatementStats && await Database.EnableStatementStatsAsync(_db);
            if (!_statementStats) _notes.AppendLine("- pg_stat_statements not available: no per-statement figures.");

            // ---- 1. capacity
            List<string> explain = [];
            LoadResult? capServer = null, capPaced = null, capDirect = null, capDefaultLogging = null, inserts = null;
            List<string> insertExplain = [];
            if (o.Scenarios.Contains(1))
            {
                await ValidateCapacityAsync();
                explain = await Database.LinesAsync(_db,
                    $"EXPLAIN (ANALYZE, BUFFERS) {Database.CapacitySql.Replace("$1", "'__root__'").Replace("$2", $"'{_users[17]}'").Replace("$3", "'chat'").Replace("$4", "'idle'")}");
                var capacityOp = CapacityHttpOp();
                await Phase("server HTTP warm-up", o.WarmupSeconds, capacityOp, 501);
                capServer = await Phase("server HTTP", o.CapacitySeconds, capacityOp, 1, collect: true);
                if (o.PacedFraction > 0 || o.PacedRate > 0)
                {
                    var rate = o.PacedRate > 0 ? o.PacedRate : Math.Round(capServer.Rate * o.PacedFraction / 100) * 100;
                    capPaced = await Phase($"server HTTP, open loop at {rate:N0}/s offered", o.PacedSeconds, capacityOp, 3, rate: rate);
                }
                _server.RecordRss("1. capacity (server)");
                capDirect = await CapacityDirectAsync(seed: 1);
                _server.RecordRss("1. capacity (direct run, server idle)");
            }

            // ---- 2. inserts
            if (o.Scenarios.Contains(2))
            {
                inserts = await InsertsAsync();
                insertExplain = await Database.ExplainInsertAsync(_db, _users[23],
                    """{"messages": [{"role": "user", "content": "I adopted a dog"}, {"role": "assistant", "content": "Congratulations!"}]}""");
                _server.RecordRss("2. inserts");
            }

            // ---- 3. flush drain, once per worker concurrency (a fresh server process for each but the first)
            var rounds = new List<FlushRound>();
            if (o.Scenarios.Contains(3))
            {
                foreach (var c in o.WorkerConcurrency)
                {
                    if (c != o.WorkerConcurrency[0]) await StartServerAsync(c, o.ServerLogLevel, $"flush c={c}", embeddings: o.FlushEmbeddings);
                    rounds.Add(await FlushDrainAsync(c));
                    _server.RecordRss($"3. flush drain c={c}");
                }
            }

            // ---- 1b. capacity with the server's default logging (Information: one line per request)
            if (o.Scenarios.Contains(1) && o.CompareLogging && o.ServerLogLevel.Length > 0)
            {
                await StartServerAsync(o.WorkerConcurrency[0], "", "default logging");
                var op = CapacityHttpOp();
                await Phase("default logging warm-up", o.WarmupSeconds, op, 501);
                capDefaultLogging = await Phase("server HTTP, default logging (Information)", o.CapacitySeconds * 2 / 3, op, 1);
                _server.RecordRss("1b. capacity, default logging");
                var lines = _server.CountLogLines("HTTP GET /api/v1/users/buffer/capacity");
                _notes.AppendLine(CultureInfo.InvariantCulture,
                    $"- Default-logging server wrote {lines:N0} request log lines during its capacity phases (one per request).");
            }
            // ---- 4. read path
            if (o.Scenarios.Contains(4)) await ReadPathAsync();
            // ---- 5. metrics on vs off: capacity and inserts, alternating server processes in one run
            if (o.Scenarios.Contains(5)) await MetricsComparisonAsync();
            // ---- 6. LLM pace, 7. prompt tokens per flush (issue 14)
            if (o.Scenarios.Contains(6)) await LlmPaceAsync();
            if (o.Scenarios.Contains(7)) await CostPerFlushAsync();
            foreach (var s in _servers) s.Stop();

            total.Stop();
            var report = Report.Build(o, facts, explain, capServer, capPaced, capDirect, capDefaultLogging, inserts, insertExplain, rounds, _servers,
                _llm, _statements, _waits, total.Elapsed.TotalSeconds, _notes.ToString());
            report += _readPath.ToString();
            report += _pace.ToString();
            Directory.CreateDirectory(Path.GetDirectoryName(o.OutFile)!);
            await File.WriteAllTextAsync(o.OutFile, report);
            Console.WriteLine();
            Console.WriteLine(report);
            Log($"results written to {o.OutFile}; server logs in {o.WorkDir}");
        }

        /// <param name="keepPrevious">Leave the previous server running (and its HttpClient undisposed): two replicas at once.</param>
        private async Task StartServerAsync(int workerConcurrency, string logLevel, string label,
            IReadOnlyDictionary<string, string>? extraEnv = null, bool embeddings = false, bool keepPrevious = false)
        {
            if (!keepPrevious)
            {
                if (_servers.Count > 0) _server.Stop();
                _http?.Dispose();
            }
            var env = new Dictionary<string, string>
            {
                ["DATABASE_URL"] = Database.Url(o.AdminConnectionString, o.Database),
                ["ACCESS_TOKEN"] = _token,
                ["MEMOBASE_LLM_BASE_URL"] = _llm.BaseUrl,
                ["MEMOBASE_ENABLE_EVENT_EMBEDDING"] = embeddings ? "true" : "false",
                ["MEMOBASE_EMBEDDING_BASE_URL"] = _llm.BaseUrl,
                ["MEMOBASE_MAX_CHAT_BLOB_BUFFER_TOKEN_SIZE"] = "10000000",
                ["MEMOBASE_WORKER_CONCURRENCY"] = workerConcurrency.ToString(CultureInfo.InvariantCulture),
            };
            if (logLevel.Length > 0) env["Serilog__MinimumLevel"] = logLevel;
            if (o.ServerDbOptions.Length > 0)
            {
                // The .NET-style variable wins over DATABASE_URL (see UpstreamConfiguration), so extra Npgsql keywords can be set.
                env["ConnectionStrings__Memobase"] = new NpgsqlConnectionStringBuilder(o.AdminConnectionString) { Database = o.Database }.ConnectionString
                                                     + ";" + o.ServerDbOptions;
            }
            foreach (var (k, v) in o.ServerEnv) env[k] = v;
            foreach (var (k, v) in extraEnv ?? new Dictionary<string, string>()) env[k] = v;
            var log = Path.Combine(o.WorkDir, $"server-{_servers.Count + 1}.log");
            var extra = string.Join(", ", o.ServerEnv.Select(kv => $"{kv.Key}={kv.Value}").Append(o.ServerDbOptions).Where(x => x.Length > 0));
            _server = ServerProcess.Start(_serverDll, env, log,
                $"#{_servers.Count + 1} {label} (worker_concurrency={workerConcurrency}, log level {(logLevel.Length > 0 ? logLevel : "default")}{(extra.Length > 0 ? ", " + extra : "")})");
            _servers.Add(_server);
            await _server.WaitHealthyAsync(TimeSpan.FromSeconds(90));
            _http = NewClient(_server.BaseUrl);
            Log($"server {_server.Label} pid {_server.Pid} at {_server.BaseUrl}");
        }

        private HttpClient NewClient(string baseUrl)
        {
            var handler = new SocketsHttpHandler
            {
                MaxConnectionsPerServer = o.Connections,
                PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
                PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
                UseProxy = false,
                UseCookies = false,
                AutomaticDecompression = System.Net.DecompressionMethods.None,
            };
            var http = new HttpClient(handler) { BaseAddress = new Uri(baseUrl), Timeout = TimeSpan.FromSeconds(30) };
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", _token);
            return http;
        }

        private CpuSnapshot Snapshot() => CpuSnapshot.Take(_server.Pid, _postmaster);

        private static readonly byte[] ErrnoZero = "\"errno\":0"u8.ToArray();

        /// <summary>Null when the answer is HTTP 200 with errno 0 (its server-side time is then recorded), else the error.</summary>
        private async ValueTask<string?> CheckAsync(HttpResponseMessage response, CancellationToken ct)
        {
            var body = await response.Content.ReadAsByteArrayAsync(ct);
            if (!response.IsSuccessStatusCode) return $"HTTP {(int)response.StatusCode}: {Encoding.UTF8.GetString(body)}";
            if (body.AsSpan().IndexOf(ErrnoZero) < 0) return "errno != 0: " + Encoding.UTF8.GetString(body);
            _serverTimings.Record(response);
            return null;
        }

        // ------------------------------------------------------------------------------------------ scenario 1

        private Uri[] CapacityUris() => _users.Select(u => new Uri($"/api/v1/users/buffer/capacity/{u}/chat?status=idle", UriKind.Relative)).ToArray();

        /// <summary>The server must return exactly what the query returns (same ids, same order) — checked on 50 users.</summary>
        private async Task ValidateCapacityAsync()
        {
            var random = new Random(99);
            for (var i = 0; i < 50; i++)
            {
                var user = _users[random.Next(_users.Length)];
                var expected = await Database.CapacityIdsAsync(_db, user, "idle", CancellationToken.None);
                using var response = await _http.GetAsync(new Uri($"/api/v1/users/buffer/capacity/{user}/chat?status=idle", UriKind.Relative));
                using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                var ids = doc.RootElement.GetProperty("data").GetProperty("ids").EnumerateArray().Select(e => e.GetGuid()).ToList();
                if (!ids.SequenceEqual(expected) || expected.Count != 5)
                {
                    throw new InvalidOperationException($"capacity mismatch for {user}: server {ids.Count} ids, query {expected.Count}");
                }
            }
            Log("capacity endpoint validated against the query on 50 users (5 idle ids each, same order)");
        }

        private LoadRunner.Operation CapacityHttpOp()
        {
            var uris = CapacityUris();
            var http = _http;
            return async (_, random, ct) =>
            {
                using var response = await http.GetAsync(uris[random.Next(uris.Length)], HttpCompletionOption.ResponseContentRead, ct);
                return await CheckAsync(response, ct);
            };
        }

        private async Task<LoadResult> CapacityDirectAsync(int seed)
        {
            // Same pool size as the load (one connection per worker), same command text and parameters as the server.
            await using var direct = NpgsqlDataSource.Create(Database.ConnectionString(o.AdminConnectionString, o.Database, o.Connections, "memobase-bench-direct"));
            var users = _users;
            LoadRunner.Operation op = async (_, random, ct) =>
            {
                var ids = await Database.CapacityIdsAsync(direct, users[random.Next(users.Length)], "idle", ct);
                return ids.Count == 5 ? null : $"expected 5 ids, got {ids.Count}";
            };
            await Phase("direct Npgsql warm-up", o.WarmupSeconds, op, seed + 500);
            return await Phase("direct Npgsql", o.CapacitySeconds, op, seed, collect: true);
        }

        private async Task<LoadResult> Phase(string name, double seconds, LoadRunner.Operation op, int seed, bool collect = false, double rate = 0)
        {
            if (!name.EndsWith("warm-up", StringComparison.Ordinal)) await WaitForQuietAsync(name);
            if (collect && _statementStats) await Database.ResetStatementStatsAsync(_db);
            var sampler = collect ? new WaitSampler(_db) : null;
            _serverTimings.Drain();
            var r = await LoadRunner.RunAsync(name, o.Connections, TimeSpan.FromSeconds(seconds), o.MaxOpsPerPhase, op, Snapshot, seed, rate);
            r.ServerSideMs = _serverTimings.Drain();
            if (sampler is not null)
            {
                _waits.Add((name, await sampler.StopAsync()));
                await sampler.DisposeAsync();
            }
            if (collect && _statementStats) _statements.Add((name, r.Ok, await Database.TopStatementsAsync(_db, 8)));
            Log($"{name}: {r.Ok:N0} ok, {r.Errors} errors in {r.Seconds:0.0} s = {r.Rate:N0}/s, p50 {r.Quantile(0.5):0.00} ms, p99 {r.Quantile(0.99):0.00} ms" +
                $"; CPU s: server {r.Cpu.Server:0.00}, PostgreSQL {r.Cpu.Postgres:0.00}, bench {r.Cpu.Bench:0.00}, other {r.Cpu.Other:0.00}, machine busy {r.Cpu.MachineBusyPercent:0}% of {r.Cpu.WallSeconds:0.0} s" +
                (r.ServerSideMs.Length == 0 ? "" : $"; server-side p50 {r.ServerSideQuantile(0.5):0.00} ms, p99 {r.ServerSideQuantile(0.99):0.00} ms") +
                (r.FirstError is null ? "" : $"; first error: {r.FirstError}"));
            return r;
        }

        // ------------------------------------------------------------------------------------------ scenario 5

        /// <summary>
        /// The cost of metrics: the capacity endpoint and chat inserts against a server with metrics on (the default;
        /// /metrics scraped every 5 s meanwhile, as Prometheus would) and with <c>MEMOBASE_METRICS_ENABLED=false</c>,
        /// alternating on, off, on, off (a fresh server process each) so drift of the shared box hits both alike.
        /// </summary>
        private async Task MetricsComparisonAsync()
        {
            var rows = new List<(string Mode, LoadResult Capacity, LoadResult Inserts, long Scrapes)>();
            foreach (var on in new[] { true, false, true, false })
            {
                var mode = on ? "on" : "off";
                await StartServerAsync(o.WorkerConcurrency[0], o.ServerLogLevel, $"metrics {mode}",
                    new Dictionary<string, string> { ["MEMOBASE_METRICS_ENABLED"] = on ? "true" : "false" });
                using var stopScraping = new CancellationTokenSource();
                var scrapes = 0L;
                var http = _http;
                var scraper = on
                    ? Task.Run(async () =>
                    {
                        while (!stopScraping.IsCancellationRequested)
                        {
                            using (var r = await http.GetAsync("/metrics", CancellationToken.None))
                            {
                                if (!r.IsSuccessStatusCode) throw new InvalidOperationException($"/metrics answered HTTP {(int)r.StatusCode}");
                                await r.Content.ReadAsByteArrayAsync(CancellationToken.None);
                                scrapes++;
                            }
                            try { await Task.Delay(TimeSpan.FromSeconds(5), stopScraping.Token); } catch (OperationCanceledException) { }
                        }
                    })
                    : Task.CompletedTask;
                var capacity = CapacityHttpOp();
                await Phase($"metrics {mode}: capacity warm-up", o.WarmupSeconds, capacity, 701);
                var cap = await Phase($"metrics {mode}: capacity", o.CapacitySeconds * 2 / 3, capacity, 7);
                var inserts = InsertOp();
                await Phase($"metrics {mode}: inserts warm-up", o.WarmupSeconds, inserts, 702);
                var ins = await Phase($"metrics {mode}: inserts", o.InsertSeconds * 2 / 3, inserts, 8);
                await stopScraping.CancelAsync();
                await scraper;
                _server.RecordRss($"5. metrics {mode}");
                rows.Add((mode, cap, ins, scrapes));
            }
            var load = File.ReadAllText("/proc/loadavg").Split(' ');
            _notes.AppendLine(CultureInfo.InvariantCulture, $"""

                ### 5. Metrics on vs off (alternating server processes; load average at the end {load[0]} / {load[1]} / {load[2]})

                | round | metrics | capacity rate | capacity p50 / p99 | server CPU ms/req | inserts rate | inserts p50 / p99 | server CPU ms/insert | /metrics scrapes |
                |---:|---|---:|---|---:|---:|---|---:|---:|
                """);
            var n = 0;
            foreach (var (mode, cap, ins, scrapes) in rows)
            {
                _notes.AppendLine(CultureInfo.InvariantCulture,
                    $"| {++n} | {mode} | {cap.Rate:N0}/s | {cap.Quantile(0.5):0.00} / {cap.Quantile(0.99):0.00} ms | {cap.PerOpMs(cap.Cpu.Server):0.000} | " +
                    $"{ins.Rate:N0}/s | {ins.Quantile(0.5):0.00} / {ins.Quantile(0.99):0.00} ms | {ins.PerOpMs(ins.Cpu.Server):0.000} | {scrapes} |");
            }
            foreach (var mode in new[] { "on", "off" })
            {
                var mine = rows.Where(r => r.Mode == mode).ToList();
                _notes.AppendLine(CultureInfo.InvariantCulture,
                    $"| mean | {mode} | {mine.Average(r => r.Capacity.Rate):N0}/s | p99 {mine.Average(r => r.Capacity.Quantile(0.99)):0.00} ms | " +
                    $"{mine.Average(r => r.Capacity.PerOpMs(r.Capacity.Cpu.Server)):0.000} | {mine.Average(r => r.Inserts.Rate):N0}/s | " +
                    $"p99 {mine.Average(r => r.Inserts.Quantile(0.99)):0.00} ms | {mine.Average(r => r.Inserts.PerOpMs(r.Inserts.Cpu.Server)):0.000} | |");
            }
        }

        // ------------------------------------------------------------------------------------------ scenario 2

        private static byte[] ChatBody(Random random)
        {
            var i = random.Next(Chats.Length);
            var body = new { blob_type = "chat", blob_data = new { messages = new[] { new { role = "user", content = Chats[i] }, new { role = "assistant", content = Answers[i] } } } };
            return JsonSerializer.SerializeToUtf8Bytes(body);
        }

        private LoadRunner.Operation InsertOp()
        {
            var bodies = Enumerable.Range(0, Chats.Length).Select(i => ChatBody(new Random(i))).ToArray();
            var uris = _users.Select(u => new Uri($"/api/v1/blobs/insert/{u}", UriKind.Relative)).ToArray();
            var http = _http;
            return async (_, random, ct) =>
            {
                using var content = new ByteArrayContent(bodies[random.Next(bodies.Length)]);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                using var response = await http.PostAsync(uris[random.Next(uris.Length)], content, ct);
                return await CheckAsync(response, ct);
            };
        }

        private async Task<LoadResult> InsertsAsync()
        {
            var op = InsertOp();
            var before = await Database.ScalarAsync<long>(_db, "SELECT count(*) FROM blobs");
            var warm = await Phase("chat inserts warm-up", o.WarmupSeconds, op, 600);
            var result = await Phase("chat inserts", o.InsertSeconds, op, 2, collect: true);
            var after = await Database.ScalarAsync<long>(_db, "SELECT count(*) FROM blobs");
            var jobs = await Database.ScalarAsync<long>(_db, "SELECT count(*) FROM flush_jobs");
            _notes.AppendLine(CultureInfo.InvariantCulture,
                $"- Inserts check: {after - before:N0} blobs added = {warm.Ok + result.Ok:N0} successful inserts (warm-up + measured); {jobs} flush jobs created (expected 0).");
            return result;
        }

        // ------------------------------------------------------------------------------------------ scenario 3

        private async Task<FlushRound> FlushDrainAsync(int workerConcurrency)
        {
            var n = o.FlushUsers;
            var users = new List<Guid>(n);
            await using (var cmd = _db.CreateCommand("INSERT INTO users (project_id, id) SELECT $1, gen_random_uuid() FROM generate_series(1, $2) RETURNING id"))
            {
                cmd.Parameters.Add(new NpgsqlParameter { Value = Database.Project });
                cmd.Parameters.Add(new NpgsqlParameter { Value = n });
                await using var reader = await cmd.ExecuteReaderAsync();
                while (await reader.ReadAsync()) users.Add(reader.GetGuid(0));
            }
            var userArray = users.ToArray();

            // Pre-insert the chats through the API (real token counts), o.Connections at a time.
            var random = new Random(7);
            var bodies = Enumerable.Range(0, Chats.Length).Select(i => ChatBody(new Random(i))).ToArray();
            var work = users.SelectMany(u => Enumerable.Range(0, o.BlobsPerFlushUser).Select(_ => (u, bodies[random.Next(bodies.Length)]))).ToList();
            var insertErrors = 0;
            var sw = Stopwatch.StartNew();
            using (var insertTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(120)))
            {
                await Parallel.ForEachAsync(work, new ParallelOptions { MaxDegreeOfParallelism = o.Connections, CancellationToken = insertTimeout.Token }, async (item, ct) =>
                {
                    using var content = new ByteArrayContent(item.Item2);
                    content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                    using var response = await _http.PostAsync(new Uri($"/api/v1/blobs/insert/{item.u}", UriKind.Relative), content, ct);
                    if (await CheckAsync(response, ct) is not null) Interlocked.Increment(ref insertErrors);
                });
            }
            Log($"flush c={workerConcurrency}: pre-inserted {work.Count:N0} chat blobs for {n:N0} new users in {sw.Elapsed.TotalSeconds:0.0} s ({insertErrors} errors)");

            // Flush every user without waiting, o.Connections requests at a time, while polling flush_jobs until all are finished.
            await WaitForQuietAsync($"flush drain c={workerConcurrency}");
            if (_statementStats) await Database.ResetStatementStatsAsync(_db);
            await using var sampler = new WaitSampler(_db);
            var before = Snapshot();
            var t0 = Stopwatch.GetTimestamp();
            double enqueueSeconds = 0;
            var flushErrors = 0;
            using var drainTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(o.DrainTimeoutSeconds));
            var flushing = Task.Run(async () =>
            {
                await Parallel.ForEachAsync(userArray, new ParallelOptions { MaxDegreeOfParallelism = o.Connections, CancellationToken = drainTimeout.Token }, async (u, ct) =>
                {
                    using var response = await _http.PostAsync(new Uri($"/api/v1/users/buffer/{u}/chat?wait_process=false", UriKind.Relative), null, ct);
                    if (await CheckAsync(response, ct) is not null) Interlocked.Increment(ref flushErrors);
                });
                enqueueSeconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            });
            long finished = 0, jobs = 0;
            while (!drainTimeout.IsCancellationRequested)
            {
                await Task.Delay(100);
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
            var after = Snapshot();
            _waits.Add(($"flush drain c={workerConcurrency}", await sampler.StopAsync()));
            if (_statementStats) _statements.Add(($"flush drain c={workerConcurrency} (per job)", finished, await Database.TopStatementsAsync(_db, 12)));
            try
            {
                await flushing;
            }
            catch (OperationCanceledException)
            {
                _notes.AppendLine(CultureInfo.InvariantCulture, $"- Flush c={workerConcurrency}: flush requests did not all finish within the drain timeout.");
            }
            if (finished < jobs || jobs < n)
            {
                _notes.AppendLine(CultureInfo.InvariantCulture,
                    $"- Flush c={workerConcurrency}: TIMEOUT after {o.DrainTimeoutSeconds} s with {finished}/{jobs} jobs finished (expected {n}).");
            }

            await using var stats = _db.CreateCommand("""
                SELECT count(*)::int, count(*) FILTER (WHERE status = 'done')::int, count(*) FILTER (WHERE status = 'failed')::int,
                       coalesce(sum(processing_ms), 0)::float8, coalesce(sum(llm_ms), 0)::float8,
                       coalesce(extract(epoch FROM max(finished_at) - min(created_at)), 0)::float8,
                       coalesce(sum(extract(epoch FROM finished_at - started_at) * 1000), 0)::float8,
                       coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY processing_ms - coalesce(llm_ms, 0)), 0)::float8,
                       coalesce(percentile_cont(0.99) WITHIN GROUP (ORDER BY processing_ms - coalesce(llm_ms, 0)), 0)::float8,
                       coalesce(avg(extract(epoch FROM started_at - created_at) * 1000), 0)::float8,
                       coalesce(sum(llm_calls), 0)::float8, coalesce(sum(entry_count), 0)::float8,
                       (SELECT count(*) FROM user_events WHERE project_id = $1 AND user_id = ANY($2))::int,
                       (SELECT count(*) FROM buffer_entries WHERE project_id = $1 AND user_id = ANY($2))
                FROM flush_jobs WHERE project_id = $1 AND user_id = ANY($2)
                """);
            stats.Parameters.Add(new NpgsqlParameter { Value = Database.Project });
            stats.Parameters.Add(new NpgsqlParameter { Value = userArray });
            await using var r = await stats.ExecuteReaderAsync();
            await r.ReadAsync();
            var round = new FlushRound(workerConcurrency, n, r.GetInt32(0), r.GetInt32(1), r.GetInt32(2), r.GetInt32(12), r.GetInt64(13),
                enqueueSeconds, drainSeconds, r.GetDouble(5), r.GetDouble(3), r.GetDouble(4), r.GetDouble(6), r.GetDouble(7), r.GetDouble(8),
                r.GetDouble(9), r.GetDouble(10), r.GetDouble(11), CpuUse.Between(before, after), _server.Label);
            if (flushErrors > 0) _notes.AppendLine(CultureInfo.InvariantCulture, $"- Flush c={workerConcurrency}: {flushErrors} flush requests failed.");
            Log($"flush c={workerConcurrency}: {round.Done}/{round.Jobs} jobs done ({round.Failed} failed) in {drainSeconds:0.00} s = {round.Done / drainSeconds:0} jobs/s; " +
                $"events {round.Events}; (processing_ms - llm_ms)/job {(round.SumProcessingMs - round.SumLlmMs) / Math.Max(1, round.Done):0.0} ms");
            return round;
        }

        // ------------------------------------------------------------------------------------------ facts

        private async Task<Dictionary<string, string>> MachineFactsAsync(double seedSeconds, long entries, long idle)
        {
            var settings = await Database.LinesAsync(_db, """
                SELECT name || '=' || setting || coalesce(unit, '') FROM pg_settings
                WHERE name IN ('shared_buffers', 'max_connections', 'fsync', 'synchronous_commit', 'full_page_writes', 'work_mem', 'effective_cache_size')
                ORDER BY name
                """);
            var dotnet = await RunAsync("dotnet", "--version");
            return new Dictionary<string, string>
            {
                ["nproc"] = Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture),
                ["CPU"] = Proc.CpuModel(),
                ["memory"] = Proc.MemTotal(),
                ["kernel"] = Environment.OSVersion.VersionString,
                [".NET"] = $"SDK {dotnet.Trim()}, runtime {Environment.Version}",
                ["PostgreSQL"] = await Database.ScalarAsync<string>(_db, "SELECT version()"),
                ["PostgreSQL settings"] = string.Join(", ", settings),
                ["seed"] = $"{o.Users:N0} users, {entries:N0} buffer entries + blobs ({idle:N0} idle), {seedSeconds:0.0} s (INSERT … SELECT generate_series + VACUUM ANALYZE)",
                ["table sizes"] = string.Join(", ", await Database.LinesAsync(_db, """
                    SELECT relname || ' ' || pg_size_pretty(pg_total_relation_size(oid)) FROM pg_class
                    WHERE relname IN ('blobs', 'buffer_entries') ORDER BY relname
                    """)),
            };
        }

        private static async Task<string> RunAsync(string file, string arguments)
        {
            try
            {
                using var p = Process.Start(new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, UseShellExecute = false })!;
                var text = await p.StandardOutput.ReadToEndAsync();
                await p.WaitForExitAsync();
                return text;
            }
            catch (System.ComponentModel.Win32Exception)
            {
                return "?";
            }
        }

        private static void CopyDirectory(string from, string to)
        {
            foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
            {
                var target = Path.Combine(to, Path.GetRelativePath(from, file));
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Copy(file, target, overwrite: true);
            }
        }

        /// <summary>
        /// Waits (at most o.QuietWaitSeconds) until processes other than the server, PostgreSQL and the bench use less than a
        /// quarter of a core over one second: a build or test run next to the bench distorts every figure.
        /// </summary>
        private async Task WaitForQuietAsync(string phase)
        {
            var sw = Stopwatch.StartNew();
            double other = 0;
            while (sw.Elapsed.TotalSeconds < o.QuietWaitSeconds)
            {
                var a = Snapshot();
                await Task.Delay(1000);
                other = CpuUse.Between(a, Snapshot()).OtherCores;
                if (other < 0.25) return;
            }
            if (o.QuietWaitSeconds > 0)
            {
                Log($"{phase}: other processes still use {other:0.00} cores after {o.QuietWaitSeconds:0} s; measuring anyway");
                _notes.AppendLine(CultureInfo.InvariantCulture,
                    $"- {phase}: other processes were using {other:0.00} cores when it started (waited {o.QuietWaitSeconds:0} s for quiet).");
            }
        }

        private static void Log(string message) => Console.WriteLine($"[bench {DateTime.Now:HH:mm:ss}] {message}");

        public async ValueTask DisposeAsync()
        {
            foreach (var s in _servers) s.Dispose();
            _http?.Dispose();
            try
            {
                if (_serverDll.Length > 0) Directory.Delete(Path.GetDirectoryName(_serverDll)!, recursive: true); // the private copy; logs stay
            }
            catch (IOException)
            {
            }
            if (_llm is not null) await _llm.DisposeAsync();
            if (_db is not null) await _db.DisposeAsync();
        }
    }
}
