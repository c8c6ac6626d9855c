using System;
using System.Collections.Generic;

namespace AvatarForcing.Core
{
    /// <summary>
    /// Motion channel → mesh blendshape mapping (many-to-many with weights). Built from a preset, from
    /// NameMatcher results, or by hand (Unity's BlendshapeMappingAsset stores the same entries).
    /// </summary>
    public sealed class NameMapping
    {
        public List<NameMappingEntry> Entries { get; private set; }

        public NameMapping() { Entries = new List<NameMappingEntry>(); }

        public NameMapping(IEnumerable<NameMappingEntry> entries) { Entries = new List<NameMappingEntry>(entries); }

        public NameMapping Add(string source, string target, float weight = 1f)
        {
            Entries.Add(new NameMappingEntry(source, target, weight));
            return this;
        }

        public static NameMapping FromMatches(IEnumerable<NameMatch> matches)
        {
            var m = new NameMapping();
            foreach (var match in matches) m.Add(match.Channel, match.MeshName);
            return m;
        }

        /// <summary>Bind to a mesh's blendshape names (index = Unity blendshape index). Exact names only.</summary>
        public ResolvedMapping Resolve(IList<string> meshBlendshapeNames)
        {
            var byName = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int i = 0; i < meshBlendshapeNames.Count; i++)
                if (meshBlendshapeNames[i] != null && !byName.ContainsKey(meshBlendshapeNames[i]))
                    byName.Add(meshBlendshapeNames[i], i);
            var ch = new List<int>();
            var tg = new List<int>();
            var wt = new List<float>();
            var targets = new SortedSet<int>();
            var missing = new List<string>();
            var unknown = new List<string>();
            foreach (var e in Entries)
            {
                int c = MotionChannels.IndexOf(e.Source);
                if (c < 0) { if (!unknown.Contains(e.Source)) unknown.Add(e.Source); continue; }
                int t;
                if (e.Target == null || !byName.TryGetValue(e.Target, out t))
                {
                    if (!missing.Contains(e.Target)) missing.Add(e.Target);
                    continue;
                }
                ch.Add(c);
                tg.Add(t);
                wt.Add(e.Weight);
                targets.Add(t);
            }
            return new ResolvedMapping(ch.ToArray(), tg.ToArray(), wt.ToArray(), new List<int>(targets).ToArray(),
                missing.ToArray(), unknown.ToArray(), meshBlendshapeNames.Count);
        }
    }
}
