namespace Memobase.Server.Infrastructure;

public static class EndpointExtensions
{
    /// <summary>Documents the FastAPI-style 422 every endpoint with path/query/body input can answer.</summary>
    public static RouteHandlerBuilder ProducesValidationProblem422(this RouteHandlerBuilder builder)
        => builder.Produces<HttpValidationError>(StatusCodes.Status422UnprocessableEntity);
}
