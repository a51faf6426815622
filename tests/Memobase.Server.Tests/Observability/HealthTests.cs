using System.Net;
using Memobase.Server.Tests.Infrastructure;
using Npgsql;

namespace Memobase.Server.Tests.Observability;

/// <summary>Liveness and readiness, with the database cut off for this server only by a TCP proxy.</summary>
public sealed class HealthTests
{
    [Fact]
    public async Task Readiness_fails_when_the_database_goes_away_and_recovers_when_it_returns()
    {
        var app = new ProxiedApp();
        await ((IAsyncLifetime)app).InitializeAsync();
        try
        {
            var client = app.Client(token: null);
            var ready = await (await client.GetAsync("/health/ready")).Json();
            Assert.Equal("ok", ready["status"]!.GetValue<string>());
            Assert.Equal("ok", ready["checks"]!["database"]!.GetValue<string>());
            Assert.Equal("ok", ready["checks"]!["migrations"]!.GetValue<string>());
            Assert.Equal("ok", ready["checks"]!["worker"]!.GetValue<string>());

            await app.Proxy.StopAsync();
            using (var down = await client.GetAsync("/health/ready"))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, down.StatusCode);
                var body = await down.Json();
                Assert.Equal("failing", body["status"]!.GetValue<string>());
                Assert.StartsWith("unavailable", body["checks"]!["database"]!.GetValue<string>(), StringComparison.Ordinal);
            }
            using (var live = await client.GetAsync("/health/live")) Assert.Equal(HttpStatusCode.OK, live.StatusCode);

            app.Proxy.Start();
            await LlmApp.Eventually(async () =>
            {
                using var r = await client.GetAsync("/health/ready");
                return r.StatusCode == HttpStatusCode.OK;
            }, because: "readiness recovers once the database is reachable again");
        }
        finally
        {
            await ((IAsyncLifetime)app).DisposeAsync();
            await app.Proxy.DisposeAsync();
        }
    }

    [Fact]
    public async Task Readiness_reports_a_disabled_worker_as_such()
    {
        var app = new MemobaseApp().With("worker_enabled", "false");
        await ((IAsyncLifetime)app).InitializeAsync();
        try
        {
            var ready = await (await app.Client(token: null).GetAsync("/health/ready")).Json();
            Assert.Equal("ok", ready["status"]!.GetValue<string>());
            Assert.Equal("disabled", ready["checks"]!["worker"]!.GetValue<string>());
        }
        finally
        {
            await ((IAsyncLifetime)app).DisposeAsync();
        }
    }

    /// <summary>The server reaches its database through a <see cref="TcpProxy"/>.</summary>
    private sealed class ProxiedApp : MemobaseApp
    {
        public TcpProxy Proxy { get; private set; } = null!;

        public override async Task InitializeAsync()
        {
            await base.InitializeAsync();
            var direct = new NpgsqlConnectionStringBuilder(ConnectionString);
            Proxy = new TcpProxy(direct.Port);
            Proxy.Start();
            direct.Port = Proxy.Port;
            direct.Pooling = true;
            With("ConnectionStrings:Memobase", direct.ConnectionString);
        }
    }
}
