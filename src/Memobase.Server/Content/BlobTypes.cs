namespace Memobase.Server.Content;

/// <summary>Upstream's BlobType enum (also used for buffer_type).</summary>
public static class BlobTypes
{
    public const string Chat = "chat";
    public const string Summary = "summary";
    public const string Doc = "doc";
    public const string Image = "image";
    public const string Code = "code";
    public const string Transcript = "transcript";
    public static readonly string[] All = [Chat, Summary, Doc, Image, Code, Transcript];
    /// <summary>Types the buffer pipeline turns into memory.</summary>
    public static readonly string[] Processable = [Chat, Summary];

    public static bool IsKnown(string? value) => value is not null && Array.IndexOf(All, value) >= 0;

    public static bool IsProcessable(string value) => Array.IndexOf(Processable, value) >= 0;
}
