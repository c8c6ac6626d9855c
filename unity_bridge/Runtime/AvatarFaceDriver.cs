using System.Collections.Generic;
using AvatarForcing.Core;
using UnityEngine;

namespace AvatarForcing
{
    /// <summary>
    /// Applies the client's current motion to a character: blendshapes on one or more SkinnedMeshRenderers
    /// through a mapping asset (or, without one, names matched automatically to the ARKit names), and
    /// head, neck and eye rotations on the given bones, on top of their rest pose.
    ///
    /// Rotations are built in <see cref="rootSpace"/> (+Z the character's forward, +Y up; defaults to this
    /// transform). The neck takes <see cref="neckShare"/> of the head rotation and the head the rest;
    /// gaze is relative to the head. Runs in LateUpdate so it wins over an Animator on the same bones.
    /// </summary>
    [AddComponentMenu("Avatar Forcing/Avatar Face Driver")]
    public sealed class AvatarFaceDriver : MonoBehaviour
    {
        [SerializeField] AvatarForcingClient client;

        [Header("Blendshapes")]
        [Tooltip("Empty: ARKit names are matched on each mesh automatically.")]
        [SerializeField] BlendshapeMappingAsset mapping;
        [SerializeField] SkinnedMeshRenderer[] renderers = new SkinnedMeshRenderer[0];
        [Tooltip("Scales every blendshape (expressiveness).")]
        [SerializeField, Range(0f, 2f)] float expressionGain = 1f;

        [Header("Bones (optional)")]
        [Tooltip("Character space for rotations: +Z forward, +Y up. Empty: this transform.")]
        [SerializeField] Transform rootSpace;
        [SerializeField] Transform neck;
        [SerializeField] Transform head;
        [SerializeField] Transform leftEye;
        [SerializeField] Transform rightEye;
        [SerializeField, Range(0f, 1f)] float neckShare = 0.3f;
        [SerializeField] BoneRotationSettings headRotation = new BoneRotationSettings();
        [SerializeField] BoneRotationSettings eyeRotation = BoneRotationSettings.Eyes();
        [Tooltip("On: add to the pose an Animator wrote this frame. Off: replace it, starting from the rest pose.")]
        [SerializeField] bool additiveToAnimation;

        [Header("Voice (optional)")]
        [Tooltip("Plays the avatar's voice in step with this face; fed by this driver's client.")]
        [SerializeField] AvatarVoicePlayer voice;

        static readonly int HeadYaw = MotionChannels.IndexOf("headYaw");
        static readonly int HeadPitch = MotionChannels.IndexOf("headPitch");
        static readonly int HeadRoll = MotionChannels.IndexOf("headRoll");
        static readonly int LeftEyeYaw = MotionChannels.IndexOf("leftEyeYaw");
        static readonly int LeftEyePitch = MotionChannels.IndexOf("leftEyePitch");
        static readonly int RightEyeYaw = MotionChannels.IndexOf("rightEyeYaw");
        static readonly int RightEyePitch = MotionChannels.IndexOf("rightEyePitch");

        ResolvedMapping[] resolved = new ResolvedMapping[0];
        float[][] weights = new float[0][];
        readonly Dictionary<Transform, Quaternion> rest = new Dictionary<Transform, Quaternion>();
        NameMapping boundMapping;

        public AvatarForcingClient Client { get { return client; } set { client = value; ConnectVoice(); } }
        public AvatarVoicePlayer Voice { get { return voice; } set { voice = value; ConnectVoice(); } }
        public BlendshapeMappingAsset Mapping { get { return mapping; } set { mapping = value; Rebind(); } }
        public IList<SkinnedMeshRenderer> Renderers { get { return renderers; } }
        /// <summary>The bound mapping per renderer (targets found / missing), after Rebind.</summary>
        public ResolvedMapping[] Resolved { get { return resolved; } }

        /// <summary>Set everything in code (the sample's setup script does this).</summary>
        public void Configure(AvatarForcingClient source, SkinnedMeshRenderer[] meshes, Transform neckBone,
            Transform headBone, Transform leftEyeBone, Transform rightEyeBone)
        {
            client = source;
            renderers = meshes ?? new SkinnedMeshRenderer[0];
            neck = neckBone;
            head = headBone;
            leftEye = leftEyeBone;
            rightEye = rightEyeBone;
            CaptureRestPose();
            Rebind();
            ConnectVoice();
        }

