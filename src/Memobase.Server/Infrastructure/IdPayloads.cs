namespace Memobase.Server.Infrastructure;

/// <summary>The <c>data</c> of a create call: <c>{"id": …}</c>.</summary>
public sealed record IdData(Guid Id);

/// <summary>The <c>data</c> of a list-of-ids answer: <c>{"ids": […]}</c>.</summary>
public sealed record IdsData(IReadOnlyList<Guid> Ids);
