using System;
using System.Collections.Generic;
using System.Text;

namespace AvatarForcing.Core
{
    /// <summary>
    /// Finds each ARKit blendshape among a mesh's blendshape names, as exporters spell them:
    /// "eyeBlinkLeft", "EyeBlinkLeft", "eyeBlink_L", "blendShape1.eyeBlinkLeft", "ARKit_EyeBlinkLeft",
    /// "EyeBlinkL", "eye_blink_left". Names are reduced to a key (last path segment, known prefixes
    /// dropped, side suffixes _L/_R/L/R → left/right, lower-case letters and digits only); equal keys
    /// match first, then the most similar remaining pairs (Levenshtein ratio ≥ Threshold), each mesh
    /// name used at most once.
    /// </summary>
    public sealed class NameMatcher
    {
        static readonly string[] Prefixes = { "arkit", "blendshape", "blendshapes", "bs", "shape", "shapes", "morph", "facs", "ar" };

        /// <summary>Lowest similarity (0..1) accepted for a fuzzy match.</summary>
        public double Threshold { get; set; }

        public NameMatcher() { Threshold = 0.84; }

        /// <summary>The comparison key of a name, e.g. "blendShape1.EyeBlink_L" → "eyeblinkleft".</summary>
        public static string Key(string name)
        {
            if (string.IsNullOrEmpty(name)) return "";
            int cut = Math.Max(name.LastIndexOf('.'), Math.Max(name.LastIndexOf(':'), name.LastIndexOf('|')));
            string s = cut >= 0 && cut < name.Length - 1 ? name.Substring(cut + 1) : name;

            // Tokenise on separators and camel humps so prefixes and side markers can be recognised.
            var tokens = new List<string>();
            var cur = new StringBuilder();
            for (int i = 0; i < s.Length; i++)
            {
                char c = s[i];
                if (!char.IsLetterOrDigit(c))
                {
                    Flush(tokens, cur);
                    continue;
                }
                bool hump = char.IsUpper(c) && cur.Length > 0 && !char.IsUpper(cur[cur.Length - 1]);
                if (hump) Flush(tokens, cur);
                cur.Append(c);
            }
            Flush(tokens, cur);
            if (tokens.Count == 0) return "";

            while (tokens.Count > 1 && Array.IndexOf(Prefixes, StripDigits(tokens[0].ToLowerInvariant())) >= 0)
                tokens.RemoveAt(0);
            var sb = new StringBuilder();
            for (int i = 0; i < tokens.Count; i++)
            {
                string t = tokens[i].ToLowerInvariant();
                if (i == tokens.Count - 1 && tokens.Count > 1)
                {
                    if (t == "l") t = "left";
                    else if (t == "r") t = "right";
                }
                sb.Append(t);
            }
            return sb.ToString();
        }

        static string StripDigits(string t)
        {
            int end = t.Length;
            while (end > 0 && char.IsDigit(t[end - 1])) end--;
            return t.Substring(0, end);
        }

        static void Flush(List<string> tokens, StringBuilder cur)
        {
            if (cur.Length > 0) tokens.Add(cur.ToString());
            cur.Length = 0;
        }

        /// <summary>Similarity 1 − distance / longer length, from Levenshtein distance.</summary>
        public static double Similarity(string a, string b)
        {
            if (a.Length == 0 && b.Length == 0) return 1.0;
            var prev = new int[b.Length + 1];
            var curr = new int[b.Length + 1];
            for (int j = 0; j <= b.Length; j++) prev[j] = j;
            for (int i = 1; i <= a.Length; i++)
            {
                curr[0] = i;
                for (int j = 1; j <= b.Length; j++)
                {
                    int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                    curr[j] = Math.Min(Math.Min(curr[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
                }
                var tmp = prev; prev = curr; curr = tmp;
            }
            return 1.0 - (double)prev[b.Length] / Math.Max(a.Length, b.Length);
        }

        /// <summary>
        /// Match <paramref name="channels"/> (default: the 52 ARKit names) to <paramref name="meshNames"/>.
        /// Unmatched channels are left out of the result.
        /// </summary>
        public List<NameMatch> Match(IList<string> meshNames, IList<string> channels = null)
        {
            if (channels == null)
            {
                channels = new List<string>();
                for (int i = 0; i < MotionChannels.ArkitCount; i++) channels.Add(MotionChannels.NameAt(i));
            }
            var meshKeys = new string[meshNames.Count];
            for (int i = 0; i < meshKeys.Length; i++) meshKeys[i] = Key(meshNames[i]);
            var used = new bool[meshNames.Count];
            var result = new List<NameMatch>();
            var pending = new List<int>();

            for (int c = 0; c < channels.Count; c++)
            {
                string key = Key(channels[c]);
                int found = -1;
                for (int m = 0; m < meshKeys.Length; m++)
                {
                    if (used[m] || meshKeys[m] != key) continue;
                    // Prefer the exact spelling when several names share a key.
                    if (found < 0 || meshNames[m] == channels[c]) found = m;
                }
                if (found >= 0)
                {
                    used[found] = true;
                    result.Add(new NameMatch(channels[c], meshNames[found], 1.0));
                }
                else pending.Add(c);
            }

            var candidates = new List<KeyValuePair<double, int[]>>();
            foreach (int c in pending)
            {
                string key = Key(channels[c]);
                for (int m = 0; m < meshKeys.Length; m++)
                {
                    if (used[m] || meshKeys[m].Length == 0) continue;
                    double s = Similarity(key, meshKeys[m]);
                    if (s >= Threshold) candidates.Add(new KeyValuePair<double, int[]>(s, new[] { c, m }));
                }
            }
            candidates.Sort((x, y) => y.Key.CompareTo(x.Key));
            var done = new HashSet<int>();
            foreach (var cand in candidates)
            {
                int c = cand.Value[0], m = cand.Value[1];
                if (done.Contains(c) || used[m]) continue;
                done.Add(c);
                used[m] = true;
                result.Add(new NameMatch(channels[c], meshNames[m], cand.Key));
            }
            return result;
        }
    }
}
