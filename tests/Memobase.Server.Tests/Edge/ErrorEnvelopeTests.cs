using System.Net;
using System.Text;
using Memobase.Server.Tests.Infrastructure;
using Npgsql;

namespace Memobase.Server.Tests.Edge;

public sealed class ErrorEnvelopeTests(MemobaseApp app) : IClassFixture<MemobaseApp>
{
    [Theory]
    [InlineData("GET", "/api/v1/no-such-route", 404)]
    [InlineData("PATCH", "/api/v1/users", 405)]
    [InlineData("DELETE", "/api/v1/project/profile_config", 405)]
    public async Task Errors_without_a_body_of_their_own_carry_the_envelope(string method, string path, int status)
    {
        using var response = await app.Client().SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
        Assert.Equal(status, (int)response.StatusCode);
        var body = await response.Json();
        Assert.Equal(status, body["errno"]!.GetValue<int>());
        Assert.Null(body["data"]);
        Assert.NotEmpty(body["errmsg"]!.GetValue<string>());
    }
}

/// <summary>The server sees PostgreSQL through a TCP proxy that the test cuts and restores.</summary>
public sealed class DatabaseOutageTests : IAsyncLifetime
{
    private readonly MemobaseApp _app = new();
    private TcpProxy _proxy = null!;

    public async Task InitializeAsync()
    {
        await _app.InitializeAsync();
        var target = new NpgsqlConnectionStringBuilder(_app.ConnectionString);
        _proxy = new TcpProxy(target.Host!, target.Port);
        _proxy.Start();
        target.Host = "127.0.0.1";
        target.Port = _proxy.Port;
        target.Timeout = 3;
        _app.With("ConnectionStrings:Memobase", target.ConnectionString).With("worker_enabled", "false");
    }

    public async Task DisposeAsync()
    {
        _proxy.Dispose();
        await ((IAsyncLifetime)_app).DisposeAsync();
    }

    [Fact]
    public async Task Database_unavailable_is_errno_503_and_the_server_recovers_without_a_restart()
    {
        var client = _app.Client();
        var user = await client.CreateUserAsync();

        _proxy.Stop();
        foreach (var request in new Func<Task<HttpResponseMessage>>[]
                 {
                     () => client.GetAsync($"/api/v1/users/{user}"),
                     () => client.PostJson("/api/v1/users", "{}"),
                     () => client.GetAsync($"/api/v1/users/profile/{user}"),
                 })
        {
            using var response = await request();
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.ServiceUnavailable, $"HTTP {(int)response.StatusCode}: {text}");
            var body = await response.Json();
            Assert.Equal(503, body["errno"]!.GetValue<int>());
            Assert.Contains("database is unavailable", body["errmsg"]!.GetValue<string>());
            Assert.DoesNotContain("Npgsql", text);
            Assert.DoesNotContain("Exception", text);
            Assert.NotNull(response.Headers.RetryAfter);
        }

        _proxy.Start();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            using var response = await client.GetAsync($"/api/v1/users/{user}");
            if (response.StatusCode == HttpStatusCode.OK) break;
            Assert.True(DateTime.UtcNow < deadline, "the server did not recover after the database came back");
            await Task.Delay(200);
        }
        await client.GetAsync($"/api/v1/users/{user}").Ok();
    }
}
