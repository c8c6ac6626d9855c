using System;
using System.Collections.Generic;

namespace AvatarForcing.Core
{
    /// <summary>How a MotionClient connects and what it subscribes to.</summary>
    public sealed class MotionClientOptions
    {
        /// <summary>ws://host:port/ of the runtime (default ws://127.0.0.1:8765/).</summary>
        public string Url = "ws://127.0.0.1:8765/";
        /// <summary>Required when the runtime binds a non-loopback address; sent as "Authorization: Bearer".</summary>
        public string Token;
        public string Session = "default";
        /// <summary>Streams to subscribe: "motion" (always useful), "audio" (the avatar's delayed voice), "frames", "latent".</summary>
        public List<string> Streams = new List<string> { ProtocolMessages.StreamMotion };
        public double InitialBackoff = 0.5;
        public double MaxBackoff = 10.0;
        public double ConnectTimeout = 5.0;
        /// <summary>Largest message accepted (bytes); larger ones are dropped as malformed.</summary>
        public int MaxMessageBytes = 8 << 20;
        /// <summary>Received frames kept for the consumer; the oldest are dropped beyond this.</summary>
        public int QueueCapacity = 1024;
        /// <summary>Monotonic clock (s) used to stamp frame arrival; defaults to a Stopwatch.</summary>
        public Func<double> Clock;

        public Uri BuildUri()
        {
            Uri uri;
            if (!Uri.TryCreate(Url, UriKind.Absolute, out uri) || (uri.Scheme != "ws" && uri.Scheme != "wss"))
                throw new ArgumentException("runtime URL must look like ws://host:8765/, got \"" + Url + "\"");
            return uri;
        }
    }
}
