using UnityEngine;

namespace AvatarForcing
{
    /// <summary>
    /// Plays the avatar's voice, received from the runtime, in step with the face: samples are read on
    /// the audio thread at the client's current play time (the motion's delay), so lips and voice match.
    /// Put it on the GameObject whose AudioSource should carry the voice (e.g. the character's head).
    /// </summary>
    [AddComponentMenu("Avatar Forcing/Avatar Voice Player")]
    [RequireComponent(typeof(AudioSource))]
    public sealed class AvatarVoicePlayer : MonoBehaviour
    {
        [SerializeField] AvatarForcingClient client;
        [SerializeField, Range(0f, 2f)] float gain = 1f;

        int outputRate;
        AudioSource source;
        AudioClip silence;

        public AvatarForcingClient Client { get { return client; } set { client = value; } }

        void OnEnable()
        {
            outputRate = AudioSettings.outputSampleRate;
            source = GetComponent<AudioSource>();
            // A silent looping clip keeps the source playing so OnAudioFilterRead runs; the filter writes the voice.
            silence = AudioClip.Create("AvatarVoice", outputRate, 1, outputRate, false);
            source.clip = silence;
            source.loop = true;
            source.Play();
        }

        void OnDisable()
        {
            if (source != null) source.Stop();
            if (silence != null) Destroy(silence);
        }

        void OnAudioFilterRead(float[] data, int channels)
        {
            var c = client;
            // ReferenceEquals: UnityEngine.Object's == calls into the engine, which the audio thread must not.
            if (ReferenceEquals(c, null)) { System.Array.Clear(data, 0, data.Length); return; }
            c.Voice.Read(data, channels, outputRate, c.CurrentPlayTime());
            if (gain != 1f) for (int i = 0; i < data.Length; i++) data[i] *= gain;
        }
    }
}
