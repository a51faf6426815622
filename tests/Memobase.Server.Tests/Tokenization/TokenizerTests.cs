using System.Globalization;
using System.Text;
using Memobase.Server.Tokenization;

namespace Memobase.Server.Tests.Tokenization;

/// <summary>
/// Expected ids come from the reference implementation: npm <c>tiktoken@1.0.22</c>,
/// <c>get_encoding("o200k_base").encode_ordinary(text)</c> (same Rust core as Python tiktoken, which upstream uses via
/// <c>encoding_for_model("gpt-4o")</c>). Truncation expectations are that package's <c>decode</c> of the id prefix
/// through <c>TextDecoder</c> (invalid UTF-8 → U+FFFD, like Python's <c>errors="replace"</c>).
/// </summary>
public sealed class TokenizerTests
{
    private static readonly O200kTokenizer Tokenizer = O200kTokenizer.Instance;

    public static TheoryData<string, int[]> OracleCases => new()
    {
        { "", [] },
        { "The quick brown fox jumps over the lazy dog.", [976, 4853, 19705, 68347, 65613, 1072, 290, 29082, 6446, 13] },
        { "1234567", [7633, 19354, 22] },
        { "I'm don't", [15390, 4128] },
        { "YOU'RE we'VE They'll it's I'D", [90812, 6, 1099, 581, 6, 19511, 174490, 4275, 3413, 35] },
        { "a  b\t\tc\n\nd   \n  e    ", [64, 220, 287, 197, 2736, 279, 67, 10190, 220, 319, 257] },
        { "line1\r\nline2\r\n\r\n  indented\n", [1137, 16, 370, 1137, 17, 1414, 220, 1383, 23537, 198] },
        {
            "Hello, world!!! (really?) -- yes... {\"k\": [1, 2]} // done",
            [13225, 11, 2375, 10880, 350, 105422, 16918, 2230, 14531, 1008, 10494, 74, 1243, 723, 16, 11, 220, 17, 28000, 602, 4167]
        },
        { "我喜欢打网球，也喜欢看电影。", [7522, 69681, 15552, 1829, 8939, 48718, 69681, 3812, 14830, 788] },
        {
            "東京で寿司を食べました。カタカナとひらがな",
            [108713, 4344, 91832, 10132, 7277, 25971, 55078, 32552, 788, 14214, 12288, 14214, 27354, 5330, 60922, 8870, 6632, 5784]
        },
        {
            "😀 👍🏽 👨‍👩‍👧‍👦 🏳️‍🌈 🇺🇸",
            [84083, 160433, 52622, 121, 61138, 101, 2524, 28823, 102, 2524, 28823, 100, 2524, 28823, 99, 9552, 237, 111, 15148, 2524, 64364, 230, 173468, 118, 55506, 116]
        },
        { "Café naïve résumé Ångström façade", [34, 103112, 153475, 737, 140184, 49805, 892, 162823, 114665] },
        { "e\u0301 n\u0303o", [68, 13430, 297, 52279, 78] },
        // Outside the BMP: categories must be taken per code point, not per UTF-16 surrogate (a .NET Regex would split these differently).
        { "𝐀𝐁𝐂 𠀀𠀁abc 😀abc", [91362, 222, 91362, 223, 91362, 224, 220, 172, 62313, 222, 172, 62313, 223, 26682, 88038, 26682] },
        { "𝟘𝟙42", [43120, 253, 246, 43120, 253, 247, 19, 17] },
        { "𠀀𠀁.jjj", [172, 62313, 222, 172, 62313, 223, 1760, 41699] },
        {
            "[2025/01/14] user: Hi, I'm Gus and I love tennis\n[2025/01/14] assistant: Nice!",
            [58, 1323, 20, 14, 2290, 14, 1265, 60, 1825, 25, 19260, 11, 5477, 116266, 326, 357, 3047, 33595, 198, 58, 1323, 20, 14, 2290, 14, 1265, 60, 29186, 25, 35669, 0]
        },
        // Special-token text is ordinary text (tiktoken's encode() would raise; encode_ordinary gives these).
        { "<|endoftext|>", [27, 91, 419, 1440, 919, 91, 29] },
        { "hello <|endoftext|> world<|endofprompt|>", [24912, 464, 91, 419, 1440, 919, 91, 29, 2375, 27, 91, 419, 1440, 82467, 91, 29] },
        // A lone surrogate is encoded as U+FFFD (what Python tiktoken and JS TextEncoder do).
        { "a\ud800b", [64, 3251, 65] },
    };

    [Theory]
    [MemberData(nameof(OracleCases))]
    public void Encode_and_count_match_tiktoken_o200k_base(string text, int[] expected)
    {
        Assert.Equal(expected, Tokenizer.Encode(text));
        Assert.Equal(expected.Length, Tokenizer.CountTokens(text));
    }

