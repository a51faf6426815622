using System.Collections.Concurrent;
using System.ComponentModel.DataAnnotations;
using System.Security.Cryptography;
using System.Text;
using Memobase.Server.Data;
using Microsoft.Extensions.Options;
using Npgsql;
using Memobase.Server.Infrastructure;

namespace Memobase.Server.Projects;

public sealed class AuthOptions
{
    /// <summary>Root bearer token (upstream env <c>ACCESS_TOKEN</c>).</summary>
    [ConfigurationKeyName("access_token")]
    public string? AccessToken { get; set; }

    /// <summary>
    /// Development switch: with no <c>ACCESS_TOKEN</c>, treat every bearer token as root (upstream's behaviour).
    /// Off by default: without a token and without this switch the server refuses to start.
    /// </summary>
    [ConfigurationKeyName("allow_any_token_as_root")]
    public bool AllowAnyTokenAsRoot { get; set; }

    /// <summary>How long a verified project token stays cached in memory, in seconds.</summary>
    [ConfigurationKeyName("auth_cache_seconds")]
    [Range(0, 3600)]
    public int AuthCacheSeconds { get; set; } = 30;
}

public sealed class AuthOptionsValidator : IValidateOptions<AuthOptions>
{
    public ValidateOptionsResult Validate(string? name, AuthOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.AccessToken) && !options.AllowAnyTokenAsRoot)
        {
            return ValidateOptionsResult.Fail(
                "ACCESS_TOKEN is not set. Set ACCESS_TOKEN to the root bearer token (scripts/run generates one), " +
                "or set MEMOBASE_ALLOW_ANY_TOKEN_AS_ROOT=true to accept any bearer token as root (development only).");
        }
        return ValidateOptionsResult.Success;
    }
}

/// <summary>
/// Upstream's bearer auth: root token, or project tokens <c>sk-&lt;project_id&gt;-&lt;secret&gt;</c>. A verified token
/// answers with a principal built once and reused: one for the root token, and a project token's for
/// <c>auth_cache_seconds</c> or until its project changes (<see cref="Invalidate"/>).
/// </summary>
public sealed class ProjectTokenAuthenticator(NpgsqlDataSource db, IOptionsMonitor<AuthOptions> options, TimeProvider clock)
{
    private readonly ConcurrentDictionary<string, (CallerPrincipal Principal, long ExpiresAt)> _cache = new(StringComparer.Ordinal);
    private RootToken? _root;

    private static readonly CallerPrincipal RootPrincipal = new(new Caller(MemobaseDb.RootProjectId, true));

    public static string HashToken(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    public static bool TryGetProjectId(string token, out string projectId)
    {
        projectId = "";
        if (!token.StartsWith("sk-", StringComparison.Ordinal)) return false;
        var rest = token[3..];
        var cut = rest.LastIndexOf('-');
        if (cut <= 0 || cut == rest.Length - 1) return false;
        projectId = rest[..cut];
        return true;
    }

    /// <returns>The caller's principal (<see cref="CallerPrincipal.Caller"/>), or an error reason for the 401 message.</returns>
    public async ValueTask<(CallerPrincipal? Principal, string? Error)> AuthenticateAsync(string token, CancellationToken ct)
    {
        var o = options.CurrentValue;
        if (string.IsNullOrWhiteSpace(o.AccessToken))
        {
            if (o.AllowAnyTokenAsRoot) return (RootPrincipal, null);
        }
        else if (FixedEquals(token, RootBytes(o.AccessToken)))
        {
            return (RootPrincipal, null);
        }

        if (!TryGetProjectId(token, out var projectId)) return (null, "Invalid project id format");

        var now = clock.GetTimestamp();
        if (_cache.TryGetValue(token, out var hit) && hit.ExpiresAt > now) return (hit.Principal, null);

        await using var cmd = Sql.Command(db, "SELECT project_secret, status FROM projects WHERE project_id = $1", projectId);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct) || projectId == MemobaseDb.RootProjectId) return (null, "Your project is not exists!");
        var secret = reader.GetString(0);
        var status = reader.GetString(1);
        if (!FixedEquals(HashToken(token), Encoding.UTF8.GetBytes(secret))) return (null, "Wrong secret key");
        if (status == ProjectStatus.Suspended) return (null, "Your project is suspended!");

        var principal = new CallerPrincipal(new Caller(projectId, false));
        var ttl = TimeSpan.FromSeconds(o.AuthCacheSeconds);
        if (ttl > TimeSpan.Zero) _cache[token] = (principal, now + (long)(ttl.TotalSeconds * clock.TimestampFrequency));
        return (principal, null);
    }

    /// <summary>Forget cached tokens of a project (after its status or secret changed).</summary>
    public void Invalidate(string projectId)
    {
        foreach (var (token, entry) in _cache)
        {
            if (entry.Principal.Caller.ProjectId == projectId) _cache.TryRemove(token, out _);
        }
    }

    /// <summary>The root token's UTF-8 bytes, encoded again only when the configured token changes (options reload).</summary>
    private byte[] RootBytes(string configured)
    {
        var root = _root;
        if (root is null || !ReferenceEquals(root.Configured, configured))
        {
            root = new RootToken(configured, Encoding.UTF8.GetBytes(configured.Trim()));
            _root = root;
        }
        return root.Bytes;
    }

    private sealed record RootToken(string Configured, byte[] Bytes);

    /// <summary>Constant-time comparison of a presented token with the expected bytes (no allocation for usual token sizes).</summary>
    private static bool FixedEquals(string presented, byte[] expected)
    {
        var max = Encoding.UTF8.GetMaxByteCount(presented.Length);
        var buffer = max <= 512 ? stackalloc byte[max] : new byte[max];
        var length = Encoding.UTF8.GetBytes(presented, buffer);
        return CryptographicOperations.FixedTimeEquals(buffer[..length], expected);
    }
}
