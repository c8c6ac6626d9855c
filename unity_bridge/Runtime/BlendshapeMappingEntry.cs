using System;
using UnityEngine;

namespace AvatarForcing
{
    /// <summary>One row of a mapping asset: mesh blendshape <c>target</c> += <c>weight</c> × channel <c>source</c>.</summary>
    [Serializable]
    public sealed class BlendshapeMappingEntry
    {
        [Tooltip("Motion channel, e.g. eyeBlinkLeft (ARKit name).")]
        public string source;
        [Tooltip("Blendshape name on the mesh.")]
        public string target;
        [Tooltip("Multiplier; several entries may drive one target.")]
        public float weight = 1f;

        public BlendshapeMappingEntry() { }

        public BlendshapeMappingEntry(string source, string target, float weight)
        {
            this.source = source;
            this.target = target;
            this.weight = weight;
        }
    }
}
