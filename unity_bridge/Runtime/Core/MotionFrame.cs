using System;

namespace AvatarForcing.Core
{
    /// <summary>One motion-contract frame: index and session time (s), flags, and values in layout order.</summary>
    public sealed class MotionFrame
    {
        /// <summary>Flag bit 0: no observation (e.g. no face); the values are a hold, not a measurement.</summary>
        public const ushort FlagNoFace = 1;

        public long Index { get; private set; }
        public double Time { get; private set; }
        public ushort Flags { get; private set; }
        public float[] Values { get; private set; }

        /// <summary>Local monotonic time (s) when the frame arrived; set by the client, used by the jitter buffer.</summary>
        public double ArrivalTime { get; set; }

        /// <summary>Which connection of the client delivered it (1, 2, ...); a new one restarts the jitter buffer.</summary>
        public int Connection { get; set; }

        public MotionFrame(long index, double time, ushort flags, float[] values)
        {
            if (values == null) throw new ArgumentNullException("values");
            Index = index;
            Time = time;
            Flags = flags;
            Values = values;
        }

        public bool HasFace { get { return (Flags & FlagNoFace) == 0; } }

        /// <summary>Value of a channel by name (0 when the name is not a channel).</summary>
        public float Get(string channel)
        {
            int i = MotionChannels.IndexOf(channel);
            return i >= 0 && i < Values.Length ? Values[i] : 0f;
        }
    }
}
