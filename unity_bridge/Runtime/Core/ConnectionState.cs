namespace AvatarForcing.Core
{
    /// <summary>Where a MotionClient is in its connect → stream → reconnect cycle.</summary>
    public enum ConnectionState
    {
        Stopped,
        Connecting,
        /// <summary>Connected, waiting for the server's hello.</summary>
        Handshaking,
        /// <summary>Hello received and subscribed; frames flow.</summary>
        Streaming,
        /// <summary>Lost or refused; waiting out the back-off before the next attempt.</summary>
        WaitingToReconnect,
    }
}
