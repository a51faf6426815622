using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using Memobase.Server.Projects;

namespace Memobase.Server.AdminUi;

/// <summary>
/// LLM input and output tokens per day as a server-rendered SVG bar chart (two bars per day, a labelled y axis, a date
/// every fifth day). The chart is an image with a title and description; the same figures are in a table next to it.
/// </summary>
public static class TokenChart
{
    public const string InputColor = "#1d4ed8";
    public const string OutputColor = "#c2410c";

    private const int Right = 12;
    private const int Top = 12;
    private const int Bottom = 40;

    /// <summary>The chart for wide screens (760 units wide, a date every fifth day).</summary>
    public static string Wide(IReadOnlyList<DailyUsage> days, string title) => Render(days, title, "chart-wide", 760, 260, 12, 5);

    /// <summary>The chart for phones (360 units wide, larger text, a date every tenth day).</summary>
    public static string Narrow(IReadOnlyList<DailyUsage> days, string title) => Render(days, title, "chart-narrow", 360, 240, 13, 10);

    /// <param name="days">Oldest day first.</param>
    private static string Render(IReadOnlyList<DailyUsage> days, string title, string id, int width, int height, int font, int labelEvery)
    {
        var left = font * 4;
        var max = days.Count == 0 ? 0 : days.Max(d => Math.Max(d.TotalInputToken, d.TotalOutputToken));
        var scale = 4 * NiceCeiling((max + 3) / 4); // four grid steps of a round size
        var plotW = width - left - Right;
        var plotH = height - Top - Bottom;
        var slot = days.Count == 0 ? plotW : (double)plotW / days.Count;
        var bar = Math.Max(1, slot * 0.38);
        var total = days.Sum(d => d.TotalInputToken + d.TotalOutputToken);

        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"""<svg viewBox="0 0 {width} {height}" role="img" aria-labelledby="{id}-title {id}-desc" class="{id}" xmlns="http://www.w3.org/2000/svg">""");
        sb.Append(CultureInfo.InvariantCulture, $"<title id=\"{id}-title\">").Append(HtmlEncoder.Default.Encode(title)).Append("</title>");
        sb.Append(CultureInfo.InvariantCulture, $"<desc id=\"{id}-desc\">Bars per day from {Day(days, 0)} to {Day(days, days.Count - 1)}: input tokens (blue) and output tokens (orange); {total:N0} tokens in total.</desc>");
        for (var i = 0; i <= 4; i++)
        {
            var value = scale * i / 4;
            var y = Top + plotH - plotH * i / 4.0;
            sb.Append(CultureInfo.InvariantCulture, $"""<line x1="{left}" x2="{width - Right}" y1="{y:F1}" y2="{y:F1}" stroke="#d1d5db" stroke-width="1"/>""");
            sb.Append(CultureInfo.InvariantCulture, $"""<text x="{left - 6}" y="{y + 4:F1}" text-anchor="end" font-size="{font}" fill="#374151">{Compact(value)}</text>""");
        }
        for (var i = 0; i < days.Count; i++)
        {
            var d = days[i];
            var x = left + slot * i + (slot - 2 * bar) / 2;
            AppendBar(sb, x, bar, d.TotalInputToken, scale, Top + plotH, plotH, InputColor, $"{d.Date}: {d.TotalInputToken:N0} input tokens");
            AppendBar(sb, x + bar, bar, d.TotalOutputToken, scale, Top + plotH, plotH, OutputColor, $"{d.Date}: {d.TotalOutputToken:N0} output tokens");
            if (i % labelEvery == 0 || i == days.Count - 1)
            {
                sb.Append(CultureInfo.InvariantCulture, $"""<text x="{left + slot * i + slot / 2:F1}" y="{height - Bottom + 16}" text-anchor="middle" font-size="{font - 1}" fill="#374151">{d.Date[5..]}</text>""");
            }
        }
        sb.Append(CultureInfo.InvariantCulture, $"""<line x1="{left}" x2="{width - Right}" y1="{Top + plotH}" y2="{Top + plotH}" stroke="#6b7280" stroke-width="1"/>""");
        sb.Append("</svg>");
        return sb.ToString();
    }

    private static void AppendBar(StringBuilder sb, double x, double width, long value, long scale, int baseline, int plotH, string color, string label)
    {
        if (value <= 0) return;
        var h = Math.Max(1, plotH * (double)value / scale);
        sb.Append(CultureInfo.InvariantCulture, $"""<rect x="{x:F1}" y="{baseline - h:F1}" width="{width:F1}" height="{h:F1}" fill="{color}"><title>{HtmlEncoder.Default.Encode(label)}</title></rect>""");
    }

    private static string Day(IReadOnlyList<DailyUsage> days, int i) => days.Count == 0 ? "—" : days[i].Date;

    /// <summary>The smallest 1, 2 or 5 × 10^n at or above <paramref name="max"/> (at least 1).</summary>
    internal static long NiceCeiling(long max)
    {
        if (max <= 1) return 1;
        var magnitude = (long)Math.Pow(10, Math.Floor(Math.Log10(max)));
        foreach (var step in new long[] { 1, 2, 5, 10 })
        {
            if (step * magnitude >= max) return step * magnitude;
        }
        return 10 * magnitude;
    }

    private static string Compact(long n) => n switch
    {
        >= 1_000_000 => (n / 1_000_000.0).ToString("0.#", CultureInfo.InvariantCulture) + "M",
        >= 1_000 => (n / 1_000.0).ToString("0.#", CultureInfo.InvariantCulture) + "k",
        _ => n.ToString(CultureInfo.InvariantCulture),
    };
}
