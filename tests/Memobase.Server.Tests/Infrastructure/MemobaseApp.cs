using System.Net.Http.Headers;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Npgsql;

namespace Memobase.Server.Tests.Infrastructure;

/// <summary>
/// The real server (Program) on its own fresh database. Settings are the server's configuration keys
/// ("Memobase:&lt;upstream key&gt;"); the defaults make the worker react fast and point the LLM nowhere.
/// </summary>
public class MemobaseApp : WebApplicationFactory<Program>, IAsyncLifetime
{
    public const string RootToken = "root-test-token";

    private readonly Dictionary<string, string?> _settings = new(StringComparer.OrdinalIgnoreCase)
    {
        ["Memobase:access_token"] = RootToken,
        ["Memobase:worker_poll_seconds"] = "0.2",
        ["Memobase:worker_maintenance_seconds"] = "0.2",
        ["Memobase:job_lease_seconds"] = "5",
        ["Memobase:job_retry_base_delay_seconds"] = "0.05",
        ["Memobase:wait_process_timeout_seconds"] = "30",
        ["Memobase:llm_timeout_seconds"] = "5",
        ["Memobase:llm_retry_base_delay_ms"] = "10",
        ["Memobase:use_timezone"] = "UTC",
        ["Memobase:enable_event_embedding"] = "false",
        ["Serilog:MinimumLevel"] = "Warning",
    };

    public string ConnectionString { get; private set; } = "";

    /// <summary>Override or add configuration before the first request.</summary>
    public MemobaseApp With(string key, string? value)
    {
        _settings[key.Contains(':', StringComparison.Ordinal) ? key : "Memobase:" + key] = value;
        return this;
    }

    public virtual async Task InitializeAsync()
    {
        ConnectionString = await TestPostgres.CreateDatabaseAsync("mb");
        _settings["ConnectionStrings:Memobase"] = ConnectionString;
    }

    async Task IAsyncLifetime.DisposeAsync()
    {
        await base.DisposeAsync();
        await TestPostgres.DropDatabaseAsync(ConnectionString);
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        foreach (var (key, value) in _settings) builder.UseSetting(key, value);
    }

    public HttpClient Client(string? token = RootToken)
    {
        var client = CreateClient();
        if (token is not null) client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    public async Task<T> ScalarAsync<T>(string sql, params object[] args)
    {
        await using var conn = new NpgsqlConnection(ConnectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, conn);
        foreach (var a in args) cmd.Parameters.Add(new NpgsqlParameter { Value = a });
        return (T)(await cmd.ExecuteScalarAsync())!;
    }
}
