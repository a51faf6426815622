using System.Net;
using System.Text.RegularExpressions;
using Memobase.Server.Tests.Infrastructure;

namespace Memobase.Server.Tests.AdminUi;

/// <summary>
/// Two server processes on one database: a console session started on one is valid on the other, and on a restarted
/// process, because the Data Protection key ring lives in PostgreSQL.
/// </summary>
public sealed partial class AdminReplicaSessionTests : IAsyncLifetime
{
    private const string Token = "replica-session-root";
    private string _db = "";

    public async Task InitializeAsync() => _db = await TestPostgres.CreateDatabaseAsync("afkeys");

    public Task DisposeAsync() => TestPostgres.DropDatabaseAsync(_db);

    private ServerProcess Start() => ServerProcess.Start(new Dictionary<string, string?>
    {
        ["DATABASE_URL"] = TestPostgres.ToUrl(_db),
        ["ACCESS_TOKEN"] = Token,
        ["MEMOBASE_WORKER_ENABLED"] = "false",
    });

    private static HttpClient Browser(ServerProcess server, CookieContainer jar) => new(new HttpClientHandler { CookieContainer = jar, AllowAutoRedirect = false })
    {
        BaseAddress = new Uri(server.BaseUrl),
    };

    [Fact]
    public async Task A_session_from_one_replica_opens_pages_and_posts_forms_on_another_and_after_a_restart()
    {
        var jar = new CookieContainer(); // cookies are not port-bound: both replicas on 127.0.0.1 see the same jar
        await using (var a = Start())
        await using (var b = Start())
        {
            await Task.WhenAll(a.WaitHealthyAsync(), b.WaitHealthyAsync());
            using var onA = Browser(a, jar);
            using var onB = Browser(b, jar);

            var loginForm = await onA.GetStringAsync("/admin/login");
            using var signedIn = await onA.PostAsync("/admin/login", new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["token"] = Token,
                ["__af"] = AntiforgeryField().Match(loginForm).Groups[1].Value,
            }));
            Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);

            using (var overviewOnB = await onB.GetAsync("/admin"))
            {
                Assert.Equal(HttpStatusCode.OK, overviewOnB.StatusCode);
            }
            // A form rendered by B (its antiforgery token) is accepted by A: creating a project.
            var projectsForm = await onB.GetStringAsync("/admin/projects");
            using var created = await onA.PostAsync("/admin/projects?handler=Create", new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["projectId"] = "replica-made",
                ["__af"] = AntiforgeryField().Match(projectsForm).Groups[1].Value,
            }));
            Assert.True(created.StatusCode is HttpStatusCode.OK or HttpStatusCode.Redirect, $"HTTP {(int)created.StatusCode}");
            using var api = a.Client(Token);
            var projects = (await api.GetAsync("/admin/v1/projects").Ok())!.AsArray().Select(p => p!["project_id"]!.GetValue<string>());
            Assert.Contains("replica-made", projects);
        }

        await using var restarted = Start();
        await restarted.WaitHealthyAsync();
        using var onRestarted = Browser(restarted, jar);
        using var overview = await onRestarted.GetAsync("/admin");
        Assert.Equal(HttpStatusCode.OK, overview.StatusCode);
    }

    [GeneratedRegex("name=\"__af\"[^>]*value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryField();
}
