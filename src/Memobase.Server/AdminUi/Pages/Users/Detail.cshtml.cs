using System.Text.Json;
using Memobase.Server.Buffers;
using Memobase.Server.Events;
using Memobase.Server.Processing;
using Memobase.Server.Profiles;
using Memobase.Server.Users;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Memobase.Server.AdminUi.Pages.Users;

public sealed class UserDetailModel(UserDirectory users, ProfileReader profiles, ProfileStore profileStore, EventStore events,
    BufferEntryReader buffers, JobReader jobs) : AdminPageModel
{
    public const int EventLimit = 50;

    [BindProperty(SupportsGet = true)]
    public Guid UserId { get; set; }

    /// <summary>The project of the user (root may pass any; a project session is always limited to its own).</summary>
    [BindProperty(SupportsGet = true, Name = "project")]
    public string? ProjectId { get; set; }

    public IReadOnlyList<UserListing> Choices { get; private set; } = [];
    public UserListing? Listing { get; private set; }
    public IReadOnlyList<StoredProfile> Profiles { get; private set; } = [];
    public IReadOnlyList<UserEventData> Events { get; private set; } = [];
    public IReadOnlyDictionary<Guid, List<string>> Gists { get; private set; } = new Dictionary<Guid, List<string>>();
    public UserBuffer? Buffer { get; private set; }
    public JobPage? Jobs { get; private set; }
    public string? Message { get; private set; }

    public Task<PageResult> OnGetAsync([FromQuery] string? deleted, CancellationToken ct)
    {
        Message = deleted switch
        {
            "profile" => "Profile entry deleted.",
            "event" => "Event deleted.",
            _ => null,
        };
        return LoadAsync(ct);
    }

    public async Task<IActionResult> OnPostDeleteProfileAsync([FromForm] Guid profileId, CancellationToken ct)
    {
        if (await ResolveAsync(ct) is null) return NotFound();
        await profileStore.DeleteAsync(ProjectId!, UserId, profileId, ct);
        return Redirect(Self("profile"));
    }

    public async Task<IActionResult> OnPostDeleteEventAsync([FromForm] Guid eventId, CancellationToken ct)
    {
        if (await ResolveAsync(ct) is null) return NotFound();
        await events.DeleteAsync(ProjectId!, UserId, eventId, ct);
        return Redirect(Self("event"));
    }

    public static string Field(JsonElement obj, string name)
        => obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var v)
            ? v.ValueKind == JsonValueKind.String ? v.GetString()! : v.GetRawText()
            : "—";

    private string Self(string deleted) => $"/admin/users/{UserId}?project={Uri.EscapeDataString(ProjectId!)}&deleted={deleted}";

    /// <summary>Finds the user within what this session may see; sets <see cref="ProjectId"/> when exactly one matches.</summary>
    private async Task<UserListing?> ResolveAsync(CancellationToken ct)
    {
        var scope = Scope ?? ProjectId;
        if (Scope is not null && ProjectId is not null && ProjectId != Scope) return null;
        Choices = await users.FindAsync(scope, UserId, ct);
        if (Choices.Count != 1) return null;
        ProjectId = Choices[0].ProjectId;
        return Choices[0];
    }

    private async Task<PageResult> LoadAsync(CancellationToken ct)
    {
        Listing = await ResolveAsync(ct);
        if (Listing is null)
        {
            return Choices.Count > 1 ? Page() : NotFoundPage($"There is no user {UserId}{(Admin.IsRoot ? "" : " in your project")}.");
        }
        var project = Listing.ProjectId;
        Profiles = await profiles.LoadAsync(project, UserId, ct);
        var rows = await events.SearchByTagsAsync(project, UserId, null, EventLimit, ct);
        Events = rows.Select(UserEventData.From).ToList();
        Gists = await events.GistsOfEventsAsync(project, UserId, rows.Select(r => r.Id).ToList(), ct);
        Buffer = await buffers.OfUserAsync(project, UserId, 20, ct);
        Jobs = await jobs.ListAsync(project, null, UserId, 20, 0, ct);
        return Page();
    }
}
