using System.Buffers;
using System.Text.Json;
using System.Text.Unicode;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Extensions.Options;

namespace Memobase.Server.Infrastructure;

/// <summary>
/// Reads the JSON body of an endpoint that takes one (it has <see cref="IAcceptsMetadata"/>) before binding and checks
/// it whole: size (HTTP 413), Content-Type, UTF-8, JSON syntax, nesting depth, array lengths, and strings that no
/// PostgreSQL <c>text</c>/<c>jsonb</c> column can store (U+0000, unpaired surrogates). Every rejection is a 422 naming
/// the field, so nothing malformed reaches a handler or the database. The checked bytes become the request body the
/// framework binds from.
/// </summary>
public sealed class RequestBodyGuard(RequestDelegate next)
{
    /// <summary>Endpoints without a body pass straight through (no state machine of their own).</summary>
    public Task InvokeAsync(HttpContext context)
        => context.GetEndpoint() is { } endpoint && endpoint.Metadata.GetMetadata<IAcceptsMetadata>() is { } accepts
            ? GuardAsync(context, endpoint, accepts)
            : next(context);

    private async Task GuardAsync(HttpContext context, Endpoint endpoint, IAcceptsMetadata accepts)
    {
        var request = context.Request;
        var limit = endpoint.Metadata.GetMetadata<BodyLimitMetadata>()?.Bytes ?? RequestLimits.DefaultBodyBytes;
        if (request.ContentLength > limit)
        {
            await TooLarge(context, limit);
            return;
        }

        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(request.ContentLength ?? 4096, limit) + 1);
        try
        {
            var length = 0;
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (length > limit) break;
                    var larger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, limit + 1));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }
                var read = await request.Body.ReadAsync(buffer.AsMemory(length), context.RequestAborted);
                if (read == 0) break;
                length += read;
            }
            if (length > limit)
            {
                await TooLarge(context, limit);
                return;
            }

            var error = Check(request, accepts, buffer.AsSpan(0, length));
            if (error is not null)
            {
                await Validation.Problem([error]).ExecuteAsync(context);
                return;
            }
            request.Body = new MemoryStream(buffer, 0, length, writable: false);
            request.ContentLength = length;
            await next(context);
            // The framework could not bind the (syntactically valid) body to the handler's type: it set HTTP 400 and
            // wrote nothing. Deserialize again to name the field.
            if (context.Response.StatusCode == StatusCodes.Status400BadRequest && !context.Response.HasStarted && accepts.RequestType is { } type)
            {
                var json = context.RequestServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
                await Validation.Problem([await RequestValidation.BodyErrorAsync(request, type, json)]).ExecuteAsync(context);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static ValidationError? Check(HttpRequest request, IAcceptsMetadata accepts, ReadOnlySpan<byte> body)
    {
        if (body.IsEmpty)
        {
            return accepts.IsOptional ? null : Validation.Missing("body");
        }
        if (!request.HasJsonContentType())
        {
            return new ValidationError(["body"], "Request body must be JSON sent with Content-Type: application/json", "content_type");
        }
        if (!Utf8.IsValid(body))
        {
            return new ValidationError(["body"], "Request body is not valid UTF-8", "json_invalid");
        }
        return CheckJson(body);
    }

    private struct Frame
    {
        public bool IsArray;
        public int Index;
        public string? Name;
    }

    /// <summary>One pass over the tokens, keeping the path to the current value for the error's <c>loc</c>.</summary>
    internal static ValidationError? CheckJson(ReadOnlySpan<byte> body)
    {
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = RequestLimits.MaxJsonDepth + 1 });
        var path = new List<Frame>();
        try
        {
            while (reader.Read())
            {
                var token = reader.TokenType;
                if (token is JsonTokenType.EndObject or JsonTokenType.EndArray)
                {
                    path.RemoveAt(path.Count - 1);
                    continue;
                }
                if (token == JsonTokenType.PropertyName)
                {
                    var top = path[^1];
                    top.Name = reader.ValueIsEscaped ? null : reader.GetString();
                    path[^1] = top;
                    if (reader.ValueIsEscaped && CheckString(ref reader, path, "Field name") is { } nameError) return nameError;
                    continue;
                }
                if (path.Count > 0 && path[^1].IsArray)
                {
                    var top = path[^1];
                    top.Index++;
                    path[^1] = top;
                    if (top.Index >= RequestLimits.MaxJsonArrayItems)
                    {
                        path.RemoveAt(path.Count - 1);
                        return new ValidationError(Loc(path), $"List should have at most {RequestLimits.MaxJsonArrayItems} items", "too_long");
                    }
                }
                switch (token)
                {
                    case JsonTokenType.StartObject or JsonTokenType.StartArray:
                        if (path.Count >= RequestLimits.MaxJsonDepth)
                        {
                            return new ValidationError(Loc(path), $"JSON nesting deeper than {RequestLimits.MaxJsonDepth} levels", "json_invalid");
                        }
                        path.Add(new Frame { IsArray = token == JsonTokenType.StartArray, Index = -1 });
                        break;
                    case JsonTokenType.String when reader.ValueIsEscaped:
                        if (CheckString(ref reader, path, "String") is { } error) return error;
                        break;
                }
            }
        }
        catch (JsonException)
        {
            return new ValidationError(["body", reader.BytesConsumed], "JSON decode error", "json_invalid");
        }
        return null;
    }

    /// <summary>Escapes can spell what raw UTF-8 cannot: <c>\u0000</c> and unpaired surrogates such as <c>\ud800</c>.</summary>
    private static ValidationError? CheckString(ref Utf8JsonReader reader, List<Frame> path, string what)
    {
        string value;
        try
        {
            value = reader.GetString()!;
        }
        catch (InvalidOperationException)
        {
            return new ValidationError(Loc(path), $"{what} contains an unpaired UTF-16 surrogate escape", "string_unicode");
        }
        return value.Contains('\0', StringComparison.Ordinal)
            ? new ValidationError(Loc(path), $"{what} contains a NUL character (\\u0000)", "string_unicode")
            : null;
    }

    private static List<object> Loc(List<Frame> path)
    {
        var loc = new List<object>(path.Count + 1) { "body" };
        foreach (var frame in path)
        {
            if (frame.IsArray)
            {
                if (frame.Index >= 0) loc.Add(frame.Index);
            }
            else if (frame.Name is not null)
            {
                loc.Add(frame.Name);
            }
        }
        return loc;
    }

    private static Task TooLarge(HttpContext context, int limit)
        => ErrorResponses.WriteAsync(context, StatusCodes.Status413PayloadTooLarge, $"Request body larger than {limit} bytes");
}
