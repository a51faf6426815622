using Memobase.Server.Tests.Infrastructure;

namespace Memobase.Server.Tests.Api;

public sealed class ProjectIsolationTests(MemobaseApp app) : IClassFixture<MemobaseApp>
{
    [Fact]
    public async Task A_second_project_cannot_see_or_touch_the_first_projects_users_and_blobs()
    {
        var root = app.Client();
        var a = app.Client((await root.PostJson("/admin/v1/projects", new { project_id = "iso-a" }).Ok())!["token"]!.GetValue<string>());
        var b = app.Client((await root.PostJson("/admin/v1/projects", new { project_id = "iso-b" }).Ok())!["token"]!.GetValue<string>());

        var user = await a.CreateUserAsync(new { owner = "a" });
        var blob = (await a.PostJson($"/api/v1/blobs/insert/{user}", Http.ChatBlob(("user", "secret of a"))).Ok())!["id"]!.GetValue<string>();

        await b.GetAsync($"/api/v1/users/{user}").Fails(404);
        await b.PutJson($"/api/v1/users/{user}", "{\"owner\":\"b\"}").Fails(404);
        await b.DeleteAsync($"/api/v1/users/{user}").Fails(404);
        await b.GetAsync($"/api/v1/blobs/{user}/{blob}").Fails(404);
        await b.PostJson($"/api/v1/blobs/insert/{user}", Http.ChatBlob(("user", "intrusion"))).Fails(404);
        Assert.Empty((await b.GetAsync($"/api/v1/users/blobs/{user}/chat").Ok())!["ids"]!.AsArray());
        Assert.Empty((await b.GetAsync($"/api/v1/users/buffer/capacity/{user}/chat?status=idle").Ok())!["ids"]!.AsArray());
        await b.DeleteAsync($"/api/v1/blobs/{user}/{blob}").Ok(); // a no-op for b
        Assert.Empty((await root.GetAsync($"/api/v1/users/blobs/{user}/chat").Ok())!["ids"]!.AsArray()); // root is its own project

        // a still has everything
        Assert.Equal("a", (await a.GetAsync($"/api/v1/users/{user}").Ok())!["data"]!["owner"]!.GetValue<string>());
        await a.GetAsync($"/api/v1/blobs/{user}/{blob}").Ok();

        // the same user id can exist in several projects independently
        await b.PostJson("/api/v1/users", new { id = user.ToString(), data = new { owner = "b" } }).Ok();
        Assert.Equal("b", (await b.GetAsync($"/api/v1/users/{user}").Ok())!["data"]!["owner"]!.GetValue<string>());
        Assert.Equal("a", (await a.GetAsync($"/api/v1/users/{user}").Ok())!["data"]!["owner"]!.GetValue<string>());
        await b.DeleteAsync($"/api/v1/users/{user}").Ok();
        await a.GetAsync($"/api/v1/blobs/{user}/{blob}").Ok();
    }
}
