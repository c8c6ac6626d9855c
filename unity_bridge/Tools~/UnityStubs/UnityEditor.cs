// Compile-only stand-ins for the UnityEditor API surface this package uses (see UnityEngine.cs).
using System;
using UnityEngine;
using Object = UnityEngine.Object;

namespace UnityEditor
{
    public class Editor : ScriptableObject
    {
        public Object target { get { return null; } }
        public virtual void OnInspectorGUI() { }
        public virtual bool RequiresConstantRepaint() { return false; }
        public bool DrawDefaultInspector() { return true; }
    }

    [AttributeUsage(AttributeTargets.Class)]
    public sealed class CustomEditor : Attribute { public CustomEditor(Type inspectedType) { } }

    [AttributeUsage(AttributeTargets.Method, AllowMultiple = true)]
    public sealed class MenuItem : Attribute
    {
        public MenuItem(string itemName) { }
        public MenuItem(string itemName, bool isValidateFunction) { }
        public MenuItem(string itemName, bool isValidateFunction, int priority) { }
    }

    public enum MessageType { None, Info, Warning, Error }

    public static class EditorStyles { public static GUIStyle boldLabel { get { return null; } } }

    public static class EditorGUILayout
    {
        public static void Space() { }
        public static void LabelField(string label, params GUILayoutOption[] options) { }
        public static void LabelField(string label, GUIStyle style, params GUILayoutOption[] options) { }
        public static void LabelField(string label, string label2, params GUILayoutOption[] options) { }
        public static void HelpBox(string message, MessageType type) { }
        public static void BeginHorizontal(params GUILayoutOption[] options) { }
        public static void EndHorizontal() { }
        public static bool Foldout(bool foldout, string content) { return foldout; }
        public static Rect GetControlRect(bool hasLabel, float height, params GUILayoutOption[] options) { return new Rect(); }
    }

    public static class EditorGUI { public static void ProgressBar(Rect position, float value, string text) { } }

    public sealed class EditorGUIUtility
    {
        public static float singleLineHeight { get { return 18f; } }
        public static void PingObject(Object obj) { }
    }

    public sealed class Selection
    {
        public static Object activeObject { get; set; }
        public static GameObject activeGameObject { get; set; }
    }

    public sealed class AssetDatabase
    {
        public static string GetAssetPath(Object assetObject) { return ""; }
        public static string GenerateUniqueAssetPath(string path) { return path; }
        public static void CreateAsset(Object asset, string path) { }
        public static void SaveAssets() { }
    }
}
