using System.Diagnostics;
using System.Net.Http.Json;
using Memobase.Server.Tests.Fakes;
using Memobase.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Memobase.Server.Tests.AdminUi;

/// <summary>
/// The admin console in a real headless Chromium: Debian's <c>chromium</c> (scripts/test installs it) driven by npm
/// <c>playwright-core</c>, with npm <c>axe-core</c> run in every page (both installed into a scratch folder from
/// <c>tests/admin-ui/package.json</c>). This test starts the server as a process with the fake LLM, seeds two
/// projects through the API (a user flushed through the fake LLM, a job failed by it, a user of another project),
/// and runs <c>tests/admin-ui/admin-e2e.mjs</c>, which asserts the scenarios and saves a screenshot of every page at
/// 1280 and 390 px into <c>TestResults/admin-screenshots</c> next to this project.
/// </summary>
public sealed class AdminConsoleBrowserTests(ITestOutputHelper log) : IAsyncLifetime
{
    private const string RootToken = "admin-ui-root-token";
    private const string Chromium = "/usr/bin/chromium";
    private const string StoredConfig = "language: en\n";
    private const string WebhookUrl = "https://hooks.example.invalid/memobase";
    private static readonly TimeSpan NpmInstallTimeout = TimeSpan.FromMinutes(3);
    private static readonly TimeSpan BrowserRunTimeout = TimeSpan.FromMinutes(4);

    private string _db = "";
    private FakeOpenAiServer _fake = null!;
    private DirectoryInfo? _scratch;

    public async Task InitializeAsync()
    {
        _db = await TestPostgres.CreateDatabaseAsync("adminui");
        _fake = await FakeOpenAiServer.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (_fake is not null) await _fake.DisposeAsync();
        if (_db.Length > 0) await TestPostgres.DropDatabaseAsync(_db);
        NodeScripts.DeleteScratch(_scratch);
    }

