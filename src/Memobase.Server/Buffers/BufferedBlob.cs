using Memobase.Server.Content;

namespace Memobase.Server.Buffers;

/// <summary>One buffered blob handed to the flush pipeline, oldest first.</summary>
public sealed record BufferedBlob(Guid EntryId, Guid BlobId, string BlobType, BlobContent Content, DateTimeOffset CreatedAt, int TokenSize);
