namespace Memobase.Server.Telemetry;

/// <summary>
/// Who an LLM or embedding call is made for, flowing with the async context (like <see cref="System.Diagnostics.Activity.Current"/>):
/// the job runner sets the project, the pipeline sets the stage, and the clients label their metrics, spans and
/// per-call records with both. Calls outside a scope (status check, search queries) are labelled with what is known.
/// </summary>
public static class LlmCallContext
{
    private static readonly AsyncLocal<Scope?> CurrentScope = new();

    public static string ProjectId => CurrentScope.Value?.ProjectId ?? "";

    public static string Stage => CurrentScope.Value?.Stage ?? "";

    /// <summary>The per-call recorder of the running job, if any.</summary>
    public static LlmCallLog? Log => CurrentScope.Value?.Log;

    /// <summary>Sets the project (and optionally a call log) for the calls made until the returned scope is disposed.</summary>
    public static IDisposable ForProject(string projectId, LlmCallLog? log = null)
        => Push(new Scope(projectId, Stage, log ?? Log));

    /// <summary>Sets the pipeline stage for the calls made until the returned scope is disposed.</summary>
    public static IDisposable ForStage(string stage) => Push(new Scope(ProjectId, stage, Log));

    private static Restore Push(Scope scope)
    {
        var previous = CurrentScope.Value;
        CurrentScope.Value = scope;
        return new Restore(previous);
    }

    private sealed record Scope(string ProjectId, string Stage, LlmCallLog? Log);

    private sealed class Restore(Scope? previous) : IDisposable
    {
        public void Dispose() => CurrentScope.Value = previous;
    }
}

/// <summary>One LLM or embedding call of a job, as the admin job view shows it.</summary>
/// <param name="Kind"><c>chat</c> or <c>embedding</c>.</param>
/// <param name="Outcome"><c>ok</c>, or the failure cause.</param>
public sealed record LlmCallRecord(string Kind, string Stage, string Model, int InputTokens, int OutputTokens, int DurationMs, string Outcome,
    DateTimeOffset StartedAt);

/// <summary>Thread-safe list of the calls of one job attempt (the pipeline's two branches call concurrently).</summary>
public sealed class LlmCallLog
{
    private readonly Lock _lock = new();
    private readonly List<LlmCallRecord> _calls = [];

    public void Add(LlmCallRecord record)
    {
        lock (_lock) _calls.Add(record);
    }

    public IReadOnlyList<LlmCallRecord> Snapshot()
    {
        lock (_lock) return [.. _calls.OrderBy(c => c.StartedAt)];
    }
}