    [Theory]
    [MemberData(nameof(OracleCases))]
    public void Decode_of_encode_round_trips(string text, int[] expected)
    {
        string wellFormed = text.Replace("\ud800", "\ufffd", StringComparison.Ordinal);
        Assert.Equal(wellFormed, Tokenizer.Decode(Tokenizer.Encode(text)));
        Assert.Equal(wellFormed, Tokenizer.Decode(expected));
    }

    [Fact]
    public void Instance_is_a_loaded_singleton()
    {
        Assert.Same(O200kTokenizer.Instance, O200kTokenizer.Instance);
        Assert.Equal(199_998, Tokenizer.MergeableTokenCount);
    }

    [Fact]
    public void Special_token_ids_decode_to_their_text_and_unknown_ids_throw()
    {
        Assert.Equal("<|endoftext|>", Tokenizer.Decode([O200kTokenizer.EndOfTextTokenId]));
        Assert.Equal("x<|endofprompt|>", Tokenizer.Decode([87, O200kTokenizer.EndOfPromptTokenId]));
        Assert.Equal(string.Empty, Tokenizer.Decode([]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Tokenizer.Decode([200_000]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Tokenizer.Decode([-1]));
    }

    [Fact]
    public void Long_generated_text_matches_tiktoken()
    {
        string text = LongText();
        Assert.Equal(5046, text.Length);

        int[] ids = Tokenizer.Encode(text);
        Assert.Equal(1694, ids.Length);
        Assert.Equal(1694, Tokenizer.CountTokens(text));
        Assert.Equal(new[] { 58, 1323, 15, 14, 2290, 14, 1265, 60, 1825, 25, 116266, 5003 }, ids[..12]);
        Assert.Equal(new[] { 3630, 220, 1179, 19, 558 }, ids[^5..]);
        Assert.Equal(0x0b2dbc21818c9297UL, Checksum([ids]));
        Assert.Equal(text, Tokenizer.Decode(ids));
    }

    [Fact]
    public void Fuzz_mixed_script_strings_match_tiktoken()
    {
        var generator = new MixedScriptGenerator(20250114);
        string[] texts = Enumerable.Range(0, 200).Select(_ => generator.Next()).ToArray();
        Assert.Equal(63763, texts.Sum(t => t.Length)); // UTF-16 code units; guards the generator itself

        int[][] encoded = texts.Select(Tokenizer.Encode).ToArray();
        Assert.Equal(34028, encoded.Sum(ids => ids.Length));
        Assert.Equal(0xc0cb2cb93f464b83UL, Checksum(encoded));
        Assert.Equal(208, encoded[0].Length);
        Assert.Equal(138, encoded[1].Length);
        Assert.Equal(34, encoded[2].Length);
        Assert.Equal(42, encoded[57].Length);
        Assert.Equal(2, encoded[123].Length);
        Assert.Equal(3, encoded[199].Length);

        for (int i = 0; i < texts.Length; i++)
        {
            Assert.Equal(encoded[i].Length, Tokenizer.CountTokens(texts[i]));
            string wellFormed = Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(texts[i])); // lone surrogates → U+FFFD
            Assert.Equal(wellFormed, Tokenizer.Decode(encoded[i]));

            int half = encoded[i].Length / 2;
            Assert.Equal(Tokenizer.Decode(encoded[i].AsSpan(0, half)), Tokenizer.Truncate(texts[i], half));
        }
    }

    [Fact]
    public void Concurrent_use_gives_the_same_counts()
    {
        var generator = new MixedScriptGenerator(7);
        string[] texts = Enumerable.Range(0, 64).Select(_ => generator.Next()).ToArray();
        int[] sequential = texts.Select(Tokenizer.CountTokens).ToArray();
        int[] parallel = new int[texts.Length];
        Parallel.For(0, texts.Length * 8, i => parallel[i % texts.Length] = Tokenizer.CountTokens(texts[i % texts.Length]));
        Assert.Equal(sequential, parallel);
    }

    [Fact]
    public void Truncate_returns_the_input_when_it_fits()
    {
        const string text = "The quick brown fox jumps over the lazy dog.";
        Assert.Same(text, Tokenizer.Truncate(text, 10));
        Assert.Same(text, Tokenizer.Truncate(text, 1000));
        Assert.Same(string.Empty, Tokenizer.Truncate(string.Empty, 0));
        Assert.Equal("The quick brown fox jumps over the lazy dog", Tokenizer.Truncate(text, 9));
        Assert.Equal(string.Empty, Tokenizer.Truncate(text, 0));
    }

    [Theory]
    [InlineData("我喜欢打网球，也喜欢看电影。", 3, "我喜欢打")]
    [InlineData("Hello, world!!! (really?)", 4, "Hello, world!!!")]
    [InlineData("😀 👍🏽", 2, "😀 👍")]
    [InlineData("😀 👍🏽", 3, "😀 👍\ufffd")] // the cut splits 🏽's UTF-8 bytes: decoded with replacement, as upstream does
    public void Truncate_decodes_the_first_tokens(string text, int maxTokens, string expected)
    {
        Assert.Equal(expected, Tokenizer.Truncate(text, maxTokens));
    }

    [Fact]
    public void Truncate_of_a_long_text_keeps_exactly_max_tokens()
    {
        string text = LongText();
        string cut = Tokenizer.Truncate(text, 100);
        Assert.StartsWith(cut, text, StringComparison.Ordinal);
        Assert.Equal(100, Tokenizer.CountTokens(cut));
    }

    [Fact]
    public void Arguments_are_validated()
    {
        Assert.Throws<ArgumentNullException>(() => Tokenizer.CountTokens(null!));
        Assert.Throws<ArgumentNullException>(() => Tokenizer.Encode(null!));
        Assert.Throws<ArgumentOutOfRangeException>(() => Tokenizer.Truncate("abc", -1));
    }

    private static ulong Checksum(IEnumerable<int[]> sequences)
    {
        // FNV-1a over the ids, with a separator after each sequence (computed the same way over the oracle's output).
        ulong hash = 14695981039346656037UL;
        foreach (int[] ids in sequences)
        {
            foreach (int id in ids)
            {
                hash = (hash ^ (uint)id) * 1099511628211UL;
            }

            hash = (hash ^ 0xFFFFFFFFUL) * 1099511628211UL;
        }

        return hash;
    }

    private static string LongText()
    {
        string[] names = ["Gus", "Mia", "Kenji", "Zoë", "李雷"];
        string[] likes = ["tennis", "sushi", "jazz", "hiking", "chess", "the 1990s", "C# and .NET"];
        var sb = new StringBuilder();
        for (int i = 0; sb.Length < 5000; i++)
        {
            sb.Append('[').Append(2020 + (i % 6)).Append('/').Append((1 + (i % 12)).ToString("00", CultureInfo.InvariantCulture)).Append("/14] ")
              .Append(i % 2 == 0 ? "user" : "assistant").Append(": ")
              .Append(names[i % names.Length]).Append(" says they've liked ").Append(likes[(i * 3) % likes.Length])
              .Append(" since ").Append(1990 + ((i * 7) % 35)).Append(i % 5 == 0 ? "!!\n\n" : ".\n");
        }

        return sb.ToString();
    }

    /// <summary>Deterministic mixed-script text generator (SplitMix64; no dependency on System.Random's algorithm).</summary>
    private sealed class MixedScriptGenerator(ulong seed)
    {
        private static readonly string[] Fragments =
        [
            "the", " user", "Memobase", " profile", " tennis", "I'm", " don't", " we've", " THEY'LL", " it'S", "x'ſ",
            "1234567", " 3.14159", "2025/01/14", " 0x1F", "42",
            " ", "  ", "\t", "\n", "\r\n", "\n\n", "   \n ", "\u00A0", "\u3000", "\u2028",
            ".", ",", "!?", "...", "//", " ->", "\"", "'", "(", ")", "[", "]", "{", "}", "<|endoftext|>", "```", "#", "@", "%", "©",
            "你好", "世界", "记忆", "用户画像", "我喜欢打网球。",
            "こんにちは", "カタカナ", "日本語", "ｶﾀｶﾅ", "안녕하세요",
            "Привет", " Ελληνικά", " مرحبا", " שלום", " नमस्ते", " สวัสดี",
            "café", " naïve", " Ångström", "e\u0301", "Ǆa", "ǅb",
            "😀", "👍🏽", "👨‍👩‍👧‍👦", "🇺🇸", "❤️", "🏳️‍🌈",
            "𝐀𝐁𝐂", "𠀀𠀁", "𝟘𝟙",
        ];

        private ulong _state = seed;

        public string Next()
        {
            var sb = new StringBuilder();
            int parts = 1 + NextInt(40);
            for (int i = 0; i < parts; i++)
            {
                int kind = NextInt(20);
                if (kind < 14)
                {
                    sb.Append(Fragments[NextInt(Fragments.Length)]);
                }
                else if (kind < 18)
                {
                    int cp = NextInt(6) == 0 ? NextInt(0x110000) : NextInt(0x3000);
                    if (cp is >= 0xD800 and <= 0xDFFF)
                    {
                        sb.Append((char)cp); // lone surrogate: encoded as U+FFFD
                    }
                    else
                    {
                        sb.Append(char.ConvertFromUtf32(cp));
                    }
                }
                else if (kind < 19)
                {
                    string fragment = Fragments[NextInt(Fragments.Length)];
                    int repeat = 2 + NextInt(120);
                    for (int r = 0; r < repeat; r++)
                    {
                        sb.Append(fragment);
                    }
                }
                else
                {
                    sb.Append(' ', NextInt(3));
                    sb.Append((char)('a' + NextInt(26)), 1 + NextInt(8));
                }
            }

            return sb.ToString();
        }

        private int NextInt(int bound) => (int)(NextUInt64() % (ulong)bound);

        private ulong NextUInt64()
        {
            ulong z = _state += 0x9E37_79B9_7F4A_7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58_476D_1CE4_E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D0_49BB_1331_11EBUL;
            return z ^ (z >> 31);
        }
    }
}
