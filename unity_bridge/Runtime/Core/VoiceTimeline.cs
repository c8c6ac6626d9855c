using System;
using System.Collections.Generic;

namespace AvatarForcing.Core
{
    /// <summary>
    /// Plays the avatar's voice in step with its motion. The server sends voice chunks stamped on the
    /// motion clock (already delayed to match the generated frames); the audio thread reads them at the
    /// jitter buffer's play time, so lips and voice share one delay. Thread-safe: the main thread pushes
    /// chunks and the play time, the audio thread reads.
    /// </summary>
    public sealed class VoiceTimeline
    {
        readonly object gate = new object();
        readonly List<AudioChunk> chunks = new List<AudioChunk>();
        double cursor = double.NaN;

        /// <summary>When the read position drifts this far (s) from the motion play time, it jumps back in step.</summary>
        public double ResyncThreshold { get; set; }
        public long Resyncs { get; private set; }

        public VoiceTimeline() { ResyncThreshold = 0.08; }

        public int PendingChunks { get { lock (gate) return chunks.Count; } }

        public void Push(AudioChunk chunk)
        {
            if (chunk == null || chunk.Samples.Length == 0 || chunk.Rate <= 0) return;
            lock (gate)
            {
                int i = chunks.Count;
                while (i > 0 && chunks[i - 1].Time > chunk.Time) i--;
                chunks.Insert(i, chunk);
            }
        }

        public void Clear()
        {
            lock (gate) { chunks.Clear(); cursor = double.NaN; }
        }

        /// <summary>
        /// Fill interleaved <paramref name="output"/> (all channels get the mono voice) for playback at
        /// <paramref name="outputRate"/> Hz, starting at session time <paramref name="playTime"/>. Silence
        /// where no chunk covers the time. Returns the number of non-silent sample frames written.
        /// </summary>
        public int Read(float[] output, int channels, int outputRate, double playTime)
        {
            int frameCount = output.Length / channels;
            int voiced = 0;
            lock (gate)
            {
                if (double.IsNaN(playTime)) { Array.Clear(output, 0, output.Length); return 0; }
                if (double.IsNaN(cursor) || Math.Abs(cursor - playTime) > ResyncThreshold)
                {
                    if (!double.IsNaN(cursor)) Resyncs++;
                    cursor = playTime;
                }
                int ci = 0;
                for (int n = 0; n < frameCount; n++)
                {
                    double t = cursor + (double)n / outputRate;
                    while (ci < chunks.Count && Position(chunks[ci], t) >= chunks[ci].Samples.Length) ci++;
                    float v = 0f;
                    if (ci < chunks.Count && Position(chunks[ci], t) >= 0)
                    {
                        v = SampleAt(chunks[ci], Position(chunks[ci], t));
                        voiced++;
                    }
                    for (int c = 0; c < channels; c++) output[n * channels + c] = v;
                }
                cursor += (double)frameCount / outputRate;
                while (chunks.Count > 0 && Position(chunks[0], cursor) >= chunks[0].Samples.Length) chunks.RemoveAt(0);
            }
            return voiced;
        }

        /// <summary>Sample position of time t in chunk c, rounded to 1e-6 sample so float error cannot shift a boundary.</summary>
        static double Position(AudioChunk c, double t)
        {
            return Math.Round((t - c.Time) * c.Rate, 6);
        }

        static float SampleAt(AudioChunk c, double pos)
        {
            int a = (int)pos;
            var s = c.Samples;
            if (a >= s.Length - 1) return s[s.Length - 1];
            float frac = (float)(pos - a);
            return s[a] + (s[a + 1] - s[a]) * frac;
        }
    }
}
