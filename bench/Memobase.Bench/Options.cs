using System.Globalization;

namespace Memobase.Bench;

/// <summary>Command-line options (<c>--name value</c>); every load phase is bounded by these durations and counts.</summary>
internal sealed class BenchOptions
{
    /// <summary>Npgsql connection string of the cluster's maintenance database (scripts/lib/pg.sh exports MEMOBASE_TEST_PG).</summary>
    public string AdminConnectionString { get; private set; } = Environment.GetEnvironmentVariable("MEMOBASE_TEST_PG") ?? "";
    public string Database { get; private set; } = "memobase_bench";
    public string ServerDll { get; private set; } = "";
    public string OutFile { get; private set; } = "";
    public string WorkDir { get; private set; } = "";
    public int Users { get; private set; } = 10_000;
    public int EntriesPerUser { get; private set; } = 100;
    public int Connections { get; private set; } = 32;
    public double WarmupSeconds { get; private set; } = 3;
    public double CapacitySeconds { get; private set; } = 15;
    public double InsertSeconds { get; private set; } = 15;
    public long MaxOpsPerPhase { get; private set; } = 3_000_000;
    public int FlushUsers { get; private set; } = 2_000;
    public int BlobsPerFlushUser { get; private set; } = 2;
    public IReadOnlyList<int> WorkerConcurrency { get; private set; } = [8, 4, 16]; // the server default first: targets are judged on it
    public double DrainTimeoutSeconds { get; private set; } = 90;

    /// <summary>Serilog minimum level for the server ("" = the server's default, Information: one line per request).</summary>
    public string ServerLogLevel { get; private set; } = "Warning";

    /// <summary>Extra environment variables for every server process (e.g. MEMOBASE_DB_MAX_POOL_SIZE=8), for experiments.</summary>
    public Dictionary<string, string> ServerEnv { get; } = [];

    /// <summary>Npgsql options appended to the server's connection string (passed as ConnectionStrings__Memobase), for experiments.</summary>
    public string ServerDbOptions { get; private set; } = "";

    /// <summary>Open-loop capacity phase at this fraction of the closed-loop server rate (0: skip).</summary>
    public double PacedFraction { get; private set; } = 0.5;

    /// <summary>
    /// Open-loop capacity phase at this absolute rate instead (0: use <see cref="PacedFraction"/>). Two builds offered the
    /// same rate do the same work per second, so their server CPU per request compares without the closed loop's noise
    /// (a saturated box's CPU per request moves with contention and thread-pool spinning).
    /// </summary>
    public double PacedRate { get; private set; }

    public double PacedSeconds { get; private set; } = 8;

    /// <summary>Collect pg_stat_statements per phase (when the cluster preloads it, as bench/run does).</summary>
    public bool StatementStats { get; private set; } = true;

    /// <summary>
    /// Which scenarios to run (1 capacity, 2 inserts, 3 flush drain, 4 read path, 5 metrics on vs off, 6 LLM pace, 7 prompt
    /// tokens per flush); experiments use a subset. 6 and 7 run only when asked for (<c>--scenarios 6,7</c>).
    /// </summary>
    public IReadOnlySet<int> Scenarios { get; private set; } = new HashSet<int> { 1, 2, 3, 4, 5 };

    /// <summary>Before each measured phase, wait up to this long for other processes to go quiet (&lt; 0.25 cores).</summary>
    public double QuietWaitSeconds { get; private set; } = 5;

    /// <summary>Also measure the capacity endpoint with the server's default logging, for comparison.</summary>
    public bool CompareLogging { get; private set; } = true;

    /// <summary>Events per read-path user (scenario 4; one user per size).</summary>
    public IReadOnlyList<int> ReadSizes { get; private set; } = [10, 1_000, 10_000, 100_000];

    /// <summary>Duration and request cap of each read-path phase (one operation, one size, one client count).</summary>
    public double ReadSeconds { get; private set; } = 4;

    public long ReadMaxOps { get; private set; } = 200;

    /// <summary>Embed events and gists during the flush drain (the fake LLM answers /embeddings): the write cost of vectors.</summary>
    public bool FlushEmbeddings { get; private set; }

    /// <summary>Scenario 6: the fake LLM's latency and its uniform jitter (fraction).</summary>
    public double LlmLatencyMs { get; private set; } = 1000;

    public double LlmJitter { get; private set; } = 0.2;

    /// <summary>Scenario 6b–d: the fake provider's limit (requests per minute; 429 + Retry-After beyond it).</summary>
    public int ProviderRequestsPerMinute { get; private set; } = 600;

    /// <summary>Scenario 6a: users flushed against the unlimited 1 s LLM; 6b–d: users flushed against the limit.</summary>
    public int PaceUsers { get; private set; } = 3_000;

    public int PaceLimitedUsers { get; private set; } = 300;

