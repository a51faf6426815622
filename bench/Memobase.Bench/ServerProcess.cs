using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Memobase.Bench;

/// <summary>
/// The Memobase server as its own OS process (<c>dotnet Memobase.Server.dll --urls http://127.0.0.1:PORT</c>), configured
/// through environment variables only, its console output going to a log file (no pipe for the bench to drain).
/// </summary>
internal sealed class ServerProcess : IDisposable
{
    private readonly Process _process;

    private ServerProcess(Process process, string baseUrl, string logPath, string label)
    {
        _process = process;
        BaseUrl = baseUrl;
        LogPath = logPath;
        Label = label;
    }

    public string BaseUrl { get; }
    public string LogPath { get; }
    public string Label { get; }
    public int Pid => _process.Id;

    /// <summary>RSS (MiB) recorded after each phase, in order.</summary>
    public List<(string Phase, double RssMb)> RssAfter { get; } = [];

    /// <summary>VmHWM (MiB) read just before the process was stopped.</summary>
    public double PeakMb { get; private set; }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static ServerProcess Start(string serverDll, IReadOnlyDictionary<string, string> environment, string logPath, string label)
    {
        var url = $"http://127.0.0.1:{FreePort()}";
        // exec: the PID we hold is the dotnet process itself (memory and CPU figures are read from /proc/<pid>).
        var info = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, WorkingDirectory = Path.GetDirectoryName(logPath)! };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add("exec dotnet \"$0\" --urls \"$1\" >\"$2\" 2>&1");
        info.ArgumentList.Add(serverDll);
        info.ArgumentList.Add(url);
        info.ArgumentList.Add(logPath);
        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("MEMOBASE_", StringComparison.OrdinalIgnoreCase)
                     || k.StartsWith("Memobase__", StringComparison.OrdinalIgnoreCase) || k.StartsWith("Serilog__", StringComparison.OrdinalIgnoreCase)
                     || k is "ACCESS_TOKEN" or "DATABASE_URL" or "LOG_FORMAT").ToList())
        {
            info.Environment.Remove(key);
        }
        info.Environment["DOTNET_NOLOGO"] = "1";
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        foreach (var (k, v) in environment) info.Environment[k] = v;
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start dotnet");
        return new ServerProcess(process, url, logPath, label);
    }

    public async Task WaitHealthyAsync(TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            if (_process.HasExited) throw new InvalidOperationException($"server exited with {_process.ExitCode}; log:\n{Tail()}");
            try
            {
                using var r = await http.GetAsync(new Uri(BaseUrl + "/api/v1/healthcheck"));
                if (r.StatusCode == HttpStatusCode.OK) return;
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"server at {BaseUrl} not healthy after {timeout.TotalSeconds} s; log:\n{Tail()}");
    }

    public void RecordRss(string phase)
    {
        if (_process.HasExited) return;
        RssAfter.Add((phase, Proc.Memory(Pid).RssKb / 1024.0));
    }

    public string Tail(int lines = 40)
    {
        try
        {
            return string.Join('\n', File.ReadLines(LogPath).TakeLast(lines));
        }
        catch (IOException)
        {
            return "(no log)";
        }
    }

    public int CountLogLines(string contains)
    {
        try
        {
            using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            var n = 0;
            while (reader.ReadLine() is { } line) if (line.Contains(contains, StringComparison.Ordinal)) n++;
            return n;
        }
        catch (IOException)
        {
            return -1;
        }
    }

    /// <summary>Reads the peak memory, then kills the process (nothing is running by then).</summary>
    public void Stop()
    {
        if (_process.HasExited) return;
        PeakMb = Proc.Memory(Pid).HwmKb / 1024.0;
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit(10_000);
    }

    public void Dispose()
    {
        Stop();
        _process.Dispose();
    }
}
