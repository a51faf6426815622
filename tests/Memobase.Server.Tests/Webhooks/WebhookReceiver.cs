using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace Memobase.Server.Tests.Webhooks;

/// <summary>One POST the receiver got: the Standard Webhooks headers and the raw body.</summary>
public sealed record ReceivedWebhook(string Id, string Timestamp, string Signature, string Body, IHeaderDictionary Headers, int AnsweredStatus)
{
    public JsonNode Json => JsonNode.Parse(Body)!;
    public string Type => Json["type"]!.GetValue<string>();
    public JsonNode Data => Json["data"]!;
}

/// <summary>
/// A real webhook receiver: Kestrel on a fixed 127.0.0.1 port, recording every POST to <c>/hook</c>. It can be stopped
/// (connection refused, as a receiver that is down) and started again on the same port, and <see cref="Answer"/> decides
/// the status code of each request.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly List<ReceivedWebhook> _received = [];
    private WebApplication? _app;

    public int Port { get; } = Infrastructure.ServerProcess.FreePort();
    public string Url => $"http://127.0.0.1:{Port}/hook";

    /// <summary>Status code for a request (default 200); decided before it is recorded.</summary>
    public Func<ReceivedWebhook, int> Answer { get; set; } = _ => 200;

    public IReadOnlyList<ReceivedWebhook> Received
    {
        get { lock (_received) return [.. _received]; }
    }

    /// <summary>Requests answered with 2xx.</summary>
    public IReadOnlyList<ReceivedWebhook> Accepted => Received.Where(r => r.AnsweredStatus is >= 200 and < 300).ToList();

    public static async Task<WebhookReceiver> StartAsync(bool listening = true)
    {
        var receiver = new WebhookReceiver();
        if (listening) await receiver.StartListeningAsync();
        return receiver;
    }

    public async Task StartListeningAsync()
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = typeof(WebhookReceiver).Assembly.GetName().Name });
        builder.WebHost.UseUrls($"http://127.0.0.1:{Port}");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapPost("/hook", async (HttpContext ctx) =>
        {
            using var reader = new StreamReader(ctx.Request.Body);
            var body = await reader.ReadToEndAsync();
            var headers = new HeaderDictionary();
            foreach (var (k, v) in ctx.Request.Headers) headers[k] = new StringValues(v.ToArray());
            var request = new ReceivedWebhook(headers["webhook-id"].ToString(), headers["webhook-timestamp"].ToString(),
                headers["webhook-signature"].ToString(), body, headers, 0);
            var status = Answer(request);
            lock (_received) _received.Add(request with { AnsweredStatus = status });
            ctx.Response.StatusCode = status;
        });
        await app.StartAsync();
        _app = app;
    }

    public async Task StopListeningAsync()
    {
        if (_app is null) return;
        await _app.StopAsync();
        await _app.DisposeAsync();
        _app = null;
    }

    public async ValueTask DisposeAsync() => await StopListeningAsync();
}
