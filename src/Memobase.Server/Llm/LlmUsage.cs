namespace Memobase.Server.Llm;

/// <summary>LLM calls, tokens and time spent by one piece of work (a pipeline run, a profile filter); recorded on the job and in the project's usage.</summary>
public sealed record LlmUsage(int Calls, int PromptTokens, int CompletionTokens, int ElapsedMs)
{
    public static readonly LlmUsage None = new(0, 0, 0, 0);
}
