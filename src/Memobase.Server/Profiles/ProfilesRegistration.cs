using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Memobase.Server.Profiles;

public static class ProfilesRegistration
{
    /// <summary>
    /// <see cref="ProfileOptions"/> (bound from section <c>Memobase</c>, set up and validated at start) and the profile
    /// services: <see cref="ProfileStore"/>, <see cref="ProfileReader"/>, <see cref="ProfileService"/>,
    /// <see cref="ProfileFilter"/> and <see cref="ProfileImporter"/>.
    /// </summary>
    public static IServiceCollection AddMemobaseProfiles(this IServiceCollection services)
    {
        services.AddProfileOptions();
        services.TryAddSingleton<ProfileStore>();
        services.TryAddSingleton<ProfileReader>();
        services.TryAddSingleton<ProfileService>();
        services.TryAddSingleton<ProfileFilter>();
        services.TryAddSingleton<ProfileImporter>();
        return services;
    }

    /// <summary><see cref="ProfileOptions"/> alone: bound from section <c>Memobase</c>, set up and validated at start.</summary>
    public static IServiceCollection AddProfileOptions(this IServiceCollection services)
    {
        services.AddOptions<ProfileOptions>().BindConfiguration("Memobase").ValidateDataAnnotations().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<ProfileOptions>, ProfileOptionsSetup>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ProfileOptions>, ProfileOptionsValidator>());
        return services;
    }
}
