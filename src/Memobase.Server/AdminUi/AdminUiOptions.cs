using System.ComponentModel.DataAnnotations;

namespace Memobase.Server.AdminUi;

public sealed class AdminUiOptions
{
    /// <summary>How long an admin console sign-in lasts, in minutes (absolute, not sliding).</summary>
    [ConfigurationKeyName("admin_session_minutes")]
    [Range(1, 43200)]
    public int SessionMinutes { get; set; } = 480;
}
