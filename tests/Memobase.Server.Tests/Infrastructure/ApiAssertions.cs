using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace Memobase.Server.Tests.Infrastructure;

/// <summary>Small helpers for Memobase's envelope over real HTTP.</summary>
public static class Http
{
    public static async Task<JsonNode> Json(this HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        return JsonNode.Parse(text) ?? throw new InvalidOperationException("empty body");
    }

    /// <summary>Asserts HTTP 200 and errno 0 and returns <c>data</c>.</summary>
    public static async Task<JsonNode?> Ok(this Task<HttpResponseMessage> request)
    {
        using var response = await request;
        var body = await response.Json();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"HTTP {(int)response.StatusCode}: {body.ToJsonString()}");
        Assert.True(body["errno"]!.GetValue<int>() == 0, $"errno != 0: {body.ToJsonString()}");
        Assert.Equal("", body["errmsg"]!.GetValue<string>());
        return body["data"];
    }

    /// <summary>Asserts HTTP 200 with the given errno (a business error) and returns errmsg.</summary>
    public static async Task<string> Fails(this Task<HttpResponseMessage> request, int errno)
    {
        using var response = await request;
        var body = await response.Json();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"HTTP {(int)response.StatusCode}: {body.ToJsonString()}");
        Assert.Equal(errno, body["errno"]!.GetValue<int>());
        Assert.Null(body["data"]);
        return body["errmsg"]!.GetValue<string>();
    }

    /// <summary>Asserts HTTP 422 with FastAPI's detail list and returns the first error.</summary>
    public static async Task<JsonNode> Invalid(this Task<HttpResponseMessage> request, params object[] loc)
    {
        using var response = await request;
        var body = await response.Json();
        Assert.True(response.StatusCode == HttpStatusCode.UnprocessableEntity, $"HTTP {(int)response.StatusCode}: {body.ToJsonString()}");
        var detail = body["detail"]!.AsArray();
        Assert.NotEmpty(detail);
        foreach (var e in detail)
        {
            Assert.NotNull(e!["msg"]);
            Assert.NotNull(e["type"]);
        }
        var first = detail[0]!;
        if (loc.Length > 0)
        {
            var actual = first["loc"]!.AsArray().Select(x => x!.ToString()).ToArray();
            Assert.Equal(loc.Select(x => x.ToString()!).ToArray(), actual);
        }
        return first;
    }

    public static Task<HttpResponseMessage> PostJson(this HttpClient client, string url, string json)
        => client.PostAsync(url, new StringContent(json, Encoding.UTF8, "application/json"));

    public static Task<HttpResponseMessage> PutJson(this HttpClient client, string url, string json)
        => client.PutAsync(url, new StringContent(json, Encoding.UTF8, "application/json"));

    public static Task<HttpResponseMessage> PostJson(this HttpClient client, string url, object body)
        => client.PostAsJsonAsync(url, body);

    public static async Task<Guid> CreateUserAsync(this HttpClient client, object? data = null)
    {
        var created = await client.PostJson("/api/v1/users", new { data }).Ok();
        return Guid.Parse(created!["id"]!.GetValue<string>());
    }

    public static string ChatBlob(params (string Role, string Content)[] messages) =>
        new JsonObject
        {
            ["blob_type"] = "chat",
            ["blob_data"] = new JsonObject
            {
                ["messages"] = new JsonArray(messages.Select(m => (JsonNode)new JsonObject { ["role"] = m.Role, ["content"] = m.Content }).ToArray()),
            },
        }.ToJsonString();
}
