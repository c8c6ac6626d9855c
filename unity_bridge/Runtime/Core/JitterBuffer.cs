using System;
using System.Collections.Generic;

namespace AvatarForcing.Core
{
    /// <summary>
    /// Smooths network jitter: frames are played out on a local clock a fixed Delay after the earliest
    /// they could have been, and sampled at any render time by interpolation.
    ///
    /// Clock alignment: offset = min(arrival − frame time) over the stream, allowed to creep up by
    /// OffsetCreep per frame so a lasting increase in network delay is absorbed instead of starving
    /// forever. Play time = localNow − offset − Delay. A frame from a new connection, or a jump back in
    /// frame time (server restarted), resets the buffer. Not thread-safe: use from one thread (Unity's
    /// main thread).
    /// </summary>
    public sealed class JitterBuffer
    {
        readonly List<MotionFrame> frames = new List<MotionFrame>();
        double offset;
        bool hasOffset;

        /// <summary>Playout delay in seconds beyond the best-case arrival (default 0.1 s = 2.5 frames).</summary>
        public double Delay { get; set; }
        /// <summary>Seconds the clock offset may grow per received frame (default 0.2 ms).</summary>
        public double OffsetCreep { get; set; }
        /// <summary>Most frames kept; older ones are dropped.</summary>
        public int Capacity { get; set; }

        public int Count { get { return frames.Count; } }
        public long LateFrames { get; private set; }
        public long DuplicateFrames { get; private set; }
        public long StarvedSamples { get; private set; }
        public long Resets { get; private set; }
        /// <summary>Session time of the last Sample, or NaN before the first frame.</summary>
        public double LastPlayTime { get; private set; }
        /// <summary>True when the last Sample ran past the newest frame and held it.</summary>
        public bool LastSampleStarved { get; private set; }
        /// <summary>Whether the frame(s) behind the last Sample saw a face.</summary>
        public bool LastSampleHasFace { get; private set; }

        public JitterBuffer(double delay = 0.1)
        {
            Delay = delay;
            OffsetCreep = 0.0002;
            Capacity = 256;
            LastPlayTime = double.NaN;
        }

        public void Reset()
        {
            frames.Clear();
            hasOffset = false;
            LastPlayTime = double.NaN;
            Resets++;
        }

        /// <summary>Add a frame; its ArrivalTime must be on the same clock later passed to Sample.</summary>
        public void Add(MotionFrame frame)
        {
            if (frames.Count > 0)
            {
                var newest = frames[frames.Count - 1];
                if (frame.Connection != newest.Connection || frame.Time < newest.Time - 1.0) Reset();
            }
            double sample = frame.ArrivalTime - frame.Time;
            if (!hasOffset) { offset = sample; hasOffset = true; }
            else if (sample < offset) offset = sample;
            else offset += Math.Min(sample - offset, OffsetCreep);

            if (!double.IsNaN(LastPlayTime) && frames.Count > 0 && frame.Time < LastPlayTime
                && frame.Time < frames[0].Time)
            {
                LateFrames++; // its moment has passed and nothing before it is kept
                return;
            }
            int i = frames.Count;
            while (i > 0 && frames[i - 1].Time > frame.Time) i--;
            if (i > 0 && frames[i - 1].Index == frame.Index && frames[i - 1].Time == frame.Time)
            {
                DuplicateFrames++;
                return;
            }
            frames.Insert(i, frame);
            while (frames.Count > Math.Max(2, Capacity)) frames.RemoveAt(0);
        }

        /// <summary>Session time being played at local time <paramref name="localNow"/>.</summary>
        public double PlayTime(double localNow)
        {
            return hasOffset ? localNow - offset - Delay : double.NaN;
        }

        /// <summary>
        /// Fill <paramref name="output"/> with the values at local time <paramref name="localNow"/>; false
        /// while no frame has arrived. Before the first frame it holds the first, after the last the last.
        /// </summary>
        public bool Sample(double localNow, float[] output)
        {
            if (frames.Count == 0) return false;
            double t = PlayTime(localNow);
            LastPlayTime = t;
            var first = frames[0];
            var last = frames[frames.Count - 1];
            LastSampleStarved = t > last.Time;
            if (t <= first.Time || frames.Count == 1 || LastSampleStarved)
            {
                var held = t <= first.Time ? first : last;
                if (LastSampleStarved) StarvedSamples++;
                Array.Copy(held.Values, output, Math.Min(output.Length, held.Values.Length));
                LastSampleHasFace = held.HasFace;
                return true;
            }
            int k = 1;
            while (frames[k].Time < t) k++;
            var a = frames[k - 1];
            var b = frames[k];
            MotionInterpolator.Between(a, b, t, output);
            LastSampleHasFace = a.HasFace && b.HasFace;
            if (k - 1 > 0) frames.RemoveRange(0, k - 1); // keep a: the next sample may fall before b again
            return true;
        }
    }
}
