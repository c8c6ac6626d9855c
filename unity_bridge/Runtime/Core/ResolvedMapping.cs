using System;

namespace AvatarForcing.Core
{
    /// <summary>
    /// A mapping bound to one mesh's blendshape list: flat arrays for a per-frame Apply without lookups.
    /// Weights are written in Unity's 0..100 blendshape scale.
    /// </summary>
    public sealed class ResolvedMapping
    {
        readonly int[] channel;
        readonly int[] target;
        readonly float[] weight;

        /// <summary>Distinct mesh blendshape indices this mapping writes, ascending.</summary>
        public int[] Targets { get; private set; }
        /// <summary>Mapping targets the mesh does not have.</summary>
        public string[] MissingTargets { get; private set; }
        /// <summary>Mapping sources that are not motion channels.</summary>
        public string[] UnknownSources { get; private set; }
        public int MeshBlendshapeCount { get; private set; }

        internal ResolvedMapping(int[] channel, int[] target, float[] weight, int[] targets, string[] missing,
            string[] unknown, int meshCount)
        {
            this.channel = channel;
            this.target = target;
            this.weight = weight;
            Targets = targets;
            MissingTargets = missing;
            UnknownSources = unknown;
            MeshBlendshapeCount = meshCount;
        }

        public int EntryCount { get { return channel.Length; } }

        /// <summary>
        /// meshWeights[i] = clamp(100 · Σ weight · value, 0, 100) for every target i; other slots untouched.
        /// <paramref name="gain"/> scales everything (e.g. an expressiveness slider).
        /// </summary>
        public void Apply(float[] channelValues, float[] meshWeights, float gain = 1f)
        {
            foreach (int t in Targets) meshWeights[t] = 0f;
            for (int k = 0; k < channel.Length; k++)
                meshWeights[target[k]] += channelValues[channel[k]] * weight[k] * 100f * gain;
            foreach (int t in Targets) meshWeights[t] = Math.Max(0f, Math.Min(100f, meshWeights[t]));
        }
    }
}
