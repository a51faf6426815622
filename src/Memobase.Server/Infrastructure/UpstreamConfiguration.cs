using System.Text.Json;
using Npgsql;
using YamlDotNet.RepresentationModel;

namespace Memobase.Server.Infrastructure;

/// <summary>
/// Makes an upstream Memobase deployment's configuration carry over unchanged:
/// <list type="bullet">
/// <item><c>config.yaml</c> keys (flat, snake_case) become <c>Memobase:&lt;key&gt;</c>;</item>
/// <item><c>MEMOBASE_&lt;KEY&gt;</c> environment variables override them (value parsed as JSON first, else raw string);</item>
/// <item><c>DATABASE_URL</c> (a postgres:// URL) becomes <c>ConnectionStrings:Memobase</c>;</item>
/// <item><c>ACCESS_TOKEN</c>, <c>LOG_FORMAT</c>, <c>USE_CORS</c> and <c>API_HOSTS</c> become <c>Memobase:access_token</c>,
/// <c>Memobase:log_format</c>, <c>Memobase:use_cors</c> and <c>Memobase:api_hosts</c>.</item>
/// </list>
/// .NET-style keys (<c>Memobase__max_chat_blob_buffer_token_size</c>, appsettings.json) keep working: this source is
/// added before the standard environment source, so an explicit .NET-style variable wins over the upstream names.
/// </summary>
public static class UpstreamConfiguration
{
    public const string Section = "Memobase";

    public static IConfigurationBuilder AddUpstreamMemobaseConfiguration(
        this IConfigurationBuilder builder, IDictionary<string, string?>? environment = null, string? workingDirectory = null)
    {
        var env = environment ?? ReadEnvironment();
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);

        var configPath = env.TryGetValue("MEMOBASE_CONFIG_FILE", out var p) && !string.IsNullOrWhiteSpace(p)
            ? p!
            : Path.Combine(workingDirectory ?? Directory.GetCurrentDirectory(), "config.yaml");
        if (File.Exists(configPath))
        {
            LoadYaml(File.ReadAllText(configPath), values);
        }

        foreach (var (name, value) in env)
        {
            if (value is null || !name.StartsWith("MEMOBASE_", StringComparison.OrdinalIgnoreCase)) continue;
            if (name.Equals("MEMOBASE_CONFIG_FILE", StringComparison.OrdinalIgnoreCase)) continue;
            var key = name["MEMOBASE_".Length..].ToLowerInvariant();
            RemovePrefix(values, $"{Section}:{key}");
            AddJsonOrRaw(values, $"{Section}:{key}", value);
        }

        if (env.TryGetValue("DATABASE_URL", out var dbUrl) && !string.IsNullOrWhiteSpace(dbUrl))
        {
            values["ConnectionStrings:Memobase"] = PostgresUrl.ToConnectionString(dbUrl!);
        }
        if (env.TryGetValue("ACCESS_TOKEN", out var token) && token is not null)
        {
            values[$"{Section}:access_token"] = token;
        }
        if (env.TryGetValue("LOG_FORMAT", out var logFormat) && !string.IsNullOrWhiteSpace(logFormat))
        {
            values[$"{Section}:log_format"] = logFormat;
        }
        if (env.TryGetValue("USE_CORS", out var useCors) && !string.IsNullOrWhiteSpace(useCors))
        {
            values[$"{Section}:use_cors"] = useCors;
        }
        if (env.TryGetValue("API_HOSTS", out var apiHosts) && !string.IsNullOrWhiteSpace(apiHosts))
        {
            values[$"{Section}:api_hosts"] = apiHosts;
        }