    [Fact]
    public async Task The_admin_console_works_in_headless_Chromium_and_passes_axe()
    {
        var total = Stopwatch.StartNew();
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: install Debian's chromium package (./scripts/test does so when it is missing)");
        var (npm, node) = await NodeScripts.RequireNodeAsync("playwright-core and axe-core");

        await using var server = ServerProcess.Start(new Dictionary<string, string?>
        {
            ["DATABASE_URL"] = TestPostgres.ToUrl(_db),
            ["ACCESS_TOKEN"] = RootToken,
            ["MEMOBASE_LLM_BASE_URL"] = _fake.BaseUrl,
            ["MEMOBASE_LLM_API_KEY"] = "test-key",
            ["MEMOBASE_LLM_MAX_RETRIES"] = "0",
            ["MEMOBASE_JOB_MAX_ATTEMPTS"] = "1",
            ["MEMOBASE_ENABLE_EVENT_EMBEDDING"] = "false",
            ["MEMOBASE_PERSISTENT_CHAT_BLOBS"] = "true",
            ["MEMOBASE_WORKER_POLL_SECONDS"] = "0.2",
            ["MEMOBASE_USE_TIMEZONE"] = "UTC",
            ["Serilog__MinimumLevel"] = "Warning",
        });
        var healthy = server.WaitHealthyAsync();

        // Meanwhile: playwright-core and axe-core into a scratch folder.
        _scratch = Directory.CreateTempSubdirectory("mbadminui");
        NodeScripts.CopyProject(Path.Combine(NodeScripts.RepositoryRoot(), "tests", "admin-ui"), _scratch.FullName);
        var install = NodeScripts.RunAsync(npm, ["install", "--no-audit", "--no-fund", "--prefer-offline"], _scratch.FullName,
            new Dictionary<string, string?> { ["npm_config_update_notifier"] = "false" }, NpmInstallTimeout);
        await healthy;

        // Seed: project acme with a processed user and a failed job; project globex with a user of its own.
        using var root = server.Client(RootToken);
        var acmeToken = (await root.PostJson("/admin/v1/projects", new { project_id = "acme" }).Ok())!["token"]!.GetValue<string>();
        var globexToken = (await root.PostJson("/admin/v1/projects", new { project_id = "globex" }).Ok())!["token"]!.GetValue<string>();
        using var acme = server.Client(acmeToken);
        using var globex = server.Client(globexToken);
        await acme.PostJson("/api/v1/project/profile_config", new { profile_config = StoredConfig }).Ok();

        var user = await acme.CreateUserAsync();
        await acme.PostJson($"/api/v1/blobs/insert/{user}", Http.ChatBlob(("user", "Hi, I'm Gus and I love tennis"), ("assistant", "Nice to meet you, Gus"))).Ok();
        await acme.PostAsync($"/api/v1/users/buffer/{user}/chat?wait_process=true", null).Ok();
        var profile = (await acme.GetAsync($"/api/v1/users/profile/{user}").Ok())!["profiles"]!.AsArray()[0]!["content"]!.GetValue<string>();
        var eventTip = (await acme.GetAsync($"/api/v1/users/event/{user}").Ok())!["events"]!.AsArray()[0]!["event_data"]!["event_tip"]!.GetValue<string>();

        var failing = await acme.CreateUserAsync();
        _fake.ChatHandler = _ => FakeReply.Status(500);
        await acme.PostJson($"/api/v1/blobs/insert/{failing}", Http.ChatBlob(("user", "I work as a pilot"))).Ok();
        using (await acme.PostAsync($"/api/v1/users/buffer/{failing}/chat?wait_process=true", null))
        {
        }
        _fake.ChatHandler = null;
        var failed = (await root.GetAsync($"/admin/v1/jobs?status=failed&user_id={failing}").Ok())!["jobs"]!.AsArray().Single()!;
        var lastError = failed["last_error"]!.GetValue<string>();

        // A webhook of acme, disabled through the API, with one queued test message (.invalid never resolves).
        var webhook = (await acme.PostJson("/admin/v1/projects/acme/webhooks", new { url = WebhookUrl, events = new[] { "flush.completed" } }).Ok())!;
        await acme.PostAsync($"/admin/v1/projects/acme/webhooks/{webhook["id"]}/test", null).Ok();
        await acme.PatchAsync($"/admin/v1/projects/acme/webhooks/{webhook["id"]}", JsonContent.Create(new { enabled = false })).Ok();

        var other = await globex.CreateUserAsync();
        await globex.PostJson($"/api/v1/blobs/insert/{other}", Http.ChatBlob(("user", "globex secret plans"))).Ok();

        var (installCode, installOutput) = await install;
        Assert.True(installCode == 0, $"npm install failed with exit code {installCode} in {_scratch.FullName}:\n{installOutput}");

        var screenshots = Path.Combine(NodeScripts.RepositoryRoot(), "tests", "Memobase.Server.Tests", "TestResults", "admin-screenshots");
        var run = Stopwatch.StartNew();
        var (exitCode, output) = await NodeScripts.RunAsync(node, ["admin-e2e.mjs"], _scratch.FullName, new Dictionary<string, string?>
        {
            ["ADMIN_BASE_URL"] = server.BaseUrl,
            ["ADMIN_ROOT_TOKEN"] = RootToken,
            ["ADMIN_PROJECT"] = "acme",
            ["ADMIN_PROJECT_TOKEN"] = acmeToken,
            ["ADMIN_OTHER_PROJECT"] = "globex",
            ["ADMIN_OTHER_USER"] = other.ToString(),
            ["ADMIN_USER"] = user.ToString(),
            ["ADMIN_EXPECT_PROFILE"] = profile,
            ["ADMIN_EXPECT_EVENT"] = eventTip,
            ["ADMIN_FAILED_JOB"] = failed["id"]!.GetValue<string>(),
            ["ADMIN_EXPECT_ERROR"] = lastError[..Math.Min(40, lastError.Length)],
            ["ADMIN_WEBHOOK_URL"] = WebhookUrl,
            ["ADMIN_SCREENSHOTS"] = screenshots,
            ["ADMIN_CHROMIUM"] = Chromium,
        }, BrowserRunTimeout);
        log.WriteLine(output);
        log.WriteLine($"node admin-e2e.mjs: {run.Elapsed.TotalSeconds:F1} s; whole test: {total.Elapsed.TotalSeconds:F1} s; screenshots in {screenshots}");

        Assert.True(exitCode == 0, $"node admin-e2e.mjs exited with {exitCode}:\n{output}\n--- server output (tail) ---\n{NodeScripts.Tail(server.Output, 60)}");
        Assert.Contains("# all ", output, StringComparison.Ordinal);
        Assert.Equal(StoredConfig, (await acme.GetAsync("/api/v1/project/profile_config").Ok())!["profile_config"]!.GetValue<string>());
        Assert.Equal("done", (await root.GetAsync($"/admin/v1/jobs/{failed["id"]}").Ok())!["job"]!["status"]!.GetValue<string>());
        Assert.True(Directory.GetFiles(screenshots, "*.png").Length >= 18, "a screenshot of every page at both widths");
    }
}
