using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;

namespace Memobase.Server.Tests.Infrastructure;

/// <summary>
/// The server as a real OS process (<c>dotnet Memobase.Server.dll</c>) on a free 127.0.0.1 port, configured only
/// through environment variables — for crash, multi-replica and start-up tests.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly string _workDir;

    public string BaseUrl { get; }
    public int ProcessId => _process.Id;
    public string Output { get { lock (_output) return _output.ToString(); } }
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;

    private ServerProcess(Process process, string baseUrl, string workDir)
    {
        _process = process;
        BaseUrl = baseUrl;
        _workDir = workDir;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public static string ServerDll
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            var configuration = dir.FullName.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Debug" : "Release";
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Memobase.sln"))) dir = dir.Parent;
            if (dir is null) throw new InvalidOperationException("Repository root (Memobase.sln) not found above " + AppContext.BaseDirectory);
            var dll = Path.Combine(dir.FullName, "src", "Memobase.Server", "bin", configuration, "net10.0", "Memobase.Server.dll");
            return File.Exists(dll) ? dll : throw new FileNotFoundException("Build the solution first", dll);
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Starts the server; <paramref name="files"/> are written into its (fresh) working directory first.</summary>
    public static ServerProcess Start(IDictionary<string, string?> environment, IDictionary<string, string>? files = null, int? port = null)
    {
        var workDir = Directory.CreateTempSubdirectory("mbsrv").FullName;
        foreach (var (name, text) in files ?? new Dictionary<string, string>()) File.WriteAllText(Path.Combine(workDir, name), text);
        var url = $"http://127.0.0.1:{port ?? FreePort()}";
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workDir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(ServerDll);
        info.ArgumentList.Add("--urls");
        info.ArgumentList.Add(url);
        // A clean environment for the server: nothing of ours leaks in except what the test passes.
        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("MEMOBASE_", StringComparison.OrdinalIgnoreCase)
                     || k.StartsWith("Memobase__", StringComparison.OrdinalIgnoreCase) || k is "ACCESS_TOKEN" or "DATABASE_URL").ToList())
        {
            info.Environment.Remove(key);
        }
        info.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var (k, v) in environment) info.Environment[k] = v;
        var process = Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start");
        return new ServerProcess(process, url, workDir);
    }

    public async Task WaitHealthyAsync(TimeSpan? timeout = null)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(180));
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited) throw new InvalidOperationException($"Server exited with {_process.ExitCode}:\n{Output}");
            try
            {
                using var r = await http.GetAsync(BaseUrl + "/api/v1/healthcheck");
                if (r.StatusCode == HttpStatusCode.OK) return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            await Task.Delay(100);
        }
        throw new TimeoutException($"Server at {BaseUrl} not healthy:\n{Output}");
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    public HttpClient Client(string token)
    {
        var client = new HttpClient { BaseAddress = new Uri(BaseUrl), Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    /// <summary>SIGKILL: no shutdown hooks run, leases are left behind exactly as in a crash.</summary>
    public void Kill()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.WaitForExit(10_000);
    }

    public async ValueTask DisposeAsync()
    {
        Kill();
        _process.Dispose();
        try { Directory.Delete(_workDir, recursive: true); } catch (IOException) { }
        await Task.CompletedTask;
    }
}