        return builder.AddInMemoryCollection(values);
    }

    private static Dictionary<string, string?> ReadEnvironment()
    {
        var result = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables())
        {
            result[(string)e.Key] = e.Value as string;
        }
        return result;
    }

    internal static void LoadYaml(string text, IDictionary<string, string?> values)
    {
        var stream = new YamlStream();
        using var reader = new StringReader(text);
        stream.Load(reader);
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root) return;
        foreach (var (k, v) in root.Children)
        {
            if (k is YamlScalarNode { Value: { } key })
            {
                Flatten(v, $"{Section}:{key.ToLowerInvariant()}", values);
            }
        }
    }

    private static void Flatten(YamlNode node, string prefix, IDictionary<string, string?> values)
    {
        switch (node)
        {
            case YamlScalarNode s:
                values[prefix] = s.Value is "~" or "null" ? null : s.Value;
                break;
            case YamlSequenceNode seq:
                for (var i = 0; i < seq.Children.Count; i++) Flatten(seq.Children[i], $"{prefix}:{i}", values);
                break;
            case YamlMappingNode map:
                foreach (var (k, v) in map.Children)
                {
                    if (k is YamlScalarNode { Value: { } key }) Flatten(v, $"{prefix}:{key}", values);
                }
                break;
        }
    }

    private static void AddJsonOrRaw(Dictionary<string, string?> values, string prefix, string raw)
    {
        try
        {
            using var doc = JsonDocument.Parse(raw);
            Flatten(doc.RootElement, prefix, values);
        }
        catch (JsonException)
        {
            values[prefix] = raw;
        }
    }

    private static void Flatten(JsonElement e, string prefix, IDictionary<string, string?> values)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var p in e.EnumerateObject()) Flatten(p.Value, $"{prefix}:{p.Name}", values);
                break;
            case JsonValueKind.Array:
                var i = 0;
                foreach (var item in e.EnumerateArray()) Flatten(item, $"{prefix}:{i++}", values);
                break;
            case JsonValueKind.String:
                values[prefix] = e.GetString();
                break;
            case JsonValueKind.Null:
                values[prefix] = null;
                break;
            default:
                values[prefix] = e.GetRawText();
                break;
        }
    }

    private static void RemovePrefix(IDictionary<string, string?> values, string prefix)
    {
        foreach (var k in values.Keys.Where(k => k.Equals(prefix, StringComparison.OrdinalIgnoreCase)
                     || k.StartsWith(prefix + ":", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            values.Remove(k);
        }
    }
}

/// <summary>Converts upstream's <c>DATABASE_URL</c> (postgres://user:pass@host:port/db?sslmode=…) to an Npgsql connection string.</summary>
public static class PostgresUrl
{
    public static string ToConnectionString(string url)
    {
        if (!url.Contains("://", StringComparison.Ordinal))
        {
            return url; // already a key=value connection string
        }
        var uri = new Uri(url);
        var scheme = uri.Scheme.Split('+')[0];
        if (scheme is not ("postgres" or "postgresql"))
        {
            throw new InvalidOperationException($"DATABASE_URL must use the postgres:// or postgresql:// scheme, got '{uri.Scheme}://'.");
        }
        var b = new NpgsqlConnectionStringBuilder
        {
            Host = uri.Host,
            Port = uri.IsDefaultPort || uri.Port <= 0 ? 5432 : uri.Port,
            Database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/')),
        };
        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            var parts = uri.UserInfo.Split(':', 2);
            b.Username = Uri.UnescapeDataString(parts[0]);
            if (parts.Length > 1) b.Password = Uri.UnescapeDataString(parts[1]);
        }
        var query = uri.Query.TrimStart('?');
        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var kv = pair.Split('=', 2);
            var key = Uri.UnescapeDataString(kv[0]);
            var value = kv.Length > 1 ? Uri.UnescapeDataString(kv[1]) : "";
            switch (key.ToLowerInvariant())
            {
                case "sslmode": b.SslMode = Enum.Parse<SslMode>(value.Replace("-", "", StringComparison.Ordinal), ignoreCase: true); break;
                case "application_name": b.ApplicationName = value; break;
                case "connect_timeout": b.Timeout = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
                default: break; // psycopg-specific options have no Npgsql meaning
            }
        }
        return b.ConnectionString;
    }
}
