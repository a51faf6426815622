namespace Memobase.Server.Buffers;

/// <summary>What asked for a flush (stored on the job as <c>trigger</c>).</summary>
public static class FlushTrigger
{
    public const string Flush = "flush";
    public const string Auto = "auto";
    public const string Idle = "idle";
    public const string Retry = "retry";
}
