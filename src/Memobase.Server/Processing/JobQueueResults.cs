using System.Text.Json;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace Memobase.Server.Processing;

/// <param name="JobId">The queued job the entries were attached to (null when nothing was idle).</param>
/// <param name="Attached">Whether this call moved entries from idle/failed to processing.</param>
/// <param name="ActiveJobId">When nothing was attached: a queued or running job of the same buffer, if any.</param>
public sealed record EnqueueResult(Guid? JobId, bool Attached, Guid? ActiveJobId);

public sealed record JobState(Guid Id, string Status, string? ResultJson, string? LastError, int? LastErrno, Guid? MergedInto);
