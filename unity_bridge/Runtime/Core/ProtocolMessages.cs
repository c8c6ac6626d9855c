using System;
using System.Collections.Generic;

namespace AvatarForcing.Core
{
    /// <summary>
    /// Protocol v1 messages (docs/protocol.md): builders for what the client sends (subscribe, audio,
    /// control) and a parser for what the server sends. No I/O here; MotionClient feeds it.
    /// </summary>
    public static class ProtocolMessages
    {
        public const string StreamMotion = "motion";
        public const string StreamAudio = "audio";
        public const string StreamFrames = "frames";
        public const string StreamLatent = "latent";
        public const string RoleUser = "user";
        public const string RoleAvatar = "avatar";

        /// <summary>{"type":"subscribe","streams":[...],"format":"binary"|"json","session":...}</summary>
        public static string Subscribe(IList<string> streams, string format, string session)
        {
            if (format != "binary" && format != "json")
                throw new ArgumentException("format must be \"binary\" or \"json\"");
            var o = new Dictionary<string, object>
            {
                { "type", "subscribe" },
                { "streams", new List<string>(streams) },
                { "format", format },
            };
            if (!string.IsNullOrEmpty(session)) o["session"] = session;
            return JsonWriter.Write(o);
        }

        /// <summary>{"type":"audio","role":"user"|"avatar","rate":R,"data":"base64 PCM16 LE mono",...}</summary>
        public static string Audio(string role, int rate, float[] samples, int offset, int count, string session)
        {
            if (role != RoleUser && role != RoleAvatar) throw new ArgumentException("role must be \"user\" or \"avatar\"");
            var o = new Dictionary<string, object>
            {
                { "type", "audio" },
                { "role", role },
                { "rate", rate },
                { "data", Convert.ToBase64String(AudioPcm.ToPcm16(samples, offset, count)) },
            };
            if (!string.IsNullOrEmpty(session)) o["session"] = session;
            return JsonWriter.Write(o);
        }

        /// <summary>{"type":"control","action":...} plus any extra fields (e.g. guidance weights).</summary>
        public static string Control(string action, IDictionary<string, object> extra, string session)
        {
            var o = new Dictionary<string, object> { { "type", "control" }, { "action", action } };
            if (extra != null) foreach (var kv in extra) o[kv.Key] = kv.Value;
            if (!string.IsNullOrEmpty(session)) o["session"] = session;
            return JsonWriter.Write(o);
        }

        /// <summary>Parse one text message from the server; ProtocolException when it is malformed.</summary>
        public static ServerMessage Parse(string text, ChannelLayout layout)
        {
            var o = JsonReader.ParseObject(text);
            string type = GetString(o, "type");
            switch (type)
            {
                case "hello":
                    return ServerMessage.ForHello(HelloMessage.FromJson(o), o);
                case "motion":
                {
                    var list = GetList(o, "values");
                    var values = new float[list.Count];
                    for (int i = 0; i < values.Length; i++)
                    {
                        if (!(list[i] is double)) throw new ProtocolException("bad_message", "motion: values must be numbers");
                        values[i] = (float)(double)list[i];
                    }
                    var local = (layout ?? ChannelLayout.Default).ToLocal(values);
                    var frame = new MotionFrame(GetLong(o, "frame"), GetDouble(o, "t"), (ushort)GetIntOr(o, "flags", 0), local);
                    return ServerMessage.ForMotion(frame, GetStringOr(o, "session", null), o);
                }
                case "audio":
                {
                    byte[] pcm;
                    try { pcm = Convert.FromBase64String(GetString(o, "data")); }
                    catch (FormatException) { throw new ProtocolException("bad_audio", "audio: data is not base64"); }
                    var chunk = new AudioChunk(GetStringOr(o, "role", RoleAvatar), GetDoubleOr(o, "t", 0.0),
                        GetIntOr(o, "rate", MotionChannels.SampleRate), AudioPcm.FromPcm16(pcm));
                    return ServerMessage.ForAudio(chunk, GetStringOr(o, "session", null), o);
                }
                case "frame":
                {
                    byte[] jpeg;
                    try { jpeg = Convert.FromBase64String(GetString(o, "jpeg")); }
                    catch (FormatException) { throw new ProtocolException("bad_message", "frame: jpeg is not base64"); }
                    var timing = new MotionFrame(GetLong(o, "frame"), GetDouble(o, "t"), 0, new float[0]);
                    return ServerMessage.ForFrame(timing, jpeg, o);
                }
                case "error":
                    return ServerMessage.ForError(GetStringOr(o, "code", "error"), GetStringOr(o, "message", ""), o);
                default:
                    return ServerMessage.ForOther(type, o);
            }
        }

        // --- typed field access with protocol errors -----------------------------------------------------

        internal static object Get(Dictionary<string, object> o, string key)
        {
            object v;
            if (!o.TryGetValue(key, out v)) throw new ProtocolException("bad_message", "missing field \"" + key + "\"");
            return v;
        }

        internal static string GetString(Dictionary<string, object> o, string key)
        {
            var s = Get(o, key) as string;
            if (s == null) throw new ProtocolException("bad_message", "field \"" + key + "\" must be a string");
            return s;
        }

        internal static string GetStringOr(Dictionary<string, object> o, string key, string fallback)
        {
            object v;
            return o.TryGetValue(key, out v) && v is string ? (string)v : fallback;
        }

        internal static double GetDouble(Dictionary<string, object> o, string key)
        {
            object v = Get(o, key);
            if (!(v is double)) throw new ProtocolException("bad_message", "field \"" + key + "\" must be a number");
            return (double)v;
        }

        internal static double GetDoubleOr(Dictionary<string, object> o, string key, double fallback)
        {
            object v;
            return o.TryGetValue(key, out v) && v is double ? (double)v : fallback;
        }

        internal static long GetLong(Dictionary<string, object> o, string key)
        {
            double d = GetDouble(o, key);
            if (d != Math.Floor(d)) throw new ProtocolException("bad_message", "field \"" + key + "\" must be an integer");
            return (long)d;
        }

        internal static int GetInt(Dictionary<string, object> o, string key)
        {
            return (int)GetLong(o, key);
        }

        internal static int GetIntOr(Dictionary<string, object> o, string key, int fallback)
        {
            object v;
            return o.TryGetValue(key, out v) && v is double ? (int)(double)v : fallback;
        }

        internal static List<object> GetList(Dictionary<string, object> o, string key)
        {
            var l = Get(o, key) as List<object>;
            if (l == null) throw new ProtocolException("bad_message", "field \"" + key + "\" must be an array");
            return l;
        }
    }
}
