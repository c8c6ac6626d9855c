using AvatarForcing.Core;
using UnityEditor;
using UnityEngine;

namespace AvatarForcing.Editor
{
    /// <summary>Inspector for AvatarForcingClient: connection status, counters and live channel values.</summary>
    [CustomEditor(typeof(AvatarForcingClient))]
    public sealed class AvatarForcingClientEditor : UnityEditor.Editor
    {
        bool showValues = true;

        public override bool RequiresConstantRepaint() { return Application.isPlaying; }

        public override void OnInspectorGUI()
        {
            DrawDefaultInspector();
            var client = (AvatarForcingClient)target;
            EditorGUILayout.Space();
            EditorGUILayout.LabelField("Connection", EditorStyles.boldLabel);
            if (!Application.isPlaying)
            {
                EditorGUILayout.HelpBox("Enter Play Mode to connect. Start the runtime first: af run", MessageType.Info);
                return;
            }
            var state = client.State;
            var type = state == ConnectionState.Streaming ? MessageType.Info
                : state == ConnectionState.WaitingToReconnect ? MessageType.Warning : MessageType.None;
            EditorGUILayout.HelpBox(state.ToString() + "  " + client.Url, type);
            if (!string.IsNullOrEmpty(client.LastError) && state != ConnectionState.Streaming)
                EditorGUILayout.HelpBox(client.LastError, MessageType.Error);
            var mc = client.Client;
            if (mc != null)
            {
                EditorGUILayout.LabelField("Frames received", mc.FramesReceived.ToString());
                EditorGUILayout.LabelField("Malformed messages", mc.MalformedMessages.ToString());
                EditorGUILayout.LabelField("Connections / retries", mc.Connections + " / " + mc.Reconnects);
                EditorGUILayout.LabelField("Buffered frames", client.Buffer.Count + "  (starved samples " + client.Buffer.StarvedSamples + ")");
                var hello = mc.Hello;
                if (hello != null)
                    EditorGUILayout.LabelField("Server", "protocol " + hello.Protocol + ", " + hello.Fps + " fps, layout " + hello.LayoutVersion + ", session " + hello.Session);
            }
            EditorGUILayout.BeginHorizontal();
            if (GUILayout.Button("Reconnect")) client.Connect();
            if (GUILayout.Button("Disconnect")) client.Disconnect();
            EditorGUILayout.EndHorizontal();

            showValues = EditorGUILayout.Foldout(showValues, "Live channel values" + (client.HasFace ? "" : " (no face: held)"));
            if (!showValues || !client.HasValues) return;
            var values = client.Values;
            for (int i = 0; i < values.Length; i++)
            {
                string name = MotionChannels.NameAt(i);
                if (MotionChannels.IsBlendshape(i))
                {
                    var rect = EditorGUILayout.GetControlRect(false, EditorGUIUtility.singleLineHeight);
                    EditorGUI.ProgressBar(rect, Mathf.Clamp01(values[i]), name + "  " + values[i].ToString("0.00"));
                }
                else
                {
                    bool metres = name == "headX" || name == "headY" || name == "headZ";
                    string shown = metres ? (values[i] * 100f).ToString("0.0") + " cm" : (values[i] * Mathf.Rad2Deg).ToString("0.0") + "°";
                    EditorGUILayout.LabelField(name, shown);
                }
            }
        }
    }
}
