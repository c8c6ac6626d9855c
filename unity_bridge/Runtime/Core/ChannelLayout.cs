using System.Collections.Generic;

namespace AvatarForcing.Core
{
    /// <summary>
    /// Maps the server's channel order (from hello) onto this client's MotionChannels order, by name.
    /// Channels the server does not send read as 0 and are listed in Missing; extra ones are ignored.
    /// </summary>
    public sealed class ChannelLayout
    {
        readonly int[] ourIndexForServer;
        public int ServerCount { get { return ourIndexForServer.Length; } }
        public bool IsIdentity { get; private set; }
        public string[] Missing { get; private set; }

        public ChannelLayout(string[] serverChannels)
        {
            ourIndexForServer = new int[serverChannels.Length];
            var seen = new bool[MotionChannels.Count];
            bool identity = serverChannels.Length == MotionChannels.Count;
            for (int i = 0; i < serverChannels.Length; i++)
            {
                int ours = MotionChannels.IndexOf(serverChannels[i]);
                ourIndexForServer[i] = ours;
                if (ours >= 0) seen[ours] = true;
                if (ours != i) identity = false;
            }
            IsIdentity = identity;
            var missing = new List<string>();
            for (int i = 0; i < seen.Length; i++) if (!seen[i]) missing.Add(MotionChannels.NameAt(i));
            Missing = missing.ToArray();
        }

        public static ChannelLayout Default { get { return new ChannelLayout(MotionChannels.Names); } }

        /// <summary>Values in server order → values in MotionChannels order.</summary>
        public float[] ToLocal(float[] serverValues)
        {
            if (IsIdentity) return serverValues;
            var local = new float[MotionChannels.Count];
            for (int i = 0; i < ourIndexForServer.Length && i < serverValues.Length; i++)
                if (ourIndexForServer[i] >= 0) local[ourIndexForServer[i]] = serverValues[i];
            return local;
        }

        /// <summary>Decode a binary frame record sent in server order into a frame in local order.</summary>
        public MotionFrame Decode(byte[] data, int count)
        {
            var f = FrameCodec.Decode(data, 0, count, ServerCount);
            return IsIdentity ? f : new MotionFrame(f.Index, f.Time, f.Flags, ToLocal(f.Values));
        }
    }
}