        void OnEnable()
        {
            CaptureRestPose();
            Rebind();
            ConnectVoice();
        }

        void ConnectVoice()
        {
            if (voice != null && client != null) voice.Client = client;
        }

        void OnDisable()
        {
            RestorePose();
        }

        /// <summary>Resolve the mapping against each renderer's blendshape names (call after changing meshes).</summary>
        public void Rebind()
        {
            resolved = new ResolvedMapping[renderers.Length];
            weights = new float[renderers.Length][];
            for (int r = 0; r < renderers.Length; r++)
            {
                var smr = renderers[r];
                var names = new List<string>();
                if (smr != null && smr.sharedMesh != null)
                    for (int i = 0; i < smr.sharedMesh.blendShapeCount; i++) names.Add(smr.sharedMesh.GetBlendShapeName(i));
                boundMapping = mapping != null ? mapping.ToNameMapping() : NameMapping.FromMatches(new NameMatcher().Match(names));
                resolved[r] = boundMapping.Resolve(names);
                weights[r] = new float[names.Count];
            }
        }

        void CaptureRestPose()
        {
            rest.Clear();
            foreach (var t in new[] { neck, head, leftEye, rightEye })
                if (t != null && !rest.ContainsKey(t)) rest.Add(t, t.localRotation);
        }

        void RestorePose()
        {
            foreach (var kv in rest) if (kv.Key != null) kv.Key.localRotation = kv.Value;
        }

        void LateUpdate()
        {
            if (client != null && client.HasValues) Apply(client.Values);
        }

        /// <summary>Apply one set of motion values (MotionChannels order) to the meshes and bones.</summary>
        public void Apply(float[] values)
        {
            for (int r = 0; r < renderers.Length; r++)
            {
                var smr = renderers[r];
                if (smr == null || resolved[r] == null) continue;
                resolved[r].Apply(values, weights[r], expressionGain);
                foreach (int i in resolved[r].Targets) smr.SetBlendShapeWeight(i, weights[r][i]);
            }
            ApplyBones(values);
        }

        void ApplyBones(float[] values)
        {
            var space = rootSpace != null ? rootSpace : transform;
            Quaternion full = headRotation.Rotation(values[HeadYaw], values[HeadPitch], values[HeadRoll]);
            Quaternion neckPart = neck != null ? Quaternion.Slerp(Quaternion.identity, full, neckShare) : Quaternion.identity;
            if (neck != null) RotateFromRest(neck, space, neckPart);
            if (head != null) RotateFromRest(head, space, full * Quaternion.Inverse(neckPart));
            // Gaze is relative to the head: conjugate by the head rotation to turn about the head's axes.
            Quaternion headFull = head != null ? full : Quaternion.identity;
            if (leftEye != null)
            {
                var gaze = eyeRotation.Rotation(values[LeftEyeYaw], values[LeftEyePitch], 0f);
                RotateFromRest(leftEye, space, headFull * gaze * Quaternion.Inverse(headFull));
            }
            if (rightEye != null)
            {
                var gaze = eyeRotation.Rotation(values[RightEyeYaw], values[RightEyePitch], 0f);
                RotateFromRest(rightEye, space, headFull * gaze * Quaternion.Inverse(headFull));
            }
        }

        /// <summary>bone = (rotation about root-space axes) applied on top of its rest (or animated) pose.</summary>
        void RotateFromRest(Transform bone, Transform space, Quaternion rootSpaceRotation)
        {
            Quaternion restLocal;
            if (!rest.TryGetValue(bone, out restLocal)) { restLocal = bone.localRotation; rest[bone] = restLocal; }
            if (!additiveToAnimation) bone.localRotation = restLocal;
            Quaternion toWorld = space.rotation;
            bone.rotation = toWorld * rootSpaceRotation * Quaternion.Inverse(toWorld) * bone.rotation;
        }
    }
}
