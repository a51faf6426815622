using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Memobase.Server.Tests.Fakes;
using Memobase.Server.Tests.Infrastructure;
using Memobase.Server.Tests.Sdk;
using Xunit.Abstractions;

namespace Memobase.Server.Tests.Mcp;

/// <summary>
/// The official TypeScript MCP client (<c>@modelcontextprotocol/sdk</c> 1.32.2, installed from npm into a scratch folder
/// and used unchanged) against the real server process over Streamable HTTP: <c>tests/mcp-ts/mcp-e2e.mjs</c> calls every
/// tool and checks the results against the REST API; this test provides a fresh database, the fake LLM with bag-of-words
/// embeddings, and the server.
/// </summary>
public sealed class McpTypeScriptClientTests(ITestOutputHelper log) : IAsyncLifetime
{
    private const string Token = "mcp-ts-e2e-root-token";
    private const int EmbeddingDim = 256;
    private static readonly TimeSpan NpmInstallTimeout = TimeSpan.FromMinutes(3);
    private static readonly TimeSpan NodeRunTimeout = TimeSpan.FromMinutes(5);

    private string _db = "";
    private FakeOpenAiServer _fake = null!;
    private DirectoryInfo? _scratch;

    public async Task InitializeAsync()
    {
        _db = await TestPostgres.CreateDatabaseAsync("mcpts");
        _fake = await FakeOpenAiServer.StartAsync();
        _fake.EmbeddingDimension = EmbeddingDim;
        _fake.EmbeddingHandler = r => FakeReply.Vectors(r.Inputs.Select(t => TypeScriptSdkTests.BagOfWords(t, EmbeddingDim)).ToList());
    }

    public async Task DisposeAsync()
    {
        if (_fake is not null) await _fake.DisposeAsync();
        if (_db.Length > 0) await TestPostgres.DropDatabaseAsync(_db);
        NodeScripts.DeleteScratch(_scratch);
    }

    [Fact]
    public async Task The_official_TypeScript_MCP_client_calls_every_tool_and_the_REST_API_agrees()
    {
        var total = Stopwatch.StartNew();
        var (npm, node) = await NodeScripts.RequireNodeAsync("@modelcontextprotocol/sdk 1.32.2");

        await using var server = ServerProcess.Start(new Dictionary<string, string?>
        {
            ["DATABASE_URL"] = TestPostgres.ToUrl(_db),
            ["ACCESS_TOKEN"] = Token,
            ["MEMOBASE_LLM_BASE_URL"] = _fake.BaseUrl,
            ["MEMOBASE_LLM_API_KEY"] = "test-key",
            ["MEMOBASE_ENABLE_EVENT_EMBEDDING"] = "true",
            ["MEMOBASE_EMBEDDING_BASE_URL"] = _fake.BaseUrl,
            ["MEMOBASE_EMBEDDING_API_KEY"] = "test-embedding-key",
            ["MEMOBASE_EMBEDDING_DIM"] = EmbeddingDim.ToString(CultureInfo.InvariantCulture),
            ["MEMOBASE_WORKER_POLL_SECONDS"] = "0.2",
            ["MEMOBASE_USE_TIMEZONE"] = "UTC",
            ["Serilog__MinimumLevel"] = "Warning",
        });
        var healthy = server.WaitHealthyAsync();

        // Meanwhile the client project goes to a scratch folder and npm installs its pinned packages there.
        _scratch = Directory.CreateTempSubdirectory("mbmcpts");
        NodeScripts.CopyProject(Path.Combine(NodeScripts.RepositoryRoot(), "tests", "mcp-ts"), _scratch.FullName);
        var install = Stopwatch.StartNew();
        var (installCode, installOutput) = await NodeScripts.RunAsync(npm, ["install", "--no-audit", "--no-fund", "--prefer-offline"], _scratch.FullName,
            new Dictionary<string, string?> { ["npm_config_update_notifier"] = "false" }, NpmInstallTimeout);
        await healthy;
        Assert.True(installCode == 0, $"npm install --no-audit --no-fund failed with exit code {installCode} in {_scratch.FullName}:\n{installOutput}");
        log.WriteLine($"npm install: {install.Elapsed.TotalSeconds:F1} s");

        var run = Stopwatch.StartNew();
        var (exitCode, output) = await NodeScripts.RunAsync(node, ["mcp-e2e.mjs"], _scratch.FullName, new Dictionary<string, string?>
        {
            ["MEMOBASE_URL"] = server.BaseUrl,
            ["MEMOBASE_TOKEN"] = Token,
        }, NodeRunTimeout);
        log.WriteLine(output);
        log.WriteLine($"node mcp-e2e.mjs: {run.Elapsed.TotalSeconds:F1} s; whole test: {total.Elapsed.TotalSeconds:F1} s");

        Assert.True(exitCode == 0,
            $"node mcp-e2e.mjs exited with {exitCode}:\n{output}\n--- server output (tail) ---\n{NodeScripts.Tail(server.Output, 80)}");
        Assert.Contains("# all ", output, StringComparison.Ordinal);
        Assert.Empty(_fake.HandlerErrors);
        Assert.NotEmpty(_fake.EmbeddingRequests);
    }
}
