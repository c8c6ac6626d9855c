using System.Collections.Generic;
using UnityEngine;

namespace AvatarForcing.Samples.BasicFace
{
    /// <summary>
    /// Drop on a character's root: adds and wires AvatarForcingClient, AvatarFaceDriver and
    /// AvatarVoicePlayer. Meshes with blendshapes are found under the root; neck, head and eye bones come
    /// from a humanoid Animator when there is one. Without a mapping asset the ARKit names are matched
    /// automatically.
    /// </summary>
    [AddComponentMenu("Avatar Forcing/Samples/Basic Face Setup")]
    public sealed class BasicFaceSetup : MonoBehaviour
    {
        [SerializeField] string runtimeUrl = "ws://127.0.0.1:8765/";
        [SerializeField] string token = "";
        [SerializeField] BlendshapeMappingAsset mapping;

        void Awake()
        {
            var client = GetComponent<AvatarForcingClient>();
            if (client == null)
            {
                client = gameObject.AddComponent<AvatarForcingClient>();
                client.Url = runtimeUrl;
                client.Token = token;
                client.Connect(); // again, now with this URL and token
            }

            var meshes = new List<SkinnedMeshRenderer>();
            foreach (var smr in GetComponentsInChildren<SkinnedMeshRenderer>(true))
                if (smr.sharedMesh != null && smr.sharedMesh.blendShapeCount > 0) meshes.Add(smr);

            Transform neck = null, head = null, leftEye = null, rightEye = null;
            var animator = GetComponentInChildren<Animator>();
            if (animator != null && animator.isHuman)
            {
                neck = animator.GetBoneTransform(HumanBodyBones.Neck);
                head = animator.GetBoneTransform(HumanBodyBones.Head);
                leftEye = animator.GetBoneTransform(HumanBodyBones.LeftEye);
                rightEye = animator.GetBoneTransform(HumanBodyBones.RightEye);
            }

            // Explicit == null, not ??: Unity's null for missing components is not C# null in the Editor.
            var driver = GetComponent<AvatarFaceDriver>();
            if (driver == null) driver = gameObject.AddComponent<AvatarFaceDriver>();
            if (mapping != null) driver.Mapping = mapping;
            driver.Configure(client, meshes.ToArray(), neck, head, leftEye, rightEye);

            var voiceHost = head != null ? head.gameObject : gameObject;
            var voice = voiceHost.GetComponent<AvatarVoicePlayer>();
            if (voice == null) voice = voiceHost.AddComponent<AvatarVoicePlayer>();
            voice.Client = client;

            Debug.Log(string.Format("Avatar Forcing sample: {0} mesh(es) with blendshapes, head bone {1}, eyes {2}.",
                meshes.Count, head != null ? head.name : "none", leftEye != null ? "found" : "none"), this);
        }
    }
}
