using System;

namespace AvatarForcing.Core
{
    /// <summary>
    /// A message broke protocol v1 (wrong size, bad JSON, NaN values, foreign layout...). Code is the
    /// machine-readable reason ("bad_frame", "bad_json", "layout_mismatch", or the server's error code).
    /// </summary>
    public class ProtocolException : Exception
    {
        public string Code { get; private set; }

        public ProtocolException(string code, string message) : base(message)
        {
            Code = code;
        }
    }
}
