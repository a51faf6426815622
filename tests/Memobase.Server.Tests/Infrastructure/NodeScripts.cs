using System.Diagnostics;
using System.Text;

namespace Memobase.Server.Tests.Infrastructure;

/// <summary>
/// Running the repository's Node.js test scripts (<c>tests/sdk-ts</c>, <c>tests/admin-ui</c>): each is copied into a
/// scratch folder where <c>npm install</c> installs its pinned packages, then run with <c>node</c>.
/// </summary>
public static class NodeScripts
{
    public static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Memobase.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Repository root (Memobase.sln) not found above " + AppContext.BaseDirectory);
    }

    /// <summary>Copies a script project's files (without any node_modules a developer may have installed there).</summary>
    public static void CopyProject(string from, string to)
    {
        Assert.True(File.Exists(Path.Combine(from, "package.json")), $"{from}/package.json is missing");
        foreach (var file in Directory.EnumerateFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }
    }

    public static string? FindOnPath(string name)
        => (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);

    /// <summary>
    /// The <c>npm</c> and <c>node</c> executables (Node.js &gt;= 20: fetch and ESM), or a failure that says what to install
    /// for <paramref name="packages"/>.
    /// </summary>
    public static async Task<(string Npm, string Node)> RequireNodeAsync(string packages)
    {
        var npm = FindOnPath("npm") ?? throw new InvalidOperationException(
            $"npm is not on PATH. This test installs {packages} from npm and runs it with Node.js >= 20: install " +
            "nodejs and npm (./scripts/test does so when they are missing).");
        var node = FindOnPath("node") ?? throw new InvalidOperationException(
            "node is not on PATH. Install Node.js >= 20 (./scripts/test installs nodejs and npm when they are missing).");
        var version = await RunAsync(node, ["--version"], Directory.GetCurrentDirectory(), new Dictionary<string, string?>(), TimeSpan.FromSeconds(30));
        var major = System.Text.RegularExpressions.Regex.Match(version.Output, @"v(\d+)\.") is { Success: true } m
            ? int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;
        Assert.True(major >= 20, $"Node.js >= 20 is required (fetch, ESM), found '{version.Output.Trim()}' at {node}");
        return (npm, node);
    }

    /// <summary>Runs a process to completion (stdout and stderr interleaved); on timeout kills its whole tree.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(
        string fileName, IEnumerable<string> arguments, string workingDirectory, IDictionary<string, string?> environment, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in arguments) info.ArgumentList.Add(a);
        foreach (var (key, value) in environment)
        {
            if (value is null) info.Environment.Remove(key);
            else info.Environment[key] = value;
        }
        var output = new StringBuilder();
        using var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null) lock (output) output.AppendLine(e.Data);
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null) lock (output) output.AppendLine(e.Data);
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(10_000);
            lock (output) return (-1, $"{output}\n[{Path.GetFileName(fileName)} killed: no exit within {timeout.TotalSeconds:F0} s]");
        }
        process.WaitForExit(); // drains the redirected streams
        lock (output) return (process.ExitCode, output.ToString());
    }

    public static string Tail(string text, int lines)
    {
        var all = text.Split('\n');
        return string.Join('\n', all.Skip(Math.Max(0, all.Length - lines)));
    }

    /// <summary>Deletes a scratch folder, ignoring files still held open.</summary>
    public static void DeleteScratch(DirectoryInfo? scratch)
    {
        if (scratch is null) return;
        try
        {
            scratch.Delete(recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
