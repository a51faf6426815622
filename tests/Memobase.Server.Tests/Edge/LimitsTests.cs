using System.Text.Json;
using Memobase.Server.Tests.Infrastructure;

namespace Memobase.Server.Tests.Edge;

public sealed class LimitsTests(MemobaseApp app) : IClassFixture<MemobaseApp>
{
    [Theory]
    [InlineData("[", 30_000)]
    [InlineData("{a: ", 15_000)]
    public async Task Deeply_nested_profile_config_yaml_is_a_business_error_not_a_crash(string open, int depth)
    {
        var yaml = string.Concat(Enumerable.Repeat(open, depth));
        var body = JsonSerializer.Serialize(new { profile_config = yaml });
        var message = await app.Client().PostJson("/api/v1/project/profile_config", body).Fails(400);
        Assert.Contains("nesting deeper than 32", message);
        await app.Client().GetAsync("/api/v1/project/profile_config").Ok();
    }

    [Fact]
    public async Task Yaml_aliases_cannot_expand_into_billions_of_nodes()
    {
        var lines = new List<string> { "a0: &a0 [x, x, x, x, x, x, x, x, x, x]" };
        for (var i = 1; i < 10; i++) lines.Add($"a{i}: &a{i} [{string.Join(", ", Enumerable.Repeat($"*a{i - 1}", 10))}]");
        var body = JsonSerializer.Serialize(new { profile_config = string.Join('\n', lines) });
        var message = await app.Client().PostJson("/api/v1/project/profile_config", body).Fails(400);
        Assert.Contains("more than 100000 nodes", message);
    }

    [Theory]
    [InlineData("/api/v1/users", """{"data": {"n": 1e200000}}""")]
    [InlineData("/api/v1/users", """{"data": {"n": -1e-200000}}""")]
    public async Task A_number_beyond_what_postgresql_can_store_is_a_422_not_errno_500(string url, string body)
    {
        var detail = await app.Client().PostJson(url, body).Invalid("body");
        Assert.Contains("cannot be stored", detail.ToJsonString());
        await app.Client().CreateUserAsync();
    }
}
