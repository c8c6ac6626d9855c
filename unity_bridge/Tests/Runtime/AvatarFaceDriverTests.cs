using AvatarForcing.Core;
using NUnit.Framework;
using UnityEngine;

namespace AvatarForcing.Tests
{
    /// <summary>PlayMode/EditMode checks of the thin Unity layer on a procedurally built mesh and bones.</summary>
    public class AvatarFaceDriverTests
    {
        GameObject root;

        [TearDown]
        public void TearDown()
        {
            if (root != null) Object.DestroyImmediate(root);
        }

        static Mesh MeshWithBlendshapes(params string[] names)
        {
            var mesh = new Mesh();
            mesh.vertices = new[] { Vector3.zero, Vector3.right, Vector3.up };
            mesh.triangles = new[] { 0, 1, 2 };
            var delta = new[] { Vector3.forward, Vector3.forward, Vector3.forward };
            foreach (var n in names) mesh.AddBlendShapeFrame(n, 100f, delta, null, null);
            return mesh;
        }

        [Test]
        public void DrivesMatchedBlendshapesAndTheHead()
        {
            root = new GameObject("Character");
            var smr = root.AddComponent<SkinnedMeshRenderer>();
            smr.sharedMesh = MeshWithBlendshapes("Basis", "EyeBlink_L", "jawOpen");
            var head = new GameObject("Head").transform;
            head.SetParent(root.transform, false);
            var driver = root.AddComponent<AvatarFaceDriver>();
            driver.Configure(null, new[] { smr }, null, head, null, null);

            var values = new float[MotionChannels.Count];
            values[MotionChannels.IndexOf("eyeBlinkLeft")] = 0.25f;
            values[MotionChannels.IndexOf("jawOpen")] = 1f;
            values[MotionChannels.IndexOf("headYaw")] = 0.3f; // toward the character's left (−X)
            driver.Apply(values);

            Assert.AreEqual(25f, smr.GetBlendShapeWeight(1), 1e-3);
            Assert.AreEqual(100f, smr.GetBlendShapeWeight(2), 1e-3);
            Assert.AreEqual(0f, smr.GetBlendShapeWeight(0), 1e-3);
            Vector3 forward = head.rotation * Vector3.forward;
            Assert.Less(forward.x, -0.2f);
            Assert.AreEqual(Mathf.Sin(0.3f), -forward.x, 1e-3);
        }
    }
}