    /// <summary>Scenario 6a: open-loop rate of the capacity probe (inserts: half of it), idle and during the drain.</summary>
    public double PaceProbeRate { get; private set; } = 200;

    public double PaceDrainTimeoutSeconds { get; private set; } = 300;

    public static BenchOptions Parse(string[] args)
    {
        var o = new BenchOptions();
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            static double D(string s) => double.Parse(s, CultureInfo.InvariantCulture);
            static int I(string s) => int.Parse(s, CultureInfo.InvariantCulture);
            switch (args[i])
            {
                case "--pg": o.AdminConnectionString = Next(); break;
                case "--database": o.Database = Next(); break;
                case "--server-dll": o.ServerDll = Next(); break;
                case "--out": o.OutFile = Next(); break;
                case "--work-dir": o.WorkDir = Next(); break;
                case "--users": o.Users = I(Next()); break;
                case "--entries-per-user": o.EntriesPerUser = I(Next()); break;
                case "--connections": o.Connections = I(Next()); break;
                case "--warmup": o.WarmupSeconds = D(Next()); break;
                case "--capacity-seconds": o.CapacitySeconds = D(Next()); break;
                case "--insert-seconds": o.InsertSeconds = D(Next()); break;
                case "--max-ops": o.MaxOpsPerPhase = long.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--flush-users": o.FlushUsers = I(Next()); break;
                case "--blobs-per-flush-user": o.BlobsPerFlushUser = I(Next()); break;
                case "--worker-concurrency": o.WorkerConcurrency = Next().Split(',').Select(I).ToList(); break;
                case "--drain-timeout": o.DrainTimeoutSeconds = D(Next()); break;
                case "--server-log-level": o.ServerLogLevel = Next(); break;
                case "--no-compare-logging": o.CompareLogging = false; break;
                case "--server-env":
                    var kv = Next().Split('=', 2);
                    if (kv.Length != 2) throw new ArgumentException("--server-env takes KEY=VALUE");
                    o.ServerEnv[kv[0]] = kv[1];
                    break;
                case "--server-db-options": o.ServerDbOptions = Next(); break;
                case "--paced-fraction": o.PacedFraction = D(Next()); break;
                case "--paced-rate": o.PacedRate = D(Next()); break;
                case "--paced-seconds": o.PacedSeconds = D(Next()); break;
                case "--no-statement-stats": o.StatementStats = false; break;
                case "--scenarios": o.Scenarios = Next().Split(',').Select(I).ToHashSet(); break;
                case "--quiet-wait": o.QuietWaitSeconds = D(Next()); break;
                case "--read-sizes": o.ReadSizes = Next().Split(',').Select(I).ToList(); break;
                case "--read-seconds": o.ReadSeconds = D(Next()); break;
                case "--read-max-ops": o.ReadMaxOps = long.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--flush-embeddings": o.FlushEmbeddings = true; break;
                case "--llm-latency-ms": o.LlmLatencyMs = D(Next()); break;
                case "--llm-jitter": o.LlmJitter = D(Next()); break;
                case "--provider-rpm": o.ProviderRequestsPerMinute = I(Next()); break;
                case "--pace-users": o.PaceUsers = I(Next()); break;
                case "--pace-limited-users": o.PaceLimitedUsers = I(Next()); break;
                case "--pace-probe-rate": o.PaceProbeRate = D(Next()); break;
                case "--pace-drain-timeout": o.PaceDrainTimeoutSeconds = D(Next()); break;
                case "--quick":
                    o.Users = 1_000; o.CapacitySeconds = 4; o.InsertSeconds = 4; o.WarmupSeconds = 1; o.FlushUsers = 300;
                    o.WorkerConcurrency = [8]; o.CompareLogging = false; o.PacedSeconds = 3;
                    break;
                default: throw new ArgumentException($"unknown option {args[i]}");
            }
        }
        if (string.IsNullOrWhiteSpace(o.AdminConnectionString))
        {
            throw new ArgumentException("no PostgreSQL: pass --pg or set MEMOBASE_TEST_PG (bench/run starts a throwaway cluster)");
        }
        var root = FindRepoRoot();
        if (o.ServerDll.Length == 0) o.ServerDll = Path.Combine(root, "src", "Memobase.Server", "bin", "Release", "net10.0", "Memobase.Server.dll");
        o.ServerDll = Path.GetFullPath(o.ServerDll);
        if (!File.Exists(o.ServerDll)) throw new ArgumentException($"server not built: {o.ServerDll} (dotnet build src/Memobase.Server -c Release)");
        if (o.WorkDir.Length == 0) o.WorkDir = Directory.CreateTempSubdirectory("mbbench").FullName;
        if (o.OutFile.Length == 0)
        {
            o.OutFile = Path.Combine(root, "bench", "out", $"results-{DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)}.md");
        }
        return o;
    }

    private static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Memobase.sln"))) dir = dir.Parent;
        return dir?.FullName ?? Directory.GetCurrentDirectory();
    }
}
