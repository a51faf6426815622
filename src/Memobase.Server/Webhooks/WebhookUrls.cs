using System.Net;
using System.Net.Sockets;
using Memobase.Server.Data;

namespace Memobase.Server.Webhooks;

/// <summary>
/// What a webhook URL may be: absolute http(s), no user info, no fragment, at most <see cref="WebhookModel.MaxUrlLength"/>
/// characters; unless <c>webhook_allow_private_urls</c>, not a loopback, private, link-local or otherwise non-public
/// address. Host names are checked when the delivery connects (<see cref="ConnectPublicAsync"/>), so a name that resolves
/// to a private address, or is re-pointed to one later, is refused too.
/// </summary>
public static class WebhookUrls
{
    /// <returns>Why the URL is refused, or null when it is acceptable.</returns>
    public static string? Check(string? url, bool allowPrivate)
    {
        if (string.IsNullOrWhiteSpace(url)) return "URL is required";
        if (url.Length > WebhookModel.MaxUrlLength) return $"URL is longer than {WebhookModel.MaxUrlLength} characters";
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || string.IsNullOrEmpty(uri.Host))
        {
            return "URL must be an absolute http:// or https:// URL";
        }
        if (uri.UserInfo.Length > 0) return "URL must not contain user info (credentials)";
        if (uri.Fragment.Length > 0) return "URL must not contain a fragment";
        if (!allowPrivate)
        {
            var host = uri.Host.TrimEnd('.');
            if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase)
                || (IPAddress.TryParse(uri.IdnHost.Trim('[', ']'), out var ip) && !IsPublic(ip)))
            {
                return "URL points to a loopback or private address (allowed only with webhook_allow_private_urls=true)";
            }
        }
        return null;
    }

    /// <summary>Whether the address is routable on the public internet (not loopback, private, link-local, CGNAT, multicast, reserved).</summary>
    public static bool IsPublic(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            return !(b[0] is 0 or 10 or 127 || b[0] >= 224
                     || (b[0] == 100 && b[1] >= 64 && b[1] < 128)
                     || (b[0] == 169 && b[1] == 254)
                     || (b[0] == 172 && b[1] >= 16 && b[1] < 32)
                     || (b[0] == 192 && b[1] == 168)
                     || (b[0] == 192 && b[1] == 0 && b[2] is 0 or 2)
                     || (b[0] == 198 && b[1] is 18 or 19)
                     || (b[0] == 198 && b[1] == 51 && b[2] == 100)
                     || (b[0] == 203 && b[1] == 0 && b[2] == 113));
        }
        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            if (IPAddress.IPv6Loopback.Equals(address) || IPAddress.IPv6None.Equals(address)) return false;
            if (address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6Multicast || address.IsIPv6UniqueLocal) return false;
            var b = address.GetAddressBytes();
            return !(b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8); // documentation prefix
        }
        return false;
    }

    /// <summary>
    /// The delivery client's connect step when private addresses are not allowed: resolves the host and connects only to
    /// public addresses, so the check holds for the address actually used (no DNS rebinding between check and use).
    /// </summary>
    public static async ValueTask<Stream> ConnectPublicAsync(SocketsHttpConnectionContext context, CancellationToken ct)
    {
        var endpoint = context.DnsEndPoint;
        var addresses = IPAddress.TryParse(endpoint.Host.Trim('[', ']'), out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(endpoint.Host, ct);
        var allowed = addresses.Where(IsPublic).ToArray();
        if (allowed.Length == 0)
        {
            throw new HttpRequestException($"{endpoint.Host} resolves to no public address (webhook_allow_private_urls is off)");
        }
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(allowed, endpoint.Port, ct);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
