using UnityEngine;

namespace AvatarForcing.Samples.BasicFace
{
    /// <summary>
    /// Sends an AudioClip to the runtime as the avatar's voice (an NPC's line) when a key is pressed or
    /// SpeakLine is called (e.g. from a UI button or dialogue system). The face talks to it; with
    /// "Receive Avatar Voice" on, the voice comes back in step with the lips through AvatarVoicePlayer.
    /// </summary>
    [AddComponentMenu("Avatar Forcing/Samples/NPC Line Trigger")]
    public sealed class NpcLineTrigger : MonoBehaviour
    {
        [SerializeField] AvatarForcingClient client;
        [Tooltip("Load Type must be Decompress On Load so the samples can be read.")]
        [SerializeField] AudioClip line;
        [SerializeField] KeyCode key = KeyCode.Space;

        public void SpeakLine()
        {
            if (client == null) client = GetComponentInParent<AvatarForcingClient>();
            if (client == null || !client.SendAvatarVoice(line))
                Debug.LogWarning("Avatar Forcing sample: not connected to the runtime, or no clip set.", this);
        }

#if ENABLE_LEGACY_INPUT_MANAGER
        void Update()
        {
            if (Input.GetKeyDown(key)) SpeakLine();
        }
#endif
    }
}
