using UnityEditor;

namespace AvatarForcing.Editor
{
    /// <summary>Inspector for AvatarFaceDriver: how many blendshapes each mesh's mapping found.</summary>
    [CustomEditor(typeof(AvatarFaceDriver))]
    public sealed class AvatarFaceDriverEditor : UnityEditor.Editor
    {
        public override void OnInspectorGUI()
        {
            DrawDefaultInspector();
            var driver = (AvatarFaceDriver)target;
            if (driver.Resolved == null || driver.Resolved.Length == 0) return;
            EditorGUILayout.Space();
            EditorGUILayout.LabelField("Mapping coverage", EditorStyles.boldLabel);
            for (int r = 0; r < driver.Resolved.Length && r < driver.Renderers.Count; r++)
            {
                var res = driver.Resolved[r];
                var smr = driver.Renderers[r];
                if (res == null || smr == null) continue;
                string text = smr.name + ": drives " + res.Targets.Length + " of " + res.MeshBlendshapeCount + " blendshapes";
                if (res.MissingTargets.Length > 0)
                    text += "\nnot on this mesh: " + string.Join(", ", res.MissingTargets);
                EditorGUILayout.HelpBox(text, res.Targets.Length == 0 ? MessageType.Warning : MessageType.None);
            }
            if (UnityEngine.GUILayout.Button("Rebind mapping")) driver.Rebind();
        }
    }
}
