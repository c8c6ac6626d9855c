using System.Collections.Generic;
using System.Linq;
using AvatarForcing.Core;
using UnityEditor;
using UnityEngine;

namespace AvatarForcing.Editor
{
    /// <summary>
    /// Menu items that build a BlendshapeMappingAsset from the selected character's blendshape names,
    /// matching them to the 52 ARKit names with the core NameMatcher (case, prefixes, _L/_R, typos).
    /// </summary>
    public static class BlendshapeMappingMenu
    {
        const string AssetsItem = "Assets/Create/Avatar Forcing/Blendshape Mapping From Selected Mesh";
        const string GameObjectItem = "GameObject/Avatar Forcing/Create Blendshape Mapping";

        [MenuItem(AssetsItem, true)]
        [MenuItem(GameObjectItem, true)]
        static bool CanCreate() { return SelectedBlendshapeNames().Count > 0; }

        [MenuItem(AssetsItem, false, 200)]
        [MenuItem(GameObjectItem, false, 20)]
        static void Create()
        {
            var names = SelectedBlendshapeNames();
            var matches = new NameMatcher().Match(names);
            var asset = ScriptableObject.CreateInstance<BlendshapeMappingAsset>();
            asset.SetFrom(NameMapping.FromMatches(matches), "matched from " + Selection.activeObject.name);
            string folder = "Assets";
            string selectedPath = AssetDatabase.GetAssetPath(Selection.activeObject);
            if (!string.IsNullOrEmpty(selectedPath)) folder = System.IO.Path.GetDirectoryName(selectedPath).Replace('\\', '/');
            string path = AssetDatabase.GenerateUniqueAssetPath(folder + "/" + Selection.activeObject.name + " Mapping.asset");
            AssetDatabase.CreateAsset(asset, path);
            AssetDatabase.SaveAssets();
            Selection.activeObject = asset;
            EditorGUIUtility.PingObject(asset);

            var matched = new HashSet<string>(matches.Select(m => m.Channel));
            var missing = new List<string>();
            for (int i = 0; i < MotionChannels.ArkitCount; i++)
                if (!matched.Contains(MotionChannels.NameAt(i))) missing.Add(MotionChannels.NameAt(i));
            var fuzzy = matches.Where(m => m.Score < 1.0).Select(m => m.ToString()).ToArray();
            Debug.Log(string.Format("Avatar Forcing: {0} matched {1} of 52 ARKit names from {2} blendshapes.{3}{4}",
                path, matches.Count, names.Count,
                fuzzy.Length > 0 ? "\nCheck these approximate matches: " + string.Join(", ", fuzzy) : "",
                missing.Count > 0 ? "\nNot found (edit the asset to map them by hand): " + string.Join(", ", missing.ToArray()) : ""), asset);
        }

        /// <summary>Blendshape names of the selected mesh asset or of every SkinnedMeshRenderer under the selected object.</summary>
        static List<string> SelectedBlendshapeNames()
        {
            var names = new List<string>();
            var meshes = new List<Mesh>();
            var mesh = Selection.activeObject as Mesh;
            if (mesh != null) meshes.Add(mesh);
            var go = Selection.activeGameObject;
            if (go != null)
                foreach (var smr in go.GetComponentsInChildren<SkinnedMeshRenderer>(true))
                    if (smr.sharedMesh != null) meshes.Add(smr.sharedMesh);
            foreach (var m in meshes)
                for (int i = 0; i < m.blendShapeCount; i++)
                {
                    string n = m.GetBlendShapeName(i);
                    if (!names.Contains(n)) names.Add(n);
                }
            return names;
        }
    }
}
