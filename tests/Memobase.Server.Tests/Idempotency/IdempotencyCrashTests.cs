using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Memobase.Server.Tests.Infrastructure;
using Npgsql;

namespace Memobase.Server.Tests.Idempotency;

/// <summary>
/// Issue 12 §1/§5: a server process killed between the commit of an insert and its response. The retry (to another
/// process on the same database) gets the original blob id, and the blob exists once.
/// </summary>
public sealed class IdempotencyCrashTests : IAsyncLifetime
{
    private const string Token = "idempotency-crash-root";
    private const string CrashKey = "crash-after-commit-7f3a";
    private string _db = "";

    public async Task InitializeAsync() => _db = await TestPostgres.CreateDatabaseAsync("idem");

    public Task DisposeAsync() => TestPostgres.DropDatabaseAsync(_db);

    private ServerProcess Start(bool crashOnKey) => ServerProcess.Start(new Dictionary<string, string?>
    {
        ["DATABASE_URL"] = TestPostgres.ToUrl(_db),
        ["ACCESS_TOKEN"] = Token,
        ["MEMOBASE_ENABLE_EVENT_EMBEDDING"] = "false",
        ["MEMOBASE_IDEMPOTENCY_TEST_CRASH_KEY"] = crashOnKey ? CrashKey : null,
        ["Serilog__MinimumLevel"] = "Warning",
    });

    private async Task<T> Scalar<T>(string sql, params object[] args)
    {
        await using var conn = new NpgsqlConnection(_db);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, conn);
        foreach (var a in args) cmd.Parameters.Add(new NpgsqlParameter { Value = a });
        return (T)(await cmd.ExecuteScalarAsync())!;
    }

    private static HttpRequestMessage Insert(Guid user, string key)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/api/v1/blobs/insert/{user}")
        {
            Content = new StringContent(Http.ChatBlob(("user", "Please remember this exactly once")), Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("Idempotency-Key", key);
        return request;
    }

    [Fact]
    public async Task A_retry_after_the_server_died_between_commit_and_response_gets_the_original_blob_id()
    {
        Guid user;
        await using (var crashing = Start(crashOnKey: true))
        {
            await crashing.WaitHealthyAsync();
            using var client = crashing.Client(Token);
            user = await client.CreateUserAsync();

            // The process kills itself after committing this request's write: the client gets no response.
            await Assert.ThrowsAnyAsync<HttpRequestException>(() => client.SendAsync(Insert(user, CrashKey)));
            Assert.NotEqual(0, await crashing.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        }
        var stored = await Scalar<Guid>("SELECT id FROM blobs WHERE user_id = $1", user);

        await using var restarted = Start(crashOnKey: false);
        await restarted.WaitHealthyAsync();
        using var retry = restarted.Client(Token);
        using var response = await retry.SendAsync(Insert(user, CrashKey));
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(0, body["errno"]!.GetValue<int>());
        Assert.Equal(stored, Guid.Parse(body["data"]!["id"]!.GetValue<string>()));
        Assert.Equal("true", response.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(1L, await Scalar<long>("SELECT count(*) FROM blobs WHERE user_id = $1", user));
        Assert.Equal(1L, await Scalar<long>("SELECT count(*) FROM buffer_entries WHERE user_id = $1", user));
    }
}
