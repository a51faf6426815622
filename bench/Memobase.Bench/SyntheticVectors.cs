namespace Memobase.Bench;

/// <summary>
/// Deterministic stand-ins for text embeddings: each vector mixes 3 of 512 fixed random "concepts" with random weights
/// plus noise, so rows sharing concepts are similar (cosine ~0.3–0.9) and unrelated rows are not (~0), and a query has a
/// continuous ranking rather than a few exact clusters. The fake LLM embeds the text <c>q:&lt;seed&gt;</c> as
/// <see cref="Of"/>(seed), which lets the bench compute the exact ranking of a search itself.
/// </summary>
internal static class SyntheticVectors
{
    private const int Concepts = 512;
    private static readonly Dictionary<int, float[][]> ConceptsByDim = [];

    public static float[] Of(long seed, int dim)
    {
        float[][] concepts;
        lock (ConceptsByDim)
        {
            if (!ConceptsByDim.TryGetValue(dim, out concepts!))
            {
                var r = new Rng(0xC0FFEE);
                concepts = Enumerable.Range(0, Concepts).Select(_ => Enumerable.Range(0, dim).Select(_ => r.Gaussian()).ToArray()).ToArray();
                ConceptsByDim[dim] = concepts;
            }
        }
        var rng = new Rng((ulong)seed * 0x9E3779B97F4A7C15UL + 1);
        var v = new float[dim];
        for (var k = 0; k < 3; k++)
        {
            var c = concepts[(int)(rng.Next() % Concepts)];
            var w = 0.5f + (float)rng.Uniform();
            for (var i = 0; i < dim; i++) v[i] += w * c[i];
        }
        for (var i = 0; i < dim; i++) v[i] += 0.7f * rng.Gaussian();
        return v;
    }

    /// <summary>xorshift64*: fast and reproducible.</summary>
    private struct Rng(ulong seed)
    {
        private ulong _s = seed == 0 ? 1 : seed;

        public ulong Next()
        {
            _s ^= _s >> 12;
            _s ^= _s << 25;
            _s ^= _s >> 27;
            return _s * 2685821657736338717UL;
        }

        public double Uniform() => (Next() >> 11) * (1.0 / (1UL << 53));

        /// <summary>Approximately normal (sum of 4 uniforms, variance 1).</summary>
        public float Gaussian() => (float)((Uniform() + Uniform() + Uniform() + Uniform() - 2) * Math.Sqrt(3));
    }
}
