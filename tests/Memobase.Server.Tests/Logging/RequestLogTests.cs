using Memobase.Server.Tests.Infrastructure;

namespace Memobase.Server.Tests.Logging;

/// <summary>The request log of a real server process: Serilog.AspNetCore's line, through the async console sink.</summary>
public sealed class RequestLogTests
{
    private const string Token = "request-log-root";

    [Fact]
    public async Task Each_request_is_one_line_with_method_path_status_duration_and_request_id_and_never_the_query_string()
    {
        var db = await TestPostgres.CreateDatabaseAsync("reqlog");
        try
        {
            await using var server = ServerProcess.Start(new Dictionary<string, string?>
            {
                ["DATABASE_URL"] = TestPostgres.ToUrl(db),
                ["ACCESS_TOKEN"] = Token,
                ["MEMOBASE_WORKER_ENABLED"] = "false",
                ["MEMOBASE_ENABLE_EVENT_EMBEDDING"] = "false",
            });
            await server.WaitHealthyAsync();
            using var client = server.Client(Token);
            var user = await client.CreateUserAsync();
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/users/context/{user}?chats_str=%5B%7B%22role%22%3A%22user%22%2C%22content%22%3A%22my-secret-plan%22%7D%5D");
            request.Headers.Add("X-Request-ID", "log-line-probe-1");
            using var response = await client.SendAsync(request);
            Assert.Equal("log-line-probe-1", response.Headers.GetValues("X-Request-ID").Single());

            var expected = $"HTTP GET /api/v1/users/context/{user} responded 200 in ";
            await LlmApp.Eventually(() => Task.FromResult(server.Output.Contains(expected, StringComparison.Ordinal)), 30, "no request line in:\n" + server.Output);
            var line = server.Output.Split('\n').Single(l => l.Contains(expected, StringComparison.Ordinal));
            Assert.Matches(@"^\[\d\d:\d\d:\d\d INF\] Serilog\.AspNetCore\.RequestLoggingMiddleware: HTTP GET /api/v1/users/context/[0-9a-f-]{36} responded 200 in \d+\.\d ms \(request log-line-probe-1\)$", line.TrimEnd('\r'));
            Assert.DoesNotContain("my-secret-plan", server.Output);
            Assert.DoesNotContain("chats_str", server.Output);
            Assert.DoesNotContain(Token, server.Output);
        }
        finally
        {
            await TestPostgres.DropDatabaseAsync(db);
        }
    }
}
