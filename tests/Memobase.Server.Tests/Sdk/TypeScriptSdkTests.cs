using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Memobase.Server.Tests.Fakes;
using Memobase.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Memobase.Server.Tests.Sdk;

/// <summary>
/// The official TypeScript SDK (<c>@memobase/memobase</c> 0.0.18, installed from npm into a scratch folder and used
/// unchanged) drives every method it has against the real server process: <c>tests/sdk-ts/sdk-e2e.mjs</c> asserts the
/// results; this test provides a fresh database, the fake LLM and a bag-of-words embeddings endpoint, and the server.
/// </summary>
public sealed partial class TypeScriptSdkTests(ITestOutputHelper log) : IAsyncLifetime
{
    private const string Token = "sdk-ts-e2e-root-token";
    private const string EmbeddingKey = "sdk-ts-embedding-key";
    private const int EmbeddingDim = 1536;
    private static readonly TimeSpan NpmInstallTimeout = TimeSpan.FromMinutes(3);
    private static readonly TimeSpan NodeRunTimeout = TimeSpan.FromMinutes(2);

    private string _db = "";
    private FakeOpenAiServer _fake = null!;
    private DirectoryInfo? _scratch;

    public async Task InitializeAsync()
    {
        _db = await TestPostgres.CreateDatabaseAsync("sdkts");
        _fake = await FakeOpenAiServer.StartAsync();
        _fake.EmbeddingDimension = EmbeddingDim;
        // Texts that share words are similar, texts that share none are orthogonal: semantic search becomes checkable.
        _fake.EmbeddingHandler = r => FakeReply.Vectors(r.Inputs.Select(t => BagOfWords(t, EmbeddingDim)).ToList());
    }

    public async Task DisposeAsync()
    {
        if (_fake is not null) await _fake.DisposeAsync();
        if (_db.Length > 0) await TestPostgres.DropDatabaseAsync(_db);
        NodeScripts.DeleteScratch(_scratch);
    }

    [Fact]
    public async Task The_official_TypeScript_SDK_0_0_18_drives_every_method_against_a_live_server()
    {
        var total = Stopwatch.StartNew();
        var (npm, node) = await NodeScripts.RequireNodeAsync("@memobase/memobase 0.0.18");

        // 1. Fresh database (InitializeAsync), fake LLM + embeddings, and the server as an OS process.
        await using var server = ServerProcess.Start(new Dictionary<string, string?>
        {
            ["DATABASE_URL"] = TestPostgres.ToUrl(_db),
            ["ACCESS_TOKEN"] = Token,
            ["MEMOBASE_LLM_BASE_URL"] = _fake.BaseUrl,
            ["MEMOBASE_LLM_API_KEY"] = "test-key",
            ["MEMOBASE_ENABLE_EVENT_EMBEDDING"] = "true",
            ["MEMOBASE_EMBEDDING_BASE_URL"] = _fake.BaseUrl,
            ["MEMOBASE_EMBEDDING_API_KEY"] = EmbeddingKey,
            ["MEMOBASE_EMBEDDING_DIM"] = EmbeddingDim.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["MEMOBASE_PERSISTENT_CHAT_BLOBS"] = "true",
            ["MEMOBASE_WORKER_POLL_SECONDS"] = "0.2",
            ["MEMOBASE_USE_TIMEZONE"] = "UTC",
            ["Serilog__MinimumLevel"] = "Warning",
        });
        var healthy = server.WaitHealthyAsync();

        // 2. Meanwhile the SDK project goes to a scratch folder and npm installs @memobase/memobase 0.0.18 there.
        _scratch = Directory.CreateTempSubdirectory("mbsdkts");
        NodeScripts.CopyProject(Path.Combine(NodeScripts.RepositoryRoot(), "tests", "sdk-ts"), _scratch.FullName);
        var installWatch = Stopwatch.StartNew();
        var (installCode, installOutput) = await NodeScripts.RunAsync(npm, ["install", "--no-audit", "--no-fund", "--prefer-offline"], _scratch.FullName,
            new Dictionary<string, string?> { ["npm_config_update_notifier"] = "false" }, NpmInstallTimeout);
        installWatch.Stop();
        await healthy;
        Assert.True(installCode == 0, $"npm install --no-audit --no-fund failed with exit code {installCode} in {_scratch.FullName}:\n{installOutput}");
        log.WriteLine($"npm install: {installWatch.Elapsed.TotalSeconds:F1} s");

        // 3. The SDK script against the live server.
        var runWatch = Stopwatch.StartNew();
        var (exitCode, output) = await NodeScripts.RunAsync(node, ["sdk-e2e.mjs"], _scratch.FullName, new Dictionary<string, string?>
        {
            ["MEMOBASE_URL"] = server.BaseUrl,
            ["MEMOBASE_TOKEN"] = Token,
            ["MEMOBASE_API_KEY"] = null,
        }, NodeRunTimeout);
        runWatch.Stop();
        log.WriteLine(output);
        log.WriteLine($"node sdk-e2e.mjs: {runWatch.Elapsed.TotalSeconds:F1} s; whole test: {total.Elapsed.TotalSeconds:F1} s");

        // 4. Exit code 0, else the script's output (which names the failed check) and the server's log tail.
        Assert.True(exitCode == 0,
            $"node sdk-e2e.mjs exited with {exitCode}:\n{output}\n--- server output (tail) ---\n{NodeScripts.Tail(server.Output, 80)}");
        Assert.Contains("# all ", output, StringComparison.Ordinal);
        Assert.Empty(_fake.HandlerErrors);
        // The searches really went through the configured embeddings endpoint.
        Assert.NotEmpty(_fake.EmbeddingRequests);
        Assert.All(_fake.EmbeddingRequests, r => Assert.Equal($"Bearer {EmbeddingKey}", r.Headers.GetValueOrDefault("Authorization")));
    }

    /// <summary>A normalised bag-of-words vector: one hashed axis per lower-case word of 3+ letters.</summary>
    internal static float[] BagOfWords(string text, int dimension)
    {
        var v = new float[dimension];
        foreach (Match word in Word().Matches(text.ToLowerInvariant()))
        {
            var hash = BitConverter.ToUInt32(SHA256.HashData(Encoding.UTF8.GetBytes(word.Value)), 0);
            v[hash % (uint)dimension] += 1;
        }
        var norm = Math.Sqrt(v.Sum(x => (double)x * x));
        if (norm == 0)
        {
            v[0] = 1;
            return v;
        }
        for (var i = 0; i < v.Length; i++) v[i] = (float)(v[i] / norm);
        return v;
    }

    [GeneratedRegex("[a-z]{3,}")]
    private static partial Regex Word();
}
