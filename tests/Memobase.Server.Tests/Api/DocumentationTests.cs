using System.Reflection;
using Microsoft.Extensions.Configuration;

namespace Memobase.Server.Tests.Api;

/// <summary>The README documents every configuration key the server binds.</summary>
public sealed class DocumentationTests
{
    /// <summary>A file at the repository root (found by walking up to Memobase.sln).</summary>
    internal static string RepoFile(string name)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Memobase.sln"))) dir = dir.Parent;
        return File.ReadAllText(Path.Combine(dir?.FullName ?? throw new InvalidOperationException("Memobase.sln not found"), name));
    }

    [Fact]
    public void Every_configuration_key_is_documented_in_the_readme()
    {
        var readme = RepoFile("README.md");
        var keys = typeof(Program).Assembly.GetTypes()
            .SelectMany(t => t.GetProperties(BindingFlags.Public | BindingFlags.Instance))
            .Select(p => p.GetCustomAttribute<ConfigurationKeyNameAttribute>()?.Name)
            .OfType<string>()
            .Concat(["log_format", "additional_user_profiles", "overwrite_user_profiles", "event_tags"])
            .Distinct()
            .ToList();
        Assert.True(keys.Count > 40, $"expected the server's option keys, found {keys.Count}");
        var missing = keys.Where(k => !readme.Contains($"| `{k}` |", StringComparison.Ordinal)).ToList();
        Assert.True(missing.Count == 0, "README.md lacks configuration keys: " + string.Join(", ", missing));
    }

    [Fact]
    public void The_ci_script_runs_the_readme_test_command()
    {
        var readme = RepoFile("README.md");
        var ci = RepoFile(".ci/run");
        Assert.Contains("./scripts/test    # 2. run the whole test suite", readme);
        Assert.Contains("./scripts/test", ci);
    }
}
