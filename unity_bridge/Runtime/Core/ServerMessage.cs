using System.Collections.Generic;

namespace AvatarForcing.Core
{
    /// <summary>
    /// A decoded server → client message. Type is the JSON "type" ("hello", "motion", "audio", "frame",
    /// "error", or anything newer, kept in Json); the matching property is set.
    /// </summary>
    public sealed class ServerMessage
    {
        public string Type { get; private set; }
        public HelloMessage Hello { get; private set; }
        public MotionFrame Motion { get; private set; }
        public AudioChunk Audio { get; private set; }
        /// <summary>A rendered video frame (type "frame"): JPEG bytes.</summary>
        public byte[] Jpeg { get; private set; }
        public string ErrorCode { get; private set; }
        public string ErrorMessage { get; private set; }
        public string Session { get; private set; }
        public Dictionary<string, object> Json { get; private set; }

        ServerMessage(string type, Dictionary<string, object> json)
        {
            Type = type;
            Json = json;
        }

        internal static ServerMessage ForHello(HelloMessage h, Dictionary<string, object> j)
        {
            return new ServerMessage("hello", j) { Hello = h, Session = h.Session };
        }

        internal static ServerMessage ForMotion(MotionFrame f, string session, Dictionary<string, object> j)
        {
            return new ServerMessage("motion", j) { Motion = f, Session = session };
        }

        internal static ServerMessage ForAudio(AudioChunk a, string session, Dictionary<string, object> j)
        {
            return new ServerMessage("audio", j) { Audio = a, Session = session };
        }

        internal static ServerMessage ForFrame(MotionFrame timing, byte[] jpeg, Dictionary<string, object> j)
        {
            return new ServerMessage("frame", j) { Motion = timing, Jpeg = jpeg };
        }

        internal static ServerMessage ForError(string code, string message, Dictionary<string, object> j)
        {
            return new ServerMessage("error", j) { ErrorCode = code, ErrorMessage = message };
        }

        internal static ServerMessage ForOther(string type, Dictionary<string, object> j)
        {
            return new ServerMessage(type, j);
        }

        /// <summary>A local error (malformed message, connection failure) reported through the same queue.</summary>
        public static ServerMessage LocalError(string code, string message)
        {
            return new ServerMessage("error", null) { ErrorCode = code, ErrorMessage = message };
        }
    }
}
