using System;
using AvatarForcing.Core;
using UnityEngine;

namespace AvatarForcing
{
    /// <summary>
    /// Connects to an Avatar Forcing runtime (<c>af run</c>) over its websocket and turns the 25 fps motion
    /// stream into smooth per-render-frame values. Reconnects with back-off on its own.
    ///
    /// Networking runs on background threads inside the engine-free <see cref="MotionClient"/>; this
    /// component drains its queues in Update, so every Unity API call stays on the main thread.
    /// It can also push audio: an AudioClip as the avatar's voice (an NPC line) and the microphone as
    /// the user's voice.
    /// </summary>
    [AddComponentMenu("Avatar Forcing/Avatar Forcing Client")]
    [DefaultExecutionOrder(-50)]
    public sealed class AvatarForcingClient : MonoBehaviour
    {
        const int ChunkSamples = 8000; // 0.5 s at 16 kHz per audio message

        [Header("Runtime")]
        [Tooltip("ws://HOST:PORT/ of `af run` (default ws://127.0.0.1:8765/).")]
        [SerializeField] string url = "ws://127.0.0.1:8765/";
        [Tooltip("Needed when the runtime listens on another machine (af run --host 0.0.0.0 --token ...).")]
        [SerializeField] string token = "";
        [SerializeField] string session = "default";
        [SerializeField] bool connectOnEnable = true;
        [Tooltip("Also receive the avatar's voice, delayed to match its lips (play it with AvatarVoicePlayer).")]
        [SerializeField] bool receiveAvatarVoice = true;

        [Header("Playback")]
        [Tooltip("Seconds of buffering against network jitter; more is smoother, less is faster.")]
        [SerializeField, Range(0f, 0.5f)] float jitterDelay = 0.1f;

        [Header("Microphone (the user's voice)")]
        [SerializeField] bool streamMicrophone;
        [Tooltip("Empty = the default microphone.")]
        [SerializeField] string microphoneDevice = "";

        MotionClient client;
        readonly JitterBuffer buffer = new JitterBuffer();
        readonly VoiceTimeline voice = new VoiceTimeline();
        readonly float[] values = new float[MotionChannels.Count];
        readonly object playClock = new object();
        double playTime = double.NaN, playStamp;
        string reportedError;
        AudioClip microphoneClip;
        string microphoneName;
        int microphonePosition;

        /// <summary>Current values in MotionChannels order (valid when HasValues).</summary>
        public float[] Values { get { return values; } }
        public bool HasValues { get; private set; }
        /// <summary>Whether the frames behind the current values saw a face (false: a held pose).</summary>
        public bool HasFace { get; private set; }
        public ConnectionState State { get { return client != null ? client.State : ConnectionState.Stopped; } }
        public HelloMessage Hello { get { return client != null ? client.Hello : null; } }
        public string LastError { get { return client != null ? client.LastError : null; } }
        public MotionClient Client { get { return client; } }
        public JitterBuffer Buffer { get { return buffer; } }
        public VoiceTimeline Voice { get { return voice; } }
        public string Url { get { return url; } set { url = value; } }
        public string Token { get { return token; } set { token = value; } }
        public bool IsMicrophoneStreaming { get { return microphoneClip != null; } }

        /// <summary>Raised on the main thread for every non-motion message (hello, audio, frame, error).</summary>
        public event Action<ServerMessage> MessageReceived;
        /// <summary>Raised on the main thread after Values were updated for this render frame.</summary>
        public event Action<AvatarForcingClient> ValuesUpdated;

        void OnEnable()
        {
            buffer.Delay = jitterDelay;
            if (connectOnEnable) Connect();
            if (streamMicrophone) StartMicrophone(microphoneDevice);
        }

        void OnDisable()
        {
            StopMicrophone();
            Disconnect();
        }

        void OnValidate() { buffer.Delay = jitterDelay; }

        /// <summary>(Re)connect with the current settings.</summary>
        public void Connect()
        {
            Disconnect();
            var options = new MotionClientOptions { Url = url, Token = string.IsNullOrEmpty(token) ? null : token, Session = session };
            if (receiveAvatarVoice) options.Streams.Add(ProtocolMessages.StreamAudio);
            try
            {
                client = new MotionClient(options);
            }
            catch (ArgumentException e)
            {
                Debug.LogError("Avatar Forcing: " + e.Message, this);
                return;
            }
            buffer.Reset();
            voice.Clear();
            client.Start();
        }

        public void Disconnect()
        {
            if (client == null) return;
            client.Stop(2.0);
            client = null;
            HasValues = false;
        }

        void Update()
        {
            if (client == null) return;
            MotionFrame frame;
            while (client.TryGetFrame(out frame)) buffer.Add(frame);
            ServerMessage message;
            while (client.TryGetMessage(out message)) Dispatch(message);

            double now = client.Now;
            HasValues = buffer.Sample(now, values);
            HasFace = buffer.LastSampleHasFace;
            lock (playClock)
            {
                playTime = buffer.LastPlayTime;
                playStamp = now;
            }
            if (microphoneClip != null) PumpMicrophone();
            if (HasValues && ValuesUpdated != null) ValuesUpdated(this);
        }

