using System.Diagnostics;
using Memobase.Server.Llm;
using Memobase.Server.Telemetry;

namespace Memobase.Server.Llm;

/// <summary>
/// Metrics, span and per-call record of one LLM or embedding call (retries included). The span follows OpenTelemetry's
/// <c>gen_ai</c> conventions: name <c>"{operation} {model}"</c>, kind Client, <c>gen_ai.operation.name</c>,
/// <c>gen_ai.provider.name</c>, <c>gen_ai.request.model</c>, <c>gen_ai.response.model</c>,
/// <c>gen_ai.usage.input_tokens</c>, <c>gen_ai.usage.output_tokens</c>; plus <c>memobase.stage</c> and
/// <c>memobase.project_id</c>. Prompts and completions are never recorded.
/// </summary>
public sealed class LlmCallTelemetry : IDisposable
{
    public const string Chat = "chat";
    public const string Embedding = "embedding";

    private readonly string _kind;
    private readonly string _model;
    private readonly string _projectId;
    private readonly string _stage;
    private readonly long _started = Stopwatch.GetTimestamp();
    private readonly DateTimeOffset _startedAt = DateTimeOffset.UtcNow;
    private readonly Activity? _activity;
    private bool _ended;

    private LlmCallTelemetry(string kind, string model, string baseUrl)
    {
        _kind = kind;
        _model = model;
        _projectId = LlmCallContext.ProjectId;
        _stage = LlmCallContext.Stage;
        var operation = kind == Chat ? "chat" : "embeddings";
        _activity = MemobaseTelemetry.Source.StartActivity($"{operation} {model}", ActivityKind.Client);
        if (_activity is { IsAllDataRequested: true } a)
        {
            a.SetTag("gen_ai.operation.name", operation);
            a.SetTag("gen_ai.provider.name", "openai");
            a.SetTag("gen_ai.request.model", model);
            if (Uri.TryCreate(baseUrl, UriKind.Absolute, out var uri))
            {
                a.SetTag("server.address", uri.Host);
                a.SetTag("server.port", uri.Port);
            }
            if (_stage.Length > 0) a.SetTag("memobase.stage", _stage);
            if (_projectId.Length > 0) a.SetTag("memobase.project_id", _projectId);
        }
    }

    public static LlmCallTelemetry Start(string kind, string model, string baseUrl) => new(kind, model, baseUrl);

    public int ElapsedMs => (int)Stopwatch.GetElapsedTime(_started).TotalMilliseconds;

    public void Succeeded(int inputTokens, int outputTokens, string? responseModel)
    {
        if (_ended) return;
        _ended = true;
        var ms = Stopwatch.GetElapsedTime(_started).TotalMilliseconds;
        var tags = Tags();
        if (_kind == Chat)
        {
            MemobaseTelemetry.LlmInvocations.Add(1, tags);
            MemobaseTelemetry.LlmInputTokens.Add(inputTokens, tags);
            MemobaseTelemetry.LlmOutputTokens.Add(outputTokens, tags);
            MemobaseTelemetry.LlmLatency.Record(ms, tags);
        }
        else
        {
            MemobaseTelemetry.EmbeddingTokens.Add(inputTokens, tags);
            MemobaseTelemetry.EmbeddingLatency.Record(ms, tags);
        }
        if (_activity is { IsAllDataRequested: true } a)
        {
            a.SetTag("gen_ai.usage.input_tokens", inputTokens);
            if (_kind == Chat) a.SetTag("gen_ai.usage.output_tokens", outputTokens);
            if (!string.IsNullOrEmpty(responseModel)) a.SetTag("gen_ai.response.model", responseModel);
        }
        LlmCallContext.Log?.Add(new LlmCallRecord(_kind, _stage, _model, inputTokens, outputTokens, (int)ms, "ok", _startedAt));
    }

    public void Failed(Exception error)
    {
        if (_ended) return;
        _ended = true;
        var ms = Stopwatch.GetElapsedTime(_started).TotalMilliseconds;
        var cause = error is LlmException llm ? llm.Cause : error is OperationCanceledException ? "cancelled" : "error";
        if (_kind == Chat)
        {
            var tags = Tags();
            MemobaseTelemetry.LlmInvocations.Add(1, tags);
            MemobaseTelemetry.LlmLatency.Record(ms, tags);
        }
        if (cause != "cancelled")
        {
            MemobaseTelemetry.LlmFailures.Add(1, new TagList { { "project_id", _projectId }, { "kind", _kind }, { "stage", _stage }, { "cause", cause } });
        }
        if (_activity is { } a)
        {
            a.SetStatus(ActivityStatusCode.Error, cause);
            a.SetTag("error.type", cause);
        }
        LlmCallContext.Log?.Add(new LlmCallRecord(_kind, _stage, _model, 0, 0, (int)ms, cause, _startedAt));
    }

    private TagList Tags() => new() { { "project_id", _projectId }, { "model", _model }, { "stage", _stage } };

    public void Dispose() => _activity?.Dispose();
}
