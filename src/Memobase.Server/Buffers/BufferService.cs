using Memobase.Server.Data;
using Memobase.Server.Infrastructure;
using Memobase.Server.Projects;
using Memobase.Server.Tokenization;
using Microsoft.Extensions.Options;
using Npgsql;
using Memobase.Server.Content;

namespace Memobase.Server.Buffers;

/// <param name="JobId">The flush job the insert triggered (or joined), if any.</param>
public sealed record InsertOutcome(Guid BlobId, IReadOnlyList<FlushResult> ChatResults, Failure? Failure, Guid? JobId = null);

/// <summary>
/// Blob insert (blob row + idle buffer entry in one round trip) and the automatic flush when the user's idle tokens of
/// that type pass <see cref="BufferOptions.MaxChatBlobBufferTokenSize"/>. Given a <see cref="RequestTransaction"/>, both
/// are written in it, and a flush to wait for is left to its owner (<see cref="RequestTransaction.WaitAfterCommit"/>).
/// </summary>
public sealed class BufferService(NpgsqlDataSource db, IOptionsMonitor<BufferOptions> options, IBufferFlusher flushes, UsageRecorder usage)
{
    public async Task<InsertOutcome> InsertAsync(Caller caller, Guid userId, string blobType, BlobContent content, string? fieldsJson,
        DateTimeOffset createdAt, bool waitProcess, RequestTransaction? shared, CancellationToken ct)
    {
        var o = options.CurrentValue;
        var tokens = O200kTokenizer.Instance.CountTokens(content.Render(createdAt, o.TimeZone));
        var blobId = Guid.NewGuid();
        usage.RecordInsertRequest(caller.ProjectId);

        await using var cmd = Sql.Command(db, shared, BufferSql.InsertBlob, caller.ProjectId, userId, blobId, blobType,
            Sql.Jsonb(content.ToStoredJson()), Sql.Jsonb(fieldsJson), Sql.TimestampTz(createdAt.UtcDateTime), Guid.NewGuid(), tokens);
        long inserted, idleBefore;
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            await reader.ReadAsync(ct);
            inserted = reader.GetInt64(0);
            idleBefore = reader.GetInt64(1);
        }
        if (inserted == 0) return new InsertOutcome(blobId, [], Failure.UserNotFound(userId));
        usage.RecordInsertSuccess(caller.ProjectId);

        if (idleBefore + tokens <= o.MaxChatBlobBufferTokenSize || !BlobTypes.IsProcessable(blobType))
        {
            return new InsertOutcome(blobId, [], null);
        }

        var flush = await flushes.FlushAsync(caller.ProjectId, userId, blobType, FlushTrigger.Auto, waitProcess, shared, ct);
        return flush.Failure is { } failure
            ? new InsertOutcome(blobId, [], failure, flush.JobId)
            : new InsertOutcome(blobId, flush.Results ?? [], null, flush.JobId);
    }
}