        void Dispatch(ServerMessage message)
        {
            if (message.Type == "audio" && message.Audio != null && message.Audio.Role == ProtocolMessages.RoleAvatar)
                voice.Push(message.Audio);
            else if (message.Type == "hello")
                voice.Clear(); // a new connection: its session clock starts afresh (frames reset the buffer themselves)
            else if (message.Type == "error" && message.ErrorMessage != reportedError)
            {
                reportedError = message.ErrorMessage; // log each distinct problem once, not every retry
                Debug.LogWarning("Avatar Forcing: " + message.ErrorCode + ": " + message.ErrorMessage, this);
            }
            if (MessageReceived != null) MessageReceived(message);
        }

        /// <summary>
        /// The session time being shown, extrapolated to now. Safe to call from the audio thread
        /// (AvatarVoicePlayer does).
        /// </summary>
        public double CurrentPlayTime()
        {
            var c = client;
            if (c == null) return double.NaN;
            lock (playClock)
            {
                return double.IsNaN(playTime) ? double.NaN : playTime + (c.Now - playStamp);
            }
        }

        /// <summary>
        /// Send an AudioClip as the avatar's voice (e.g. an NPC's line): the runtime animates the face to
        /// it and, when subscribed, sends the voice back delayed in step with the motion. The clip's load
        /// type must allow GetData (Decompress On Load). Returns false when not connected.
        /// </summary>
        public bool SendAvatarVoice(AudioClip clip)
        {
            return SendClip(clip, ProtocolMessages.RoleAvatar);
        }

        /// <summary>Send an AudioClip as the user's voice (what the avatar listens to).</summary>
        public bool SendUserAudio(AudioClip clip)
        {
            return SendClip(clip, ProtocolMessages.RoleUser);
        }

        bool SendClip(AudioClip clip, string role)
        {
            if (clip == null || client == null) return false;
            var data = new float[clip.samples * clip.channels];
            if (!clip.GetData(data, 0))
            {
                Debug.LogError("Avatar Forcing: cannot read AudioClip '" + clip.name + "'; set its Load Type to Decompress On Load.", this);
                return false;
            }
            return SendSamples(AudioPcm.Downmix(data, clip.channels), clip.frequency, role);
        }

        /// <summary>Send mono samples at any rate (resampled to 16 kHz) in 0.5 s messages.</summary>
        public bool SendSamples(float[] mono, int rate, string role)
        {
            if (client == null) return false;
            var pcm = AudioPcm.Resample(mono, rate, MotionChannels.SampleRate);
            bool ok = true;
            for (int start = 0; start < pcm.Length; start += ChunkSamples)
            {
                int count = Math.Min(ChunkSamples, pcm.Length - start);
                ok &= client.SendText(ProtocolMessages.Audio(role, MotionChannels.SampleRate, pcm, start, count, session));
            }
            return ok;
        }

        /// <summary>Stream a microphone as the user's voice. Empty name = default device.</summary>
        public void StartMicrophone(string deviceName)
        {
            StopMicrophone();
            if (Microphone.devices.Length == 0)
            {
                Debug.LogWarning("Avatar Forcing: no microphone found; the avatar will listen to nothing.", this);
                return;
            }
            microphoneName = string.IsNullOrEmpty(deviceName) ? null : deviceName;
            int minRate, maxRate;
            Microphone.GetDeviceCaps(microphoneName, out minRate, out maxRate);
            int rate = (minRate == 0 && maxRate == 0) ? MotionChannels.SampleRate
                : Mathf.Clamp(MotionChannels.SampleRate, minRate, maxRate);
            microphoneClip = Microphone.Start(microphoneName, true, 2, rate);
            microphonePosition = 0;
        }

        public void StopMicrophone()
        {
            if (microphoneClip == null) return;
            Microphone.End(microphoneName);
            microphoneClip = null;
        }

        void PumpMicrophone()
        {
            int position = Microphone.GetPosition(microphoneName);
            int length = microphoneClip.samples;
            int available = (position - microphonePosition + length) % length;
            if (available < microphoneClip.frequency / 25) return; // wait for at least one motion frame of audio
            var data = new float[available * microphoneClip.channels];
            int first = Math.Min(available, length - microphonePosition);
            var head = new float[first * microphoneClip.channels];
            microphoneClip.GetData(head, microphonePosition);
            Array.Copy(head, data, head.Length);
            if (first < available)
            {
                var tail = new float[(available - first) * microphoneClip.channels];
                microphoneClip.GetData(tail, 0);
                Array.Copy(tail, 0, data, head.Length, tail.Length);
            }
            microphonePosition = position;
            SendSamples(AudioPcm.Downmix(data, microphoneClip.channels), microphoneClip.frequency, ProtocolMessages.RoleUser);
        }
    }
}
