using System.Globalization;

namespace Memobase.Bench;

/// <summary>Memory and CPU figures read from /proc (Linux only).</summary>
internal static class Proc
{
    /// <summary>USER_HZ: the unit of the CPU fields of /proc/&lt;pid&gt;/stat (100 on every mainstream Linux build).</summary>
    private const double TicksPerSecond = 100.0;

    /// <summary>VmHWM (peak resident set) and VmRSS of a process, in KiB.</summary>
    public static (long HwmKb, long RssKb) Memory(int pid)
    {
        long hwm = 0, rss = 0;
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal)) hwm = Kb(line);
            else if (line.StartsWith("VmRSS:", StringComparison.Ordinal)) rss = Kb(line);
        }
        return (hwm, rss);

        static long Kb(string line) => long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
    }

    /// <summary>Fields of /proc/&lt;pid&gt;/stat after the command name: [0] state, [1] ppid, [11] utime, [12] stime, [13] cutime, [14] cstime.</summary>
    private static string[]? StatFields(int pid)
    {
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (IOException)
        {
            return null; // exited meanwhile
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
        var close = text.LastIndexOf(')');
        return close < 0 ? null : text[(close + 2)..].Split(' ');
    }

    private static double Ticks(string[] f, params int[] idx) => idx.Sum(i => double.Parse(f[i], CultureInfo.InvariantCulture)) / TicksPerSecond;

    /// <summary>CPU seconds (user + system) of one process so far.</summary>
    public static double CpuSeconds(int pid) => StatFields(pid) is { } f ? Ticks(f, 11, 12) : 0;

    public static int ParentPid(int pid) => StatFields(pid) is { } f ? int.Parse(f[1], CultureInfo.InvariantCulture) : 0;

    /// <summary>
    /// CPU seconds of a PostgreSQL cluster: the postmaster (own + reaped children) plus every live child process
    /// (backends, walwriter, checkpointer, ...).
    /// </summary>
    public static double ClusterCpuSeconds(int postmasterPid)
    {
        if (postmasterPid <= 0 || StatFields(postmasterPid) is not { } pm) return 0;
        var total = Ticks(pm, 11, 12, 13, 14);
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) continue;
            if (StatFields(pid) is { } f && f[1] == postmasterPid.ToString(CultureInfo.InvariantCulture)) total += Ticks(f, 11, 12);
        }
        return total;
    }

    /// <summary>Whole machine: busy and total jiffies from /proc/stat (busy = total − idle − iowait).</summary>
    public static (double Busy, double Total) MachineCpu()
    {
        var first = File.ReadLines("/proc/stat").First();
        var v = first.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Take(8)
            .Select(x => double.Parse(x, CultureInfo.InvariantCulture)).ToArray();
        var total = v.Sum();
        return (total - v[3] - v[4], total);
    }

    public static string MemTotal()
    {
        var line = File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
        if (line is null) return "?";
        var kb = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
        return string.Create(CultureInfo.InvariantCulture, $"{kb / 1024.0 / 1024.0:0.0} GiB");
    }

    public static string CpuModel()
        => File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "?";
}

/// <summary>CPU counters of the three parties at one instant; subtract two to get a phase's CPU use.</summary>
internal sealed record CpuSnapshot(double Server, double Postgres, double Bench, double MachineBusy, double MachineTotal, long Timestamp)
{
    public static CpuSnapshot Take(int serverPid, int postmasterPid)
    {
        var (busy, total) = Proc.MachineCpu();
        return new CpuSnapshot(serverPid > 0 ? Proc.CpuSeconds(serverPid) : 0, Proc.ClusterCpuSeconds(postmasterPid),
            Environment.ProcessId > 0 ? System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds : 0,
            busy, total, System.Diagnostics.Stopwatch.GetTimestamp());
    }
}

/// <summary>
/// CPU seconds used by each party between two snapshots, the machine's busy share, and <see cref="Other"/>: CPU seconds
/// of every other process on the machine (anything else running skews the figures; this shows by how much).
/// </summary>
internal sealed record CpuUse(double Server, double Postgres, double Bench, double Other, double MachineBusyPercent, double WallSeconds)
{
    public static CpuUse Between(CpuSnapshot a, CpuSnapshot b)
    {
        var total = b.MachineTotal - a.MachineTotal;
        var busySeconds = (b.MachineBusy - a.MachineBusy) / 100.0; // /proc/stat counts USER_HZ ticks over all CPUs
        var server = b.Server - a.Server;
        var postgres = b.Postgres - a.Postgres;
        var bench = b.Bench - a.Bench;
        return new CpuUse(server, postgres, bench, Math.Max(0, busySeconds - server - postgres - bench),
            total > 0 ? 100.0 * (b.MachineBusy - a.MachineBusy) / total : 0,
            System.Diagnostics.Stopwatch.GetElapsedTime(a.Timestamp, b.Timestamp).TotalSeconds);
    }

    /// <summary>Average number of cores used by other processes during the phase.</summary>
    public double OtherCores => WallSeconds > 0 ? Other / WallSeconds : 0;
}
