using System;
using System.Collections.Generic;

namespace AvatarForcing.Core
{
    /// <summary>
    /// The motion contract (layout version 1) as the runtime's af_plugin/motion/contract.py defines it:
    /// 52 ARKit blendshapes in Apple's order (0..1), head yaw/pitch/roll (rad), head x/y/z (m),
    /// eye yaw/pitch (rad, relative to the head). A test keeps this list equal to the Python one.
    /// Bridges key channels by name; the server's hello carries its own list and wins.
    /// </summary>
    public static class MotionChannels
    {
        public const int LayoutVersion = 1;
        public const int ProtocolVersion = 1;
        public const int Fps = 25;
        public const int SampleRate = 16000;
        public const int ArkitCount = 52;
        public const int FrameHeaderBytes = 16;

        static readonly string[] names =
        {
            "eyeBlinkLeft", "eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft", "eyeSquintLeft",
            "eyeWideLeft", "eyeBlinkRight", "eyeLookDownRight", "eyeLookInRight", "eyeLookOutRight", "eyeLookUpRight",
            "eyeSquintRight", "eyeWideRight", "jawForward", "jawLeft", "jawRight", "jawOpen", "mouthClose",
            "mouthFunnel", "mouthPucker", "mouthLeft", "mouthRight", "mouthSmileLeft", "mouthSmileRight",
            "mouthFrownLeft", "mouthFrownRight", "mouthDimpleLeft", "mouthDimpleRight", "mouthStretchLeft",
            "mouthStretchRight", "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper",
            "mouthPressLeft", "mouthPressRight", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft",
            "mouthUpperUpRight", "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
            "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "noseSneerLeft", "noseSneerRight", "tongueOut",
            "headYaw", "headPitch", "headRoll", "headX", "headY", "headZ", "leftEyeYaw", "leftEyePitch",
            "rightEyeYaw", "rightEyePitch",
        };

        static readonly Dictionary<string, int> index = BuildIndex();

        /// <summary>Number of channels in a frame (62).</summary>
        public static int Count { get { return names.Length; } }

        /// <summary>Bytes in one binary frame record: 16-byte header + 4 bytes per channel (264).</summary>
        public static int FrameBytes { get { return FrameHeaderBytes + 4 * names.Length; } }

        /// <summary>A copy of the channel names in layout order.</summary>
        public static string[] Names { get { return (string[])names.Clone(); } }

        public static string NameAt(int i) { return names[i]; }

        /// <summary>Layout index of a channel, or -1 when the name is not a channel.</summary>
        public static int IndexOf(string name)
        {
            int i;
            return name != null && index.TryGetValue(name, out i) ? i : -1;
        }

        public static bool IsBlendshape(int i) { return i >= 0 && i < ArkitCount; }

        static Dictionary<string, int> BuildIndex()
        {
            var d = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int i = 0; i < names.Length; i++) d.Add(names[i], i);
            return d;
        }
    }
}
