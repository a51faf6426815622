using System.Collections;

namespace Memobase.Server.Events;

/// <summary>
/// The compact copy of an embedding the first search stage ranks by: one bit per dimension, set where the value is
/// positive (<c>embedding_bits</c>, <c>bit varying</c>). Written with every embedding; the migration that added the
/// column back-filled it with <c>memobase_sign_bits(real[])</c>, which computes the same bits in SQL, and a trigger
/// fills it for any writer that leaves it out.
/// </summary>
public static class SignCode
{
    /// <summary>How many magnitude bit planes weight a query's sign mismatches (levels 0–15).</summary>
    public const int Planes = 4;

    public static BitArray Of(float[] vector)
    {
        var bits = new BitArray(vector.Length);
        for (var i = 0; i < vector.Length; i++) bits[i] = vector[i] > 0;
        return bits;
    }

    /// <summary>
    /// The query's sign bits and <see cref="Planes"/> bit planes of its magnitudes (|q| scaled to 0–15): a row's
    /// weighted mismatch Σ_b 2^b · bit_count((row # signs) &amp; plane_b) approximates Σ_{d: signs differ} |q_d|, so a
    /// lower value means a larger q·sign(row), a much closer estimate of the cosine than the plain Hamming distance.
    /// </summary>
    public static (BitArray Signs, BitArray[] Planes) Query(float[] vector)
    {
        var max = 0f;
        foreach (var x in vector) max = Math.Max(max, Math.Abs(x));
        var planes = new BitArray[Planes];
        for (var b = 0; b < Planes; b++) planes[b] = new BitArray(vector.Length);
        for (var i = 0; i < vector.Length; i++)
        {
            var level = max > 0 ? (int)MathF.Round(Math.Abs(vector[i]) / max * ((1 << Planes) - 1)) : 0;
            for (var b = 0; b < Planes; b++) planes[b][i] = (level >> b & 1) == 1;
        }
        return (Of(vector), planes);
    }

    /// <summary>Cosine similarity in double precision; null when the lengths differ or either vector is all zeros.</summary>
    public static double? Cosine(float[] a, float[] b)
    {
        if (a.Length != b.Length || a.Length == 0) return null;
        double dot = 0, na = 0, nb = 0;
        for (var i = 0; i < a.Length; i++)
        {
            double x = a[i], y = b[i];
            dot += x * y;
            na += x * x;
            nb += y * y;
        }
        return na == 0 || nb == 0 ? null : dot / (Math.Sqrt(na) * Math.Sqrt(nb));
    }
}
