using System.Security.Cryptography;
using System.Text;

namespace Memobase.Server.Webhooks;

/// <summary>
/// Standard Webhooks signatures: <c>webhook-signature: v1,&lt;base64 HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}"&gt;</c>,
/// keyed with the base64-decoded part of the <c>whsec_</c> secret.
/// </summary>
public static class WebhookSigner
{
    public const string SecretPrefix = "whsec_";

    /// <summary>A new secret: 32 random bytes (the specification asks for 24–64).</summary>
    public static string NewSecret() => SecretPrefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    public static string Sign(string secret, string webhookId, long timestamp, string body)
    {
        var key = Convert.FromBase64String(secret.StartsWith(SecretPrefix, StringComparison.Ordinal) ? secret[SecretPrefix.Length..] : secret);
        var mac = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes($"{webhookId}.{timestamp}.{body}"));
        return "v1," + Convert.ToBase64String(mac);
    }
}
