using Memobase.Server.Data;
using Memobase.Server.Infrastructure;
using Microsoft.Extensions.Configuration;
using Memobase.Server.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Memobase.Server.Tests.Api;

public sealed class ConfigurationTests
{
    [Fact]
    public void Database_url_becomes_an_npgsql_connection_string()
    {
        var cs = new NpgsqlConnectionStringBuilder(PostgresUrl.ToConnectionString("postgres://memobase:hello%40world@db.example:15432/memo?sslmode=require"));
        Assert.Equal("db.example", cs.Host);
        Assert.Equal(15432, cs.Port);
        Assert.Equal("memobase", cs.Username);
        Assert.Equal("hello@world", cs.Password);
        Assert.Equal("memo", cs.Database);
        Assert.Equal(SslMode.Require, cs.SslMode);
        Assert.Equal(5432, new NpgsqlConnectionStringBuilder(PostgresUrl.ToConnectionString("postgresql+psycopg2://u:p@h/d")).Port);
        Assert.Throws<InvalidOperationException>(() => PostgresUrl.ToConnectionString("mysql://u:p@h/d"));
    }

    [Fact]
    public void Config_yaml_and_memobase_env_overrides_map_to_the_memobase_section()
    {
        var dir = Directory.CreateTempSubdirectory("cfg").FullName;
        File.WriteAllText(Path.Combine(dir, "config.yaml"), """
            max_chat_blob_buffer_token_size: 64
            persistent_chat_blobs: true
            llm_base_url: http://yaml.example/v1
            event_tags:
              - name: emotion
                description: the user's mood
              - goal
            """);
        var env = new Dictionary<string, string?>
        {
            ["MEMOBASE_LLM_BASE_URL"] = "http://env.example/v1",
            ["MEMOBASE_ADDITIONAL_USER_PROFILES"] = """[{"topic":"pets","sub_topics":["dog"]}]""",
            ["DATABASE_URL"] = "postgres://a:b@h:1/d",
            ["ACCESS_TOKEN"] = "tok",
            ["LOG_FORMAT"] = "json",
        };
        var config = new ConfigurationBuilder().AddUpstreamMemobaseConfiguration(env, dir).Build();
        Assert.Equal("64", config["Memobase:max_chat_blob_buffer_token_size"]);
        Assert.Equal("true", config["Memobase:persistent_chat_blobs"]);
        Assert.Equal("http://env.example/v1", config["Memobase:llm_base_url"]);
        Assert.Equal("emotion", config["Memobase:event_tags:0:name"]);
        Assert.Equal("goal", config["Memobase:event_tags:1"]);
        Assert.Equal("pets", config["Memobase:additional_user_profiles:0:topic"]);
        Assert.Equal("dog", config["Memobase:additional_user_profiles:0:sub_topics:0"]);
        Assert.Equal("tok", config["Memobase:access_token"]);
        Assert.Equal("json", config["Memobase:log_format"]);
        Assert.Contains("Host=h", config.GetConnectionString("Memobase"));
        Directory.Delete(dir, true);
    }

    [Theory]
    [InlineData(null, -1)] // automatic: 4 × cores within 8..64
    [InlineData("0", -1)]
    [InlineData("2", 2)]
    [InlineData("200", 200)]
    public void Pool_size_is_automatic_by_default_and_bounds_the_data_source(string? setting, int expected)
    {
        if (expected < 0) expected = Math.Clamp(4 * Environment.ProcessorCount, 8, 64);
        using var services = DatabaseServices(setting);
        Assert.Equal(expected, services.GetRequiredService<IOptions<DatabaseOptions>>().Value.EffectiveMaxPoolSize);
        var dataSource = services.GetRequiredService<NpgsqlDataSource>();
        Assert.Equal(expected, new NpgsqlConnectionStringBuilder(dataSource.ConnectionString).MaxPoolSize);
        var dedicated = new NpgsqlConnectionStringBuilder(services.GetRequiredService<DedicatedConnections>().ConnectionString);
        Assert.False(dedicated.Pooling); // LISTEN and the migration lock never take a pooled connection
        Assert.Equal(30, dedicated.KeepAlive);
    }

    [Theory]
    [InlineData("1")]
    [InlineData("-3")]
    [InlineData("1001")]
    public void Pool_size_of_one_or_out_of_range_is_rejected(string setting)
    {
        using var services = DatabaseServices(setting);
        var ex = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<DatabaseOptions>>().Value);
        Assert.Contains("db_max_pool_size", string.Join(" ", ex.Failures), StringComparison.OrdinalIgnoreCase);
    }

    private static ServiceProvider DatabaseServices(string? poolSize)
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Memobase"] = "Host=127.0.0.1;Port=1;Database=none;Username=u;Password=p",
            ["Memobase:db_max_pool_size"] = poolSize,
        }).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(config);
        services.AddLogging();
        services.AddMemobaseDatabase(config);
        return services.BuildServiceProvider();
    }

    [Fact]
    public async Task Server_without_access_token_refuses_to_start_and_says_why()
    {
        var cs = await TestPostgres.CreateDatabaseAsync("cfg");
        try
        {
            await using var server = ServerProcess.Start(new Dictionary<string, string?> { ["DATABASE_URL"] = TestPostgres.ToUrl(cs) });
            var exit = await server.WaitForExitAsync(TimeSpan.FromSeconds(60));
            Assert.Equal(1, exit);
            Assert.Contains("ACCESS_TOKEN is not set", server.Output);
            Assert.DoesNotContain("   at ", server.Output); // no stack trace
        }
        finally
        {
            await TestPostgres.DropDatabaseAsync(cs);
        }
    }

    [Fact]
    public async Task Upstream_environment_and_config_yaml_configure_a_real_server_process()
    {
        var cs = await TestPostgres.CreateDatabaseAsync("cfg");
        try
        {
            // config.yaml lowers the auto-flush threshold; the MEMOBASE_ variable wins over it for persistence.
            await using var server = ServerProcess.Start(
                new Dictionary<string, string?>
                {
                    ["DATABASE_URL"] = TestPostgres.ToUrl(cs),
                    ["ACCESS_TOKEN"] = "upstream-secret",
                    ["MEMOBASE_WORKER_ENABLED"] = "false",
                    ["LOG_FORMAT"] = "json",
                },
                new Dictionary<string, string> { ["config.yaml"] = "max_chat_blob_buffer_token_size: 5\n" });
            await server.WaitHealthyAsync();
            var client = server.Client("upstream-secret");
            var user = await client.CreateUserAsync();
            await client.PostJson($"/api/v1/blobs/insert/{user}", Http.ChatBlob(("user", "this message is longer than five tokens for sure"))).Ok();

            await using var conn = new NpgsqlConnection(cs);
            await conn.OpenAsync();
            await using var cmd = new NpgsqlCommand("SELECT trigger FROM flush_jobs WHERE user_id = $1", conn) { Parameters = { new() { Value = user } } };
            Assert.Equal("auto", await cmd.ExecuteScalarAsync()); // the threshold from config.yaml triggered a flush job
            Assert.Contains("\"RequestId\"", server.Output); // JSON log lines (LOG_FORMAT=json)
            Assert.DoesNotContain("upstream-secret", server.Output); // the token is never logged
            Assert.DoesNotContain("longer than five tokens", server.Output); // nor message contents
        }
        finally
        {
            await TestPostgres.DropDatabaseAsync(cs);
        }
    }
}
