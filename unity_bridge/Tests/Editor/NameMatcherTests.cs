using System.Collections.Generic;
using AvatarForcing.Core;
using NUnit.Framework;

namespace AvatarForcing.Editor.Tests
{
    [TestFixture]
    public class NameMatcherTests
    {
        static Dictionary<string, string> ToDict(List<NameMatch> matches)
        {
            var d = new Dictionary<string, string>();
            foreach (var m in matches) d[m.Channel] = m.MeshName;
            return d;
        }

        [Test]
        public void KeysIgnoreCasePrefixesAndSideSpelling()
        {
            Assert.AreEqual("eyeblinkleft", NameMatcher.Key("eyeBlinkLeft"));
            Assert.AreEqual("eyeblinkleft", NameMatcher.Key("blendShape1.EyeBlinkLeft"));
            Assert.AreEqual("eyeblinkleft", NameMatcher.Key("eyeBlink_L"));
            Assert.AreEqual("eyeblinkleft", NameMatcher.Key("ARKit_EyeBlinkL"));
            Assert.AreEqual("eyeblinkleft", NameMatcher.Key("eye_blink_left"));
            Assert.AreEqual("mouthsmileright", NameMatcher.Key("Face|BS_mouthSmile_R"));
        }

        [Test]
        public void MatchesEveryArkitNameSpelledByAnExporter()
        {
            var mesh = new List<string> { "Basis", "Fcl_ALL_Neutral" };
            for (int i = 0; i < MotionChannels.ArkitCount; i++)
            {
                string n = MotionChannels.NameAt(i);
                // Apple's raw strings: eyeBlink_L, mouthSmile_R ...; Pascal case for the rest.
                if (n.EndsWith("Left")) mesh.Add("blendShape1." + n.Substring(0, n.Length - 4) + "_L");
                else if (n.EndsWith("Right")) mesh.Add("blendShape1." + n.Substring(0, n.Length - 5) + "_R");
                else mesh.Add(char.ToUpperInvariant(n[0]) + n.Substring(1));
            }
            var d = ToDict(new NameMatcher().Match(mesh));
            Assert.AreEqual(52, d.Count);
            Assert.AreEqual("blendShape1.eyeBlink_L", d["eyeBlinkLeft"]);
            Assert.AreEqual("JawOpen", d["jawOpen"]);
            Assert.AreEqual("blendShape1.mouthUpperUp_R", d["mouthUpperUpRight"]);
        }

        [Test]
        public void FuzzyMatchCatchesTyposButNotTheOtherSide()
        {
            var mesh = new List<string> { "mouthSmileLeft", "mouthSmilRight", "browInnerUp", "cheekPuf" };
            var d = ToDict(new NameMatcher().Match(mesh));
            Assert.AreEqual("mouthSmileLeft", d["mouthSmileLeft"]);
            Assert.AreEqual("mouthSmilRight", d["mouthSmileRight"]);
            Assert.AreEqual("cheekPuf", d["cheekPuff"]);
            Assert.IsFalse(d.ContainsKey("mouthFrownLeft"));
            Assert.AreEqual(4, d.Count); // each mesh name used once
        }
    }
}
