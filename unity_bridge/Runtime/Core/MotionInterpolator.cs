using System;

namespace AvatarForcing.Core
{
    /// <summary>
    /// Linear interpolation between two motion frames, to turn the 25 fps stream into values for any
    /// render rate. Linear is right for blendshape weights and adequate for the small head and eye angles
    /// of the contract (|angle| ≤ π/2 and π/4); frames without a face are held, not blended.
    /// </summary>
    public static class MotionInterpolator
    {
        /// <summary>output = a + (b − a)·alpha, alpha clamped to 0..1.</summary>
        public static void Lerp(float[] a, float[] b, double alpha, float[] output)
        {
            if (alpha < 0) alpha = 0; else if (alpha > 1) alpha = 1;
            float t = (float)alpha;
            int n = Math.Min(output.Length, Math.Min(a.Length, b.Length));
            for (int i = 0; i < n; i++) output[i] = a[i] + (b[i] - a[i]) * t;
        }

        /// <summary>Values at session time <paramref name="time"/> between frames a (earlier) and b (later).</summary>
        public static void Between(MotionFrame a, MotionFrame b, double time, float[] output)
        {
            double span = b.Time - a.Time;
            if (span <= 0 || !a.HasFace || !b.HasFace)
            {
                var nearest = (time - a.Time) <= (b.Time - time) ? a : b;
                Array.Copy(nearest.Values, output, Math.Min(output.Length, nearest.Values.Length));
                return;
            }
            Lerp(a.Values, b.Values, (time - a.Time) / span, output);
        }
    }
}
