using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Memobase.Server.Buffers;
using Memobase.Server.Infrastructure;
using Memobase.Server.Serialization;
using Memobase.Server.Llm;
using Memobase.Server.Observability;
using Memobase.Server.Processing.Prompts;
using Memobase.Server.Profiles;
using Memobase.Server.Tokenization;
using Microsoft.Extensions.Options;
using Memobase.Server.Telemetry;
using Memobase.Server.Events;

namespace Memobase.Server.Processing;

/// <summary>
/// The chat/summary processing pipeline: entry summary → (extract → merge → organize → re-summary) in
/// parallel with event tagging → event, gists and embeddings. Never touches the database: it returns a
/// <see cref="PipelineResult"/> that the job runner applies in one transaction.
/// </summary>
/// <remarks>
/// Failure contract: LLM failures after the client's retries → <see cref="PipelineException"/> errno 503, retryable;
/// an unconfigured LLM → errno 503 and configuration errors (HTTP 401/403/404 from the provider, unknown model) →
/// errno 502, both not retryable (no backoff can fix them); nothing left after truncation → errno 520, not retryable;
/// an unsupported blob type → errno 400, not retryable. Unparsable LLM output is not an error (no facts, no tags).
/// Organize and re-summary failures are logged and skipped. Embedding failures leave the vectors null. Any other
/// exception is a bug and propagates. Thread-safe; registered as a singleton.
/// </remarks>
public sealed partial class BufferPipeline(
    LlmClient llm,
    EmbeddingClient embeddings,
    IOptionsMonitor<BufferOptions> bufferOptions,
    IOptionsMonitor<ProfileOptions> profileOptions,
    ILogger<BufferPipeline> logger)
{
    /// <summary>Processes one batch of buffered blobs (oldest first) of one user.</summary>
    /// <exception cref="PipelineException">See the class remarks.</exception>
    public async Task<PipelineResult> RunAsync(PipelineInput input, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(input);
        var options = profileOptions.CurrentValue;
        var (projectConfig, configError) = ProfileConfig.Parse(input.ProjectProfileConfig);
        if (configError is not null)
        {
            LogInvalidProjectConfig(logger, input.ProjectId, configError);
        }
        var run = new Run(input, ProfileSettings.Resolve(projectConfig ?? ProfileConfig.Empty, options), options, new UsageMeter());
        var timeZone = bufferOptions.CurrentValue.TimeZone;

        string memo;
        var truncated = 0;
        switch (input.BlobType)
        {
            case "chat":
                var kept = TruncateNewestFirst(input.Blobs, bufferOptions.CurrentValue.MaxChatBlobBufferProcessTokenSize, out truncated);
                if (kept.Count == 0)
                {
                    throw new PipelineException(520, "No blobs to process after truncating", retryable: false);
                }
                var summarySystem = EntrySummaryPrompt.System(run.Settings.Language, run.Settings.RenderSlots(),
                    TagDefinitionLines(run.Settings.EventTags), run.Settings.EventThemeRequirement);
                var summaryUser = EntrySummaryPrompt.User(run.AlreadyLogged, EntrySummaryPrompt.Chats(kept, timeZone));
                memo = (await CallAsync(run, PromptStages.EntrySummary, llm.SummaryModel, summarySystem, summaryUser, ct)).Trim();
                break;
            case "summary":
                memo = string.Join('\n', input.Blobs.Select(b => b.Content.Render(b.CreatedAt, timeZone)));
                break;
            default:
                throw new PipelineException(400, $"Blob type {input.BlobType} not supported", retryable: false);
        }
        if (string.IsNullOrWhiteSpace(memo))
        {
            LogNothingToRemember(logger, input.ProjectId, input.UserId, input.Blobs.Count);
            return new PipelineResult([], [], [], null, truncated, run.Meter.Snapshot());
        }

        var (profiles, tags) = await RunBranchesAsync(run, memo, ct);

        var gistLines = memo.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith('-')).ToList();
        var (eventVector, gistVectors) = await EmbedEventAsync(run, EmbeddingText(memo, profiles.Delta, tags), gistLines, ct);
        var eventData = JsonSerializer.Serialize(new EventDocument(memo, tags, profiles.Delta.Select(d => d.ToDelta()).ToList()), Json.Relaxed);
        var gists = gistLines.Select((line, i) => new GistPlan(Guid.NewGuid(), line, gistVectors?[i])).ToList();
        var result = new PipelineResult(
            profiles.Adds.Select(a => new ProfileAdd(Guid.NewGuid(), a.Content, a.AttributesJson())).ToList(),
            profiles.Updates.Select(u => new ProfileUpdate(u.Id, u.Content, u.AttributesJson)).ToList(),
            profiles.Deletes,
            new EventPlan(Guid.NewGuid(), eventData, eventVector, gists),
            truncated,
            run.Meter.Snapshot());
        LogProcessed(logger, input.ProjectId, input.UserId, input.Blobs.Count, input.BlobType, result.Adds.Count, result.Updates.Count,
            result.Deletes.Count, gists.Count, result.Usage.Calls, truncated);
        return result;
    }

    /// <summary>
    /// Keeps blobs newest first while the running token total stays within the limit (returned oldest first). The total
    /// uses each entry's token size, counted at insert over the blob's rendering, so nothing is tokenized twice.
    /// </summary>
    private static List<BufferedBlob> TruncateNewestFirst(IReadOnlyList<BufferedBlob> blobs, int maxTokens, out int dropped)
    {
        var kept = new List<BufferedBlob>();
        var total = 0;
        for (var i = blobs.Count - 1; i >= 0; i--)
        {
            total += blobs[i].TokenSize;
            if (total > maxTokens) break;
            kept.Add(blobs[i]);
        }
        dropped = blobs.Count - kept.Count;
        kept.Reverse();
        return kept;
    }

    private async Task<(ProfileOutcome Profiles, List<TagValue>? Tags)> RunBranchesAsync(Run run, string memo, CancellationToken ct)
    {
        using var branches = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var profileTask = CancelSiblingOnFailure(ProfileBranchAsync(run, memo, branches.Token), branches);
        var tagTask = CancelSiblingOnFailure(TagEventAsync(run, memo, branches.Token), branches);
        try
        {
            await Task.WhenAll(profileTask, tagTask);
        }
        catch (Exception) when (!ct.IsCancellationRequested)
        {
            var failures = new Task[] { profileTask, tagTask }.Where(t => t.IsFaulted).Select(t => t.Exception!.GetBaseException()).ToList();
            if (failures.OfType<PipelineException>().FirstOrDefault() is { } failure)
            {
                // Re-thrown with the usage of both branches.
                throw new PipelineException(failure.Errno, failure.Message, failure.Retryable, run.Meter.Snapshot(), failure.InnerException ?? failure)
                {
                    RateLimitedFor = failure.RateLimitedFor,
                };
            }
            throw;
        }
        return (await profileTask, await tagTask);
    }

    private static async Task<T> CancelSiblingOnFailure<T>(Task<T> task, CancellationTokenSource siblings)
    {
        try
        {
            return await task;
        }
        catch
        {
            await siblings.CancelAsync();
            throw;
        }
    }

    // ---------------------------------------------------------------- profile branch

    private async Task<ProfileOutcome> ProfileBranchAsync(Run run, string memo, CancellationToken ct)
    {
        var settings = run.Settings;
        var sep = run.Options.LlmTabSeparator;

        // Call 2: extraction.
        var extractSystem = ExtractPrompt.System(settings.Language, run.Options.SystemPrompt, settings.RenderSlots(), sep);
        var extractUser = ExtractPrompt.User(settings.Language, settings.StrictMode, run.AlreadyLogged, memo);
        var extracted = await CallAsync(run, PromptStages.Extract, llm.BestModel, extractSystem, extractUser, ct);
        var facts = LlmOutputParsers.MergeSameSlot(LlmOutputParsers.ParseFacts(extracted, sep));
        if (settings.StrictMode)
        {
            facts = facts.Where(f => settings.IsConfiguredSlot(f.Topic, f.SubTopic)).ToList();
        }

        // Call 3: merge (always made, even with nothing to validate, like upstream).
        var current = new Dictionary<(string, string), ExistingProfile>();
        foreach (var p in run.Input.Profiles) current[(p.Topic, p.SubTopic)] = p;
        var adds = new List<SlotContent>();
        var updates = new List<UpdateItem>();
        var updateDelta = new List<SlotContent>();
        var pending = new List<(MergeItem Item, ExtractedFact Fact, ExistingProfile? Existing)>();
        foreach (var fact in facts)
        {
            var existing = current.GetValueOrDefault((fact.Topic, fact.SubTopic));
            var slot = settings.FindSlot(fact.Topic, fact.SubTopic);
            if (!settings.ValidateMode && slot?.ValidateValue != true && existing is null)
            {
                adds.Add(new SlotContent(fact.Topic, fact.SubTopic, MemoItems.Distinct(fact.Memo)));
                continue;
            }
            pending.Add((new MergeItem(pending.Count + 1, fact.Memo, existing?.Content ?? "", fact.Topic, fact.SubTopic,
                slot?.Description, slot?.UpdateDescription), fact, existing));
        }
        var merged = await CallAsync(run, PromptStages.Merge, llm.BestModel, MergePrompt.System(settings.Language, sep),
            MergePrompt.User(pending.Select(p => p.Item).ToList(), sep), ct);
        var decisions = LlmOutputParsers.ParseMergeActions(merged, sep);
        foreach (var (item, fact, existing) in pending)
        {
            if (!decisions.TryGetValue(item.MemoId, out var decision))
            {
                LogNoMergeDecision(logger, run.Input.ProjectId, run.Input.UserId, fact.Topic, fact.SubTopic);
                RepairRepeats(existing, updates);
                continue;
            }
            switch (decision.Action)
            {
                // An UPDATE without text would wipe the slot: treated as ABORT (upstream would store "").
                case MergeAction.Update when decision.Memo.Length == 0:
                case MergeAction.Abort:
                    LogMergeAborted(logger, run.Input.ProjectId, run.Input.UserId, fact.Topic, fact.SubTopic);
                    RepairRepeats(existing, updates);
                    break;
                case MergeAction.Update when existing is null:
                    adds.Add(new SlotContent(fact.Topic, fact.SubTopic, MemoItems.Distinct(decision.Memo)));
                    break;
                case MergeAction.Update:
                    var rewritten = MemoItems.Distinct(decision.Memo);
                    if (MemoItems.SameItems(rewritten, existing!.Content))
                    {
                        // Nothing new: the memo is already in the slot.
                        LogAlreadyInSlot(logger, run.Input.ProjectId, run.Input.UserId, fact.Topic, fact.SubTopic);
                        RepairRepeats(existing, updates);
                        break;
                    }
                    updates.Add(new UpdateItem(existing.Id, rewritten, WithUpdateHit(existing)));
                    updateDelta.Add(new SlotContent(fact.Topic, fact.SubTopic, fact.Memo));
                    break;
                case MergeAction.Append when existing is null:
                    adds.Add(new SlotContent(fact.Topic, fact.SubTopic, MemoItems.Distinct(fact.Memo)));
                    break;
                case MergeAction.Append:
                    var (appended, added) = MemoItems.Append(existing!.Content, fact.Memo);
                    if (added.Length == 0)
                    {
                        LogAlreadyInSlot(logger, run.Input.ProjectId, run.Input.UserId, fact.Topic, fact.SubTopic);
                        RepairRepeats(existing, updates);
                        break;
                    }
                    updates.Add(new UpdateItem(existing.Id, appended!, WithUpdateHit(existing)));
                    updateDelta.Add(new SlotContent(fact.Topic, fact.SubTopic, added));
                    break;
            }
        }
        // The event's profile_delta: the adds (same objects, so later re-summary edits show) + the raw facts behind updates.
        List<SlotContent> delta = [.. adds, .. updateDelta];

        var deletes = new List<Guid>();
        await OrganizeAsync(run, adds, deletes, ct);
        await ResummarizeAsync(run, adds, updates, ct);
        return new ProfileOutcome(adds, updates, deletes, delta);
    }

    /// <summary>A slot that holds a memo more than once is rewritten without the repeats (attributes as they are).</summary>
    private static void RepairRepeats(ExistingProfile? existing, List<UpdateItem> updates)
    {
        if (existing is null) return;
        var distinct = MemoItems.Distinct(existing.Content);
        if (ReferenceEquals(distinct, existing.Content)) return;
        updates.Add(new UpdateItem(existing.Id, distinct, Attributes(existing, hit: false)));
    }

    /// <summary>upstream's <c>update_hits</c>: existing attributes with the counter incremented (1 when absent).</summary>
    private static string WithUpdateHit(ExistingProfile profile) => Attributes(profile, hit: true);

    private static string Attributes(ExistingProfile profile, bool hit)
    {
        JsonObject attributes;
        try
        {
            attributes = profile.AttributesJson is null ? [] : JsonNode.Parse(profile.AttributesJson) as JsonObject ?? [];
        }
        catch (JsonException)
        {
            attributes = [];
        }
        if (!attributes.ContainsKey("topic")) attributes["topic"] = profile.Topic;
        if (!attributes.ContainsKey("sub_topic")) attributes["sub_topic"] = profile.SubTopic;
        if (hit)
        {
            var hits = attributes["update_hits"] is JsonValue v && v.TryGetValue<long>(out var n) ? n : (long?)null;
            attributes["update_hits"] = hits is { } h ? h + 1 : 1;
        }
        return attributes.ToJsonString(Json.Relaxed);
    }

    /// <summary>Every topic with more pre-existing profiles than max_profile_subtopics is regrouped; all-or-nothing.</summary>
    private async Task OrganizeAsync(Run run, List<SlotContent> adds, List<Guid> deletes, CancellationToken ct)
    {
        var max = run.Options.MaxProfileSubtopics;
        var groups = run.Input.Profiles.GroupBy(p => p.Topic).Where(g => g.Count() > max).ToList();
        if (groups.Count == 0) return;

        var target = max / 2 + 1;
        var sep = run.Options.LlmTabSeparator;
        var results = await Task.WhenAll(groups.Select(async group =>
        {
            var topic = ProfileNames.Unify(group.Key);
            var system = OrganizePrompt.System(target, ProfileTopicsPrompt.RenderSubTopicsOf(topic, run.Settings.LanguageDefaults), sep);
            var user = OrganizePrompt.User(topic, group.Select(p => (p.SubTopic, p.Content)), sep);
            var text = await TryCallAsync(run, PromptStages.Organize, llm.BestModel, system, user, ct);
            var regrouped = text is null ? [] : LlmOutputParsers.ParseNamedValues(text, sep).Take(target)
                .Select(v => new SlotContent(topic, v.Name, v.Value)).ToList();
            return (Group: group, Profiles: regrouped);
        }));
        var failed = results.Where(r => r.Profiles.Count == 0).Select(r => r.Group.Key).ToList();
        if (failed.Count > 0)
        {
            LogOrganizeFailed(logger, run.Input.ProjectId, run.Input.UserId, string.Join(", ", failed));
            return;
        }
        adds.AddRange(results.SelectMany(r => r.Profiles));
        // Same-slot adds become one (joined with "; "), keeping the first object.
        var first = new Dictionary<(string, string), SlotContent>();
        var unique = new List<SlotContent>();
        foreach (var add in adds)
        {
            if (first.TryGetValue((add.Topic, add.SubTopic), out var kept))
            {
                kept.Content = MemoItems.Append(kept.Content, add.Content).Content ?? kept.Content;
                continue;
            }
            first[(add.Topic, add.SubTopic)] = add;
            unique.Add(add);
        }
        adds.Clear();
        adds.AddRange(unique);
        deletes.AddRange(results.SelectMany(r => r.Group.Select(p => p.Id)));
    }

    /// <summary>Adds and updates longer than max_pre_profile_token_size are shortened; failures keep the text.</summary>
    private async Task ResummarizeAsync(Run run, List<SlotContent> adds, List<UpdateItem> updates, CancellationToken ct)
    {
        var limit = run.Options.MaxPreProfileTokenSize;
        var keep = limit / 2;
        var targets = adds.Cast<IHasContent>().Concat(updates).Where(x => O200kTokenizer.Instance.CountTokens(x.Content) > limit).ToList();
        await Task.WhenAll(targets.Select(async target =>
        {
            var text = await TryCallAsync(run, PromptStages.Resummary, llm.SummaryModel, ResummaryPrompt.System(keep), target.Content, ct);
            if (!string.IsNullOrWhiteSpace(text))
            {
                target.Content = O200kTokenizer.Instance.TruncateWithEllipsis(text.Trim(), keep);
            }
        }));
    }

    // ---------------------------------------------------------------- event branch

    private async Task<List<TagValue>?> TagEventAsync(Run run, string memo, CancellationToken ct)
    {
        var tags = run.Settings.EventTags;
        if (tags.Count == 0) return null;
        var sep = run.Options.LlmTabSeparator;
        var text = await CallAsync(run, PromptStages.EventTagging, llm.BestModel,
            EventTaggingPrompt.System(TagDefinitionLines(tags), sep), memo, ct);
        var names = tags.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        return LlmOutputParsers.ParseNamedValues(text, sep).Where(v => names.Contains(v.Name)).Select(v => new TagValue(v.Name, v.Value)).ToList();
    }

    private static string TagDefinitionLines(IEnumerable<EventTag> tags) => string.Join('\n', tags.Select(t => $"- {t.Name}({t.Description})"));

    /// <summary>Event tip, the delta lines and the tag lines, newline-separated.</summary>
    private static string EmbeddingText(string memo, IEnumerable<SlotContent> delta, IEnumerable<TagValue>? tags)
    {
        var deltaLines = string.Join('\n', delta.Select(d => $"- {d.Topic}::{d.SubTopic}: {d.Content}"));
        var tagLines = tags is null ? "" : string.Join('\n', tags.Select(t => $"- {t.Tag}: {t.Value}"));
        return $"{memo}\n{deltaLines}\n{tagLines}";
    }

    private async Task<(float[]? Event, float[][]? Gists)> EmbedEventAsync(Run run, string eventText, List<string> gists, CancellationToken ct)
    {
        if (!embeddings.IsEnabled) return (null, null);
        var eventTask = TryEmbedAsync(run, [eventText], "event", ct);
        var gistTask = gists.Count == 0 ? Task.FromResult<float[][]?>(null) : TryEmbedAsync(run, gists, "gists", ct);
        await Task.WhenAll(eventTask, gistTask);
        return ((await eventTask)?[0], await gistTask);
    }

    private async Task<float[][]?> TryEmbedAsync(Run run, IReadOnlyList<string> inputs, string what, CancellationToken ct)
    {
        using var scope = LlmCallContext.ForStage(what == "event" ? "embed_event" : "embed_gists");
        try
        {
            return await embeddings.EmbedAsync(inputs, ct);
        }
        catch (Exception ex) when (ex is LlmException or InvalidOperationException or HttpRequestException)
        {
            LogEmbeddingFailed(logger, run.Input.ProjectId, run.Input.UserId, what, ex.Message);
            return null;
        }
    }

    // ---------------------------------------------------------------- LLM calls

    private async Task<string> CallAsync(Run run, string stage, string model, string system, string user, CancellationToken ct)
    {
        using var scope = LlmCallContext.ForStage(stage);
        try
        {
            var completion = await llm.CompleteAsync(model, system, user, ct);
            run.Meter.Add(completion);
            return StoredText.Sanitize(completion.Text);
        }
        catch (LlmNotConfiguredException ex)
        {
            throw new PipelineException(Errno.ServiceUnavailable, ex.Message, retryable: false, run.Meter.Snapshot(), ex);
        }
        catch (LlmException ex) when (ex.IsConfigurationError)
        {
            // No retry can fix a rejected key, a wrong URL or an unknown model: fail the job now, naming the settings.
            LogCallFailed(logger, run.Input.ProjectId, run.Input.UserId, stage, ex.Message);
            throw new PipelineException(Errno.BadGateway, $"LLM configuration error: {stage}: {ex.Message}. " +
                $"Check llm_api_key, llm_base_url and the model name ({model}); the job is not retried.", retryable: false, run.Meter.Snapshot(), ex);
        }
        catch (LlmRateLimitedException ex)
        {
            LogCallFailed(logger, run.Input.ProjectId, run.Input.UserId, stage, ex.Message);
            throw new PipelineException(Errno.ServiceUnavailable, $"LLM request failed: {stage}: {ex.Message}", retryable: true, run.Meter.Snapshot(), ex)
            {
                RateLimitedFor = ex.RetryAfter ?? TimeSpan.FromSeconds(1),
            };
        }
        catch (LlmException ex)
        {
            LogCallFailed(logger, run.Input.ProjectId, run.Input.UserId, stage, ex.Message);
            throw new PipelineException(Errno.ServiceUnavailable, $"LLM request failed: {stage}: {ex.Message}", retryable: true, run.Meter.Snapshot(), ex);
        }
    }

    /// <summary>For the optional stages: a failed call is logged and yields null.</summary>
    private async Task<string?> TryCallAsync(Run run, string stage, string model, string system, string user, CancellationToken ct)
    {
        using var scope = LlmCallContext.ForStage(stage);
        try
        {
            var completion = await llm.CompleteAsync(model, system, user, ct);
            run.Meter.Add(completion);
            return StoredText.Sanitize(completion.Text);
        }
        catch (LlmException ex)
        {
            LogCallFailed(logger, run.Input.ProjectId, run.Input.UserId, stage, ex.Message);
            return null;
        }
    }

    /// <summary>The first <paramref name="maxTokens"/> tokens, with <c>...</c> appended when something was cut.</summary>
    // ---------------------------------------------------------------- run state

    private sealed class Run(PipelineInput input, ProfileSettings settings, ProfileOptions options, UsageMeter meter)
    {
        public PipelineInput Input { get; } = input;
        public ProfileSettings Settings { get; } = settings;
        public ProfileOptions Options { get; } = options;
        public UsageMeter Meter { get; } = meter;

        /// <summary>"already logged": sorted <c>- topic{sep}sub_topic{sep}value...</c> lines (strict: configured slots only).</summary>
        public string AlreadyLogged { get; } = BuildAlreadyLogged(input.Profiles, settings, options.LlmTabSeparator);

        private static string BuildAlreadyLogged(IReadOnlyList<ExistingProfile> profiles, ProfileSettings settings, string sep)
        {
            var values = new Dictionary<(string Topic, string SubTopic), string>();
            foreach (var p in profiles) values[(ProfileNames.Unify(p.Topic), ProfileNames.Unify(p.SubTopic))] = p.Content;
            var keys = values.Keys.Where(k => !settings.StrictMode || settings.IsConfiguredSlot(k.Topic, k.SubTopic))
                .OrderBy(k => k.Topic, StringComparer.Ordinal).ThenBy(k => k.SubTopic, StringComparer.Ordinal);
            var sb = new StringBuilder();
            foreach (var key in keys)
            {
                if (sb.Length > 0) sb.Append('\n');
                sb.Append("- ").Append(key.Topic).Append(sep).Append(key.SubTopic).Append(sep).Append(O200kTokenizer.Instance.TruncateWithEllipsis(values[key], 5));
            }
            return sb.ToString();
        }
    }

    private interface IHasContent
    {
        string Content { get; set; }
    }

    /// <summary>A new profile (or a delta entry): mutable content, shared between the add list and the event's delta.</summary>
    private sealed class SlotContent(string topic, string subTopic, string content) : IHasContent
    {
        public string Topic { get; } = topic;
        public string SubTopic { get; } = subTopic;
        public string Content { get; set; } = content;

        public string AttributesJson() => JsonSerializer.Serialize(new SlotAttributes(Topic, SubTopic), Json.Relaxed);

        public DeltaItem ToDelta() => new(Content, new SlotAttributes(Topic, SubTopic));
    }

    private sealed class UpdateItem(Guid id, string content, string attributesJson) : IHasContent
    {
        public Guid Id { get; } = id;
        public string Content { get; set; } = content;
        public string AttributesJson { get; } = attributesJson;
    }

    private sealed record ProfileOutcome(List<SlotContent> Adds, List<UpdateItem> Updates, List<Guid> Deletes, List<SlotContent> Delta);

    internal sealed record SlotAttributes(string Topic, string SubTopic);

    internal sealed record DeltaItem(string Content, SlotAttributes Attributes);

    internal sealed record TagValue(string Tag, string Value);

    internal sealed record EventDocument(string EventTip, IReadOnlyList<TagValue>? EventTags, IReadOnlyList<DeltaItem> ProfileDelta);

    // ---------------------------------------------------------------- logging (never prompt/completion text above Debug)

    [LoggerMessage(EventId = 4201, Level = LogLevel.Information,
        Message = "Processed {BlobCount} {BlobType} blob(s) of user {UserId} (project {ProjectId}): {Adds} added, {Updates} updated, {Deletes} deleted profile(s), {Gists} gist(s), {Calls} LLM call(s), {Truncated} blob(s) truncated")]
    private static partial void LogProcessed(ILogger logger, string projectId, Guid userId, int blobCount, string blobType, int adds, int updates,
        int deletes, int gists, int calls, int truncated);

    [LoggerMessage(EventId = 4202, Level = LogLevel.Information, Message = "Entry summary of {BlobCount} blob(s) of user {UserId} (project {ProjectId}) is empty: no event, no profile changes")]
    private static partial void LogNothingToRemember(ILogger logger, string projectId, Guid userId, int blobCount);

    [LoggerMessage(EventId = 4203, Level = LogLevel.Warning, Message = "Project {ProjectId} has an invalid profile_config, processing with the global settings: {Error}")]
    private static partial void LogInvalidProjectConfig(ILogger logger, string projectId, string error);

    [LoggerMessage(EventId = 4204, Level = LogLevel.Warning, Message = "LLM call {Stage} failed for user {UserId} (project {ProjectId}): {Error}")]
    private static partial void LogCallFailed(ILogger logger, string projectId, Guid userId, string stage, string error);

    [LoggerMessage(EventId = 4205, Level = LogLevel.Warning, Message = "No merge decision for {Topic}/{SubTopic} of user {UserId} (project {ProjectId}); fact dropped")]
    private static partial void LogNoMergeDecision(ILogger logger, string projectId, Guid userId, string topic, string subTopic);

    [LoggerMessage(EventId = 4206, Level = LogLevel.Debug, Message = "Merge aborted {Topic}/{SubTopic} of user {UserId} (project {ProjectId})")]
    private static partial void LogMergeAborted(ILogger logger, string projectId, Guid userId, string topic, string subTopic);

    [LoggerMessage(EventId = 4209, Level = LogLevel.Debug, Message = "Memo for {Topic}/{SubTopic} of user {UserId} (project {ProjectId}) is already in the slot; not added again")]
    private static partial void LogAlreadyInSlot(ILogger logger, string projectId, Guid userId, string topic, string subTopic);

    [LoggerMessage(EventId = 4207, Level = LogLevel.Error, Message = "Organizing profiles of user {UserId} (project {ProjectId}) failed for topic(s) {Topics}; profiles left as they are")]
    private static partial void LogOrganizeFailed(ILogger logger, string projectId, Guid userId, string topics);

    [LoggerMessage(EventId = 4208, Level = LogLevel.Warning, Message = "Embedding the {What} of user {UserId} (project {ProjectId}) failed, stored without vectors: {Error}")]
    private static partial void LogEmbeddingFailed(ILogger logger, string projectId, Guid userId, string what, string error);
}

/// <summary>Thread-safe sum of the completions of one run.</summary>
internal sealed class UsageMeter
{
    private readonly Lock _lock = new();
    private int _calls;
    private int _promptTokens;
    private int _completionTokens;
    private int _elapsedMs;

    public void Add(LlmCompletion completion)
    {
        lock (_lock)
        {
            _calls++;
            _promptTokens += completion.PromptTokens;
            _completionTokens += completion.CompletionTokens;
            _elapsedMs += completion.ElapsedMs;
        }
    }

    public LlmUsage Snapshot()
    {
        lock (_lock)
        {
            return new LlmUsage(_calls, _promptTokens, _completionTokens, _elapsedMs);
        }
    }
}
