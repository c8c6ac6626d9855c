using System.Collections.Generic;

namespace AvatarForcing.Core
{
    /// <summary>
    /// Ready-made mappings from the 52 ARKit channels to common mesh naming schemes. When a character's
    /// names differ, build the mapping from its mesh with NameMatcher (the Unity editor menu does this).
    /// </summary>
    public static class MappingPresets
    {
        public const string Arkit = "ARKit / Perfect Sync";
        public const string Vrm = "VRM (VRoid Fcl_ shapes)";
        public const string MetaHuman = "MetaHuman-style CTRL_expressions";

        public static string[] Names { get { return new[] { Arkit, Vrm, MetaHuman }; } }

        public static NameMapping ByName(string preset)
        {
            switch (preset)
            {
                case Arkit: return ArkitPerfectSync();
                case Vrm: return VroidFcl();
                case MetaHuman: return MetaHumanControls();
                default: throw new KeyNotFoundException("unknown mapping preset \"" + preset + "\"; presets: " + string.Join(", ", Names));
            }
        }

        /// <summary>Meshes whose 52 blendshapes carry the ARKit names verbatim (Perfect Sync models, most ARKit exports).</summary>
        public static NameMapping ArkitPerfectSync()
        {
            var m = new NameMapping();
            for (int i = 0; i < MotionChannels.ArkitCount; i++) m.Add(MotionChannels.NameAt(i), MotionChannels.NameAt(i));
            return m;
        }

        /// <summary>
        /// VRoid Studio meshes (VRM) have no ARKit shapes but "Fcl_" expression shapes; this approximates
        /// ARKit with them: blinks, the five vowels from jaw and lip shapes, brows and smile.
        /// </summary>
        public static NameMapping VroidFcl()
        {
            return new NameMapping()
                .Add("eyeBlinkLeft", "Fcl_EYE_Close_L").Add("eyeBlinkRight", "Fcl_EYE_Close_R")
                .Add("eyeWideLeft", "Fcl_EYE_Surprised", 0.5f).Add("eyeWideRight", "Fcl_EYE_Surprised", 0.5f)
                .Add("jawOpen", "Fcl_MTH_A")
                .Add("mouthFunnel", "Fcl_MTH_O")
                .Add("mouthPucker", "Fcl_MTH_U")
                .Add("mouthStretchLeft", "Fcl_MTH_I", 0.5f).Add("mouthStretchRight", "Fcl_MTH_I", 0.5f)
                .Add("mouthLowerDownLeft", "Fcl_MTH_E", 0.5f).Add("mouthLowerDownRight", "Fcl_MTH_E", 0.5f)
                .Add("mouthSmileLeft", "Fcl_MTH_Fun", 0.5f).Add("mouthSmileRight", "Fcl_MTH_Fun", 0.5f)
                .Add("mouthFrownLeft", "Fcl_MTH_Sorrow", 0.5f).Add("mouthFrownRight", "Fcl_MTH_Sorrow", 0.5f)
                .Add("mouthClose", "Fcl_MTH_Close")
                .Add("browDownLeft", "Fcl_BRW_Angry", 0.5f).Add("browDownRight", "Fcl_BRW_Angry", 0.5f)
                .Add("browInnerUp", "Fcl_BRW_Sorrow")
                .Add("browOuterUpLeft", "Fcl_BRW_Surprised", 0.5f).Add("browOuterUpRight", "Fcl_BRW_Surprised", 0.5f);
        }

        /// <summary>
        /// Meshes or rigs using MetaHuman facial-control names (CTRL_expressions_*). ARKit shapes that
        /// MetaHuman splits into lip quadrants drive all four. Eye look in/out assume MetaHuman's Left/Right
        /// are the character's own sides (unconfirmed; check on your rig).
        /// </summary>
        public static NameMapping MetaHumanControls()
        {
            const string p = "CTRL_expressions_";
            var m = new NameMapping();
            string[] sides = { "Left", "Right" };
            foreach (string side in sides)
            {
                string s = side.Substring(0, 1); // L / R
                string other = side == "Left" ? "Right" : "Left";
                m.Add("eyeBlink" + side, p + "eyeBlink" + s)
                 .Add("eyeLookDown" + side, p + "eyeLookDown" + s)
                 .Add("eyeLookUp" + side, p + "eyeLookUp" + s)
                 .Add("eyeLookIn" + side, p + "eyeLook" + other + s)
                 .Add("eyeLookOut" + side, p + "eyeLook" + side + s)
                 .Add("eyeSquint" + side, p + "eyeSquintInner" + s)
                 .Add("eyeWide" + side, p + "eyeUpperLidUp" + s)
                 .Add("mouthSmile" + side, p + "mouthCornerPull" + s)
                 .Add("mouthFrown" + side, p + "mouthCornerDepress" + s)
                 .Add("mouthDimple" + side, p + "mouthDimple" + s)
                 .Add("mouthStretch" + side, p + "mouthStretch" + s)
                 .Add("mouthPress" + side, p + "mouthLipsPress" + s)
                 .Add("mouthLowerDown" + side, p + "mouthLowerLipDepress" + s)
                 .Add("mouthUpperUp" + side, p + "mouthUpperLipRaise" + s)
                 .Add("browDown" + side, p + "browDown" + s)
                 .Add("browOuterUp" + side, p + "browRaiseOuter" + s)
                 .Add("cheekSquint" + side, p + "eyeCheekRaise" + s)
                 .Add("noseSneer" + side, p + "noseWrinkle" + s)
                 .Add("browInnerUp", p + "browRaiseIn" + s)
                 .Add("cheekPuff", p + "mouthCheekBlow" + s)
                 .Add("mouthRollLower", p + "mouthLowerLipBite" + s)
                 .Add("mouthRollUpper", p + "mouthUpperLipBite" + s)
                 .Add("mouthShrugLower", p + "jawChinRaiseD" + s)
                 .Add("mouthShrugUpper", p + "jawChinRaiseU" + s);
                foreach (string q in new[] { "U", "D" })
                {
                    m.Add("mouthClose", p + "mouthLipsTogether" + q + s)
                     .Add("mouthFunnel", p + "mouthFunnel" + q + s)
                     .Add("mouthPucker", p + "mouthLipsPurse" + q + s);
                }
            }
            return m.Add("jawOpen", p + "jawOpen").Add("jawForward", p + "jawFwd")
                .Add("jawLeft", p + "jawLeft").Add("jawRight", p + "jawRight")
                .Add("mouthLeft", p + "mouthLeft").Add("mouthRight", p + "mouthRight")
                .Add("tongueOut", p + "tongueOut");
        }
    }
}
