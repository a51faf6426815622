using System.Text.Json;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace Memobase.Server.Processing;

/// <summary>A job this worker holds the lease of. <see cref="Attempt"/> fences every later write.</summary>
/// <param name="QueueWait">How long the job was ready before this claim.</param>
/// <param name="Age">Time since the job was created, at the claim.</param>
/// <param name="TraceParent">W3C trace context of the request that queued the job (null: none was recorded).</param>
public sealed record ClaimedJob(Guid Id, string ProjectId, Guid UserId, string BlobType, int Attempt, string Trigger,
    TimeSpan QueueWait = default, TimeSpan Age = default, string? TraceParent = null);
