using System.Collections.Generic;
using AvatarForcing.Core;
using NUnit.Framework;

namespace AvatarForcing.Editor.Tests
{
    [TestFixture]
    public class NameMappingTests
    {
        [Test]
        public void AppliesWeightsInUnityPercentAndClamps()
        {
            var mesh = new List<string> { "Fcl_MTH_A", "Fcl_EYE_Close_L", "Fcl_MTH_Fun", "Unused" };
            var resolved = MappingPresets.VroidFcl().Resolve(mesh);
            var values = new float[MotionChannels.Count];
            values[MotionChannels.IndexOf("jawOpen")] = 0.5f;
            values[MotionChannels.IndexOf("eyeBlinkLeft")] = 1.5f; // overshoot is clamped to 100
            values[MotionChannels.IndexOf("mouthSmileLeft")] = 0.4f;
            values[MotionChannels.IndexOf("mouthSmileRight")] = 0.8f;
            var weights = new float[] { -1f, -1f, -1f, 42f };
            resolved.Apply(values, weights);
            Assert.AreEqual(50f, weights[0], 1e-4);
            Assert.AreEqual(100f, weights[1], 1e-4);
            Assert.AreEqual(60f, weights[2], 1e-4); // 0.5·40 + 0.5·80
            Assert.AreEqual(42f, weights[3]);       // not a target: untouched
            CollectionAssert.Contains(resolved.MissingTargets, "Fcl_MTH_O");
        }

        [Test]
        public void PresetsOnlyUseMotionChannels()
        {
            foreach (var name in MappingPresets.Names)
            {
                var r = MappingPresets.ByName(name).Resolve(new List<string>());
                Assert.AreEqual(0, r.UnknownSources.Length, name);
            }
            Assert.AreEqual(52, MappingPresets.ArkitPerfectSync().Entries.Count);
        }
    }
}
