namespace Memobase.Server.Buffers;

/// <summary>One processing result, upstream's ChatModalResponse (all four keys always present).</summary>
public sealed record FlushResult(Guid? EventId, IReadOnlyList<Guid> AddProfiles, IReadOnlyList<Guid> UpdateProfiles, IReadOnlyList<Guid> DeleteProfiles)
{
    public static readonly FlushResult Empty = new(null, [], [], []);
}
