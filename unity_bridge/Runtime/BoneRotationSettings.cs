using System;
using UnityEngine;

namespace AvatarForcing
{
    /// <summary>
    /// How contract angles (radians; yaw &gt; 0 turns toward the character's own left, pitch &gt; 0 looks up,
    /// roll &gt; 0 tilts toward the left shoulder) become a rotation in the character's root space
    /// (+Z forward, +Y up). Defaults give Unity's convention; change an axis or a scale sign for rigs
    /// that face another way. Angles are clamped to the limits (degrees) after scaling.
    /// </summary>
    [Serializable]
    public sealed class BoneRotationSettings
    {
        public Vector3 yawAxis = Vector3.down;
        public Vector3 pitchAxis = Vector3.left;
        public Vector3 rollAxis = Vector3.forward;
        public float yawScale = 1f;
        public float pitchScale = 1f;
        public float rollScale = 1f;
        [Range(0f, 180f)] public float yawLimit = 80f;
        [Range(0f, 180f)] public float pitchLimit = 60f;
        [Range(0f, 180f)] public float rollLimit = 45f;

        public static BoneRotationSettings Eyes()
        {
            return new BoneRotationSettings { yawLimit = 35f, pitchLimit = 30f, rollLimit = 0f };
        }

        /// <summary>Root-space rotation, composed like Quaternion.Euler: roll, then pitch, then yaw.</summary>
        public Quaternion Rotation(float yawRadians, float pitchRadians, float rollRadians)
        {
            float yaw = Mathf.Clamp(yawRadians * Mathf.Rad2Deg * yawScale, -yawLimit, yawLimit);
            float pitch = Mathf.Clamp(pitchRadians * Mathf.Rad2Deg * pitchScale, -pitchLimit, pitchLimit);
            float roll = Mathf.Clamp(rollRadians * Mathf.Rad2Deg * rollScale, -rollLimit, rollLimit);
            return Quaternion.AngleAxis(yaw, yawAxis) * Quaternion.AngleAxis(pitch, pitchAxis) * Quaternion.AngleAxis(roll, rollAxis);
        }
    }
}
