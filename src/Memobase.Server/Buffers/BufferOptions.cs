using System.ComponentModel.DataAnnotations;

namespace Memobase.Server.Buffers;

/// <summary>Buffer knobs, under upstream's config.yaml names (override with <c>MEMOBASE_&lt;KEY&gt;</c>).</summary>
public sealed class BufferOptions
{
    /// <summary>A user's idle tokens of one type above this flush the buffer automatically after an insert.</summary>
    [ConfigurationKeyName("max_chat_blob_buffer_token_size")]
    [Range(1, 10_000_000)]
    public int MaxChatBlobBufferTokenSize { get; set; } = 1024;

    /// <summary>At most this many tokens of a buffer (newest first) go into one processing run.</summary>
    [ConfigurationKeyName("max_chat_blob_buffer_process_token_size")]
    [Range(1, 10_000_000)]
    public int MaxChatBlobBufferProcessTokenSize { get; set; } = 16384;

    /// <summary>Seconds after the newest idle entry at which the worker flushes a buffer on its own (0 disables).</summary>
    [ConfigurationKeyName("buffer_flush_interval")]
    [Range(0, 365 * 24 * 3600)]
    public int BufferFlushInterval { get; set; } = 3600;

    /// <summary>Keep chat blobs after processing. When false (upstream's default) processed chat blobs are deleted.</summary>
    [ConfigurationKeyName("persistent_chat_blobs")]
    public bool PersistentChatBlobs { get; set; }

    /// <summary>Time zone for dates in chat renderings (IANA name, e.g. UTC, Asia/Tokyo). Empty: the server's local zone.</summary>
    [ConfigurationKeyName("use_timezone")]
    public string? UseTimezone { get; set; }

    public TimeZoneInfo TimeZone => string.IsNullOrWhiteSpace(UseTimezone) ? TimeZoneInfo.Local : TimeZoneInfo.FindSystemTimeZoneById(UseTimezone);
}

public sealed class BufferOptionsValidator : Microsoft.Extensions.Options.IValidateOptions<BufferOptions>
{
    public Microsoft.Extensions.Options.ValidateOptionsResult Validate(string? name, BufferOptions options)
    {
        if (!string.IsNullOrWhiteSpace(options.UseTimezone) && !TimeZoneInfo.TryFindSystemTimeZoneById(options.UseTimezone, out _))
        {
            return Microsoft.Extensions.Options.ValidateOptionsResult.Fail($"use_timezone: unknown time zone '{options.UseTimezone}'.");
        }
        return Microsoft.Extensions.Options.ValidateOptionsResult.Success;
    }
}
