using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Memobase.Server.Profiles;

/// <summary>Upstream's <c>attribute_unify</c>: lowercase, trim, spaces → '_'.</summary>
public static class ProfileNames
{
    public static string Unify(string value) => value.ToLowerInvariant().Trim().Replace(' ', '_');
}
