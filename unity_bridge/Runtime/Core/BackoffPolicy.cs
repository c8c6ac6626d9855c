using System;

namespace AvatarForcing.Core
{
    /// <summary>Exponential reconnect back-off with jitter: Initial, ×Factor per failure, capped at Max.</summary>
    public sealed class BackoffPolicy
    {
        readonly Random random;
        double next;

        public double Initial { get; private set; }
        public double Max { get; private set; }
        public double Factor { get; private set; }
        /// <summary>Each delay is randomised by ±Jitter (fraction) so many clients do not reconnect in lockstep.</summary>
        public double Jitter { get; private set; }

        public BackoffPolicy(double initial = 0.5, double max = 10.0, double factor = 2.0, double jitter = 0.2, int seed = 0)
        {
            if (initial <= 0 || max < initial || factor < 1 || jitter < 0 || jitter >= 1)
                throw new ArgumentException("back-off needs 0 < initial ≤ max, factor ≥ 1, 0 ≤ jitter < 1");
            Initial = initial;
            Max = max;
            Factor = factor;
            Jitter = jitter;
            random = seed == 0 ? new Random() : new Random(seed);
            next = initial;
        }

        /// <summary>The delay (s) before the next attempt; grows until Reset.</summary>
        public double NextDelay()
        {
            double d = next * (1.0 + Jitter * (2.0 * random.NextDouble() - 1.0));
            next = Math.Min(Max, next * Factor);
            return Math.Min(Max, d);
        }

        /// <summary>Call after a successful connection.</summary>
        public void Reset() { next = Initial; }
    }
}
