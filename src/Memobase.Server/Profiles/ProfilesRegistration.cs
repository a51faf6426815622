using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Memobase.Server.Profiles;

public static class ProfilesRegistration
{
    /// <summary>
    /// Registers <see cref="ProfileOptions"/> (bound from section <c>Memobase</c>, validated at start) and
    /// <see cref="ProfileFilter"/> (singleton; it needs the LLM services, <c>AddMemobaseLlm</c>).
    /// </summary>
    public static IServiceCollection AddMemobaseProfiles(this IServiceCollection services)
    {
        services.AddOptions<ProfileOptions>().BindConfiguration("Memobase").ValidateDataAnnotations().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<ProfileOptions>, ProfileOptionsSetup>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ProfileOptions>, ProfileOptionsValidator>());
        services.TryAddSingleton<ProfileFilter>();
        return services;
    }
}
