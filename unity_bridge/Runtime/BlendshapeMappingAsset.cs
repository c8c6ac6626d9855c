using System.Collections.Generic;
using AvatarForcing.Core;
using UnityEngine;

namespace AvatarForcing
{
    /// <summary>
    /// Which mesh blendshape each ARKit channel drives. Create one from a preset (ARKit / Perfect Sync,
    /// VRM, MetaHuman-style) or from a selected mesh with "Assets/Create/Avatar Forcing/Blendshape Mapping
    /// From Selected Mesh", then edit the rows. Values 0..1 become Unity weights 0..100.
    /// </summary>
    [CreateAssetMenu(menuName = "Avatar Forcing/Blendshape Mapping", fileName = "BlendshapeMapping")]
    public sealed class BlendshapeMappingAsset : ScriptableObject
    {
        [Tooltip("Preset the rows started from (informational).")]
        public string preset = MappingPresets.Arkit;
        public List<BlendshapeMappingEntry> entries = new List<BlendshapeMappingEntry>();

        /// <summary>The core mapping these rows describe.</summary>
        public NameMapping ToNameMapping()
        {
            var m = new NameMapping();
            foreach (var e in entries)
                if (e != null && !string.IsNullOrEmpty(e.source) && !string.IsNullOrEmpty(e.target))
                    m.Add(e.source, e.target, e.weight);
            return m;
        }

        /// <summary>Replace the rows with a core mapping's entries.</summary>
        public void SetFrom(NameMapping mapping, string presetName)
        {
            entries.Clear();
            foreach (var e in mapping.Entries) entries.Add(new BlendshapeMappingEntry(e.Source, e.Target, e.Weight));
            preset = presetName;
        }

        /// <summary>A new in-memory asset filled from a preset (see MappingPresets.Names).</summary>
        public static BlendshapeMappingAsset FromPreset(string presetName)
        {
            var asset = CreateInstance<BlendshapeMappingAsset>();
            asset.SetFrom(MappingPresets.ByName(presetName), presetName);
            return asset;
        }

        [ContextMenu("Reset To ARKit / Perfect Sync")]
        void ResetToArkit() { SetFrom(MappingPresets.ArkitPerfectSync(), MappingPresets.Arkit); }

        [ContextMenu("Reset To VRM (VRoid Fcl_)")]
        void ResetToVrm() { SetFrom(MappingPresets.VroidFcl(), MappingPresets.Vrm); }

        [ContextMenu("Reset To MetaHuman-style")]
        void ResetToMetaHuman() { SetFrom(MappingPresets.MetaHumanControls(), MappingPresets.MetaHuman); }
    }
}
