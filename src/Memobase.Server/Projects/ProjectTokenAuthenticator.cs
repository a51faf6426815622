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

/// <summary>Upstream's bearer auth: root token, or project tokens <c>sk-&lt;project_id&gt;-&lt;secret&gt;</c>.</summary>
public sealed class ProjectTokenAuthenticator(NpgsqlDataSource db, IOptionsMonitor<AuthOptions> options, TimeProvider clock)
{
    private readonly ConcurrentDictionary<string, (Caller Caller, long ExpiresAt)> _cache = new(StringComparer.Ordinal);

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

    /// <returns>The caller, or an error reason for the 401 message.</returns>
    public async ValueTask<(Caller? Caller, string? Error)> AuthenticateAsync(string token, CancellationToken ct)
    {
        var o = options.CurrentValue;
        if (string.IsNullOrWhiteSpace(o.AccessToken))
        {
            if (o.AllowAnyTokenAsRoot) return (new Caller(MemobaseDb.RootProjectId, true), null);
        }
        else if (FixedEquals(token, o.AccessToken.Trim()))
        {
            return (new Caller(MemobaseDb.RootProjectId, true), null);
        }

        if (!TryGetProjectId(token, out var projectId)) return (null, "Invalid project id format");

        var now = clock.GetTimestamp();
        if (_cache.TryGetValue(token, out var hit) && hit.ExpiresAt > now) return (hit.Caller, null);

        await using var cmd = Sql.Command(db, "SELECT project_secret, status FROM projects WHERE project_id = $1", projectId);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct) || projectId == MemobaseDb.RootProjectId) return (null, "Your project is not exists!");
        var secret = reader.GetString(0);
        var status = reader.GetString(1);
        if (!FixedEquals(HashToken(token), secret)) return (null, "Wrong secret key");
        if (status == ProjectStatus.Suspended) return (null, "Your project is suspended!");

        var caller = new Caller(projectId, false);
        var ttl = TimeSpan.FromSeconds(o.AuthCacheSeconds);
        if (ttl > TimeSpan.Zero) _cache[token] = (caller, now + (long)(ttl.TotalSeconds * clock.TimestampFrequency));
        return (caller, null);
    }

    /// <summary>Forget cached tokens of a project (after its status or secret changed).</summary>
    public void Invalidate(string projectId)
    {
        foreach (var (token, entry) in _cache)
        {
            if (entry.Caller.ProjectId == projectId) _cache.TryRemove(token, out _);
        }
    }

    private static bool FixedEquals(string a, string b)
        => CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(a), Encoding.UTF8.GetBytes(b));
}
