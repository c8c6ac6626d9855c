namespace AvatarForcing.Core
{
    /// <summary>A block of mono audio from the server (the avatar's delayed voice), timed on the motion clock.</summary>
    public sealed class AudioChunk
    {
        public string Role { get; private set; }
        /// <summary>Session time (s) of the first sample, on the same clock as MotionFrame.Time.</summary>
        public double Time { get; private set; }
        public int Rate { get; private set; }
        public float[] Samples { get; private set; }

        public AudioChunk(string role, double time, int rate, float[] samples)
        {
            Role = role;
            Time = time;
            Rate = rate;
            Samples = samples;
        }

        public double Duration { get { return Rate > 0 ? (double)Samples.Length / Rate : 0.0; } }
    }
}
