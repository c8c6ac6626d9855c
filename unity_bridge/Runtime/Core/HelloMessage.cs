using System.Collections.Generic;

namespace AvatarForcing.Core
{
    /// <summary>The server's first message: protocol version, rates, channel names and frame size.</summary>
    public sealed class HelloMessage
    {
        public int Protocol { get; private set; }
        public int Fps { get; private set; }
        public int LayoutVersion { get; private set; }
        public string[] Channels { get; private set; }
        public int SampleRate { get; private set; }
        public int BinaryFrameBytes { get; private set; }
        public string Session { get; private set; }

        public HelloMessage(int protocol, int fps, int layoutVersion, string[] channels, int sampleRate,
            int binaryFrameBytes, string session)
        {
            Protocol = protocol;
            Fps = fps;
            LayoutVersion = layoutVersion;
            Channels = channels;
            SampleRate = sampleRate;
            BinaryFrameBytes = binaryFrameBytes;
            Session = session;
        }

        internal static HelloMessage FromJson(Dictionary<string, object> o)
        {
            var list = ProtocolMessages.GetList(o, "channels");
            var channels = new string[list.Count];
            for (int i = 0; i < list.Count; i++)
            {
                channels[i] = list[i] as string;
                if (channels[i] == null) throw new ProtocolException("bad_message", "hello: channel names must be strings");
            }
            int protocol = ProtocolMessages.GetInt(o, "protocol");
            if (protocol != MotionChannels.ProtocolVersion)
                throw new ProtocolException("protocol_mismatch", string.Format(
                    "server speaks protocol {0}, this client speaks {1}; update the Unity package or the runtime",
                    protocol, MotionChannels.ProtocolVersion));
            int layout = ProtocolMessages.GetInt(o, "layout_version");
            int frameBytes = ProtocolMessages.GetIntOr(o, "binary_frame_bytes", MotionChannels.FrameHeaderBytes + 4 * channels.Length);
            if (frameBytes != MotionChannels.FrameHeaderBytes + 4 * channels.Length)
                throw new ProtocolException("bad_message", string.Format(
                    "hello: binary_frame_bytes {0} does not match {1} channels", frameBytes, channels.Length));
            return new HelloMessage(protocol, ProtocolMessages.GetIntOr(o, "fps", MotionChannels.Fps), layout, channels,
                ProtocolMessages.GetIntOr(o, "sample_rate", MotionChannels.SampleRate), frameBytes,
                ProtocolMessages.GetStringOr(o, "session", "default"));
        }
    }
}
