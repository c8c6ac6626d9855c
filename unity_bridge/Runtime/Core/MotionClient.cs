using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO;
using System.Net.WebSockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace AvatarForcing.Core
{
    /// <summary>
    /// Protocol-v1 websocket client of the Avatar Forcing runtime, with reconnect and back-off.
    ///
    /// Runs on background threads; results are queued and polled (TryGetFrame, TryGetMessage) so an
    /// engine can consume them on its main thread. Per connection: connect (Bearer token header) →
    /// wait for hello → map channels by name → subscribe → receive. Binary messages are frame records;
    /// text messages are JSON. A malformed message is counted, reported as a local "error" message and
    /// skipped; the connection stays up. Any connection failure waits out the back-off and retries until
    /// Stop.
    /// </summary>
    public sealed class MotionClient : IDisposable
    {
        readonly MotionClientOptions options;
        readonly Uri uri;
        readonly BackoffPolicy backoff;
        readonly Func<double> clock;
        readonly ConcurrentQueue<MotionFrame> frames = new ConcurrentQueue<MotionFrame>();
        readonly ConcurrentQueue<ServerMessage> messages = new ConcurrentQueue<ServerMessage>();
        readonly ConcurrentQueue<string> outgoing = new ConcurrentQueue<string>();
        readonly SemaphoreSlim outgoingSignal = new SemaphoreSlim(0);
        readonly object sync = new object();
        CancellationTokenSource stopSource;
        Task loop;
        int state;
        volatile HelloMessage hello;
        volatile string lastError;
        long framesReceived, malformed, reconnects, droppedFrames, connections, droppedSends;
        readonly byte[] receiveChunk = new byte[16384];
        bool receivedTooBig;
        long receivedBytes;
        int connection;

        public MotionClient(MotionClientOptions options)
        {
            this.options = options ?? new MotionClientOptions();
            uri = this.options.BuildUri();
            backoff = new BackoffPolicy(this.options.InitialBackoff, Math.Max(this.options.InitialBackoff, this.options.MaxBackoff));
            if (this.options.Clock != null) clock = this.options.Clock;
            else
            {
                var sw = Stopwatch.StartNew();
                clock = () => sw.Elapsed.TotalSeconds;
            }
        }

        public ConnectionState State { get { return (ConnectionState)Volatile.Read(ref state); } }
        /// <summary>The current connection's hello (null before the first).</summary>
        public HelloMessage Hello { get { return hello; } }
        public string LastError { get { return lastError; } }
        public long FramesReceived { get { return Interlocked.Read(ref framesReceived); } }
        public long MalformedMessages { get { return Interlocked.Read(ref malformed); } }
        /// <summary>Times the client went back to waiting after a failed or lost connection.</summary>
        public long Reconnects { get { return Interlocked.Read(ref reconnects); } }
        /// <summary>Successful handshakes so far.</summary>
        public long Connections { get { return Interlocked.Read(ref connections); } }
        public long DroppedFrames { get { return Interlocked.Read(ref droppedFrames); } }
        public long DroppedSends { get { return Interlocked.Read(ref droppedSends); } }
        /// <summary>The clock stamped into MotionFrame.ArrivalTime (seconds).</summary>
        public double Now { get { return clock(); } }

        public void Start()
        {
            lock (sync)
            {
                if (loop != null) return;
                stopSource = new CancellationTokenSource();
                var token = stopSource.Token;
                loop = Task.Run(() => RunAsync(token));
            }
        }

        /// <summary>Stop and wait (up to <paramref name="timeoutSeconds"/>) for the background loop to end.</summary>
        public void Stop(double timeoutSeconds = 5.0)
        {
            Task t;
            lock (sync)
            {
                if (loop == null) return;
                stopSource.Cancel();
                t = loop;
                loop = null;
            }
            try { t.Wait(TimeSpan.FromSeconds(timeoutSeconds)); }
            catch (AggregateException) { }
            SetState(ConnectionState.Stopped);
        }

        public void Dispose() { Stop(); }

        public bool TryGetFrame(out MotionFrame frame) { return frames.TryDequeue(out frame); }

        /// <summary>Non-motion messages: hello, audio, frame, error (server or local), and newer types.</summary>
        public bool TryGetMessage(out ServerMessage message) { return messages.TryDequeue(out message); }

        /// <summary>Queue a text message; false (and dropped) when not streaming.</summary>
        public bool SendText(string json)
        {
            if (State != ConnectionState.Streaming)
            {
                Interlocked.Increment(ref droppedSends);
                return false;
            }
            outgoing.Enqueue(json);
            outgoingSignal.Release();
            return true;
        }

        /// <summary>Push mono audio: role "user" (the person's microphone) or "avatar" (an NPC line to speak).</summary>
        public bool SendAudio(string role, float[] mono, int rate)
        {
            return SendText(ProtocolMessages.Audio(role, rate, mono, 0, mono.Length, options.Session));
        }

        public bool SendControl(string action)
        {
            return SendText(ProtocolMessages.Control(action, null, options.Session));
        }

        void SetState(ConnectionState s) { Volatile.Write(ref state, (int)s); }

        void Report(string code, string message)
        {
            lastError = message;
            messages.Enqueue(ServerMessage.LocalError(code, message));
        }

        async Task RunAsync(CancellationToken stop)
        {
            while (!stop.IsCancellationRequested)
            {
                SetState(ConnectionState.Connecting);
                try
                {
                    await ConnectAndReceiveAsync(stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    break;
                }
                catch (ProtocolException e)
                {
                    Report(e.Code, e.Message);
                }
                catch (Exception e)
                {
                    Report("connection", DescribeFailure(e));
                }
                if (stop.IsCancellationRequested) break;
                SetState(ConnectionState.WaitingToReconnect);
                Interlocked.Increment(ref reconnects);
                try { await Task.Delay(TimeSpan.FromSeconds(backoff.NextDelay()), stop).ConfigureAwait(false); }
                catch (OperationCanceledException) { break; }
            }
            SetState(ConnectionState.Stopped);
        }

        string DescribeFailure(Exception e)
        {
            var inner = e;
            while (inner.InnerException != null) inner = inner.InnerException;
            string why = inner == e ? e.Message : e.Message + " (" + inner.Message + ")";
            return "cannot reach the runtime at " + uri + ": " + why + ". Is `af run` started, and the token right?";
        }

        async Task ConnectAndReceiveAsync(CancellationToken stop)
        {
            using (var ws = new ClientWebSocket())
            using (var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(stop))
            using (var connectionDone = CancellationTokenSource.CreateLinkedTokenSource(stop))
            {
                if (!string.IsNullOrEmpty(options.Token))
                    ws.Options.SetRequestHeader("Authorization", "Bearer " + options.Token);
                connectTimeout.CancelAfter(TimeSpan.FromSeconds(options.ConnectTimeout));
                try
                {
                    await ws.ConnectAsync(uri, connectTimeout.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!stop.IsCancellationRequested)
                {
                    throw new TimeoutException("no answer within " + options.ConnectTimeout + " s");
                }
                SetState(ConnectionState.Handshaking);
                var buffer = new MemoryStream();

                // 1. hello
                WebSocketMessageType type = await ReceiveMessageAsync(ws, buffer, stop).ConfigureAwait(false);
                if (type == WebSocketMessageType.Close) throw new IOException("the server closed the connection before its hello");
                if (type != WebSocketMessageType.Text)
                    throw new ProtocolException("bad_message", "the server's first message must be a JSON hello");
                var first = ProtocolMessages.Parse(Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length), null);
                if (first.Type == "error")
                    throw new ProtocolException(first.ErrorCode, "the runtime refused the connection: " + first.ErrorMessage);
                if (first.Type != "hello")
                    throw new ProtocolException("bad_message", "expected hello first, got \"" + first.Type + "\"");
                var h = first.Hello;
                if (h.LayoutVersion != MotionChannels.LayoutVersion)
                    throw new ProtocolException("layout_mismatch", string.Format(
                        "the runtime sends channel layout {0}, this package knows {1}; update one of them",
                        h.LayoutVersion, MotionChannels.LayoutVersion));
                var layout = new ChannelLayout(h.Channels);
                hello = h;
                messages.Enqueue(first);

                // 2. subscribe, then stream
                await SendTextAsync(ws, ProtocolMessages.Subscribe(options.Streams, "binary", options.Session), stop).ConfigureAwait(false);
                SetState(ConnectionState.Streaming);
                connection = (int)Interlocked.Increment(ref connections);
                backoff.Reset();
                var sender = SendLoopAsync(ws, connectionDone.Token);
                try
                {
                    while (true)
                    {
                        type = await ReceiveMessageAsync(ws, buffer, stop).ConfigureAwait(false);
                        if (type == WebSocketMessageType.Close)
                        {
                            Report("closed", "the runtime closed the connection (" + ws.CloseStatus + " " + ws.CloseStatusDescription + ")");
                            try { await ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None).ConfigureAwait(false); }
                            catch (Exception) { }
                            return;
                        }
                        if (receivedTooBig)
                        {
                            Interlocked.Increment(ref malformed);
                            Report("too_big", "dropped a " + receivedBytes + "-byte message (limit " + options.MaxMessageBytes + ")");
                            continue;
                        }
                        Handle(type, buffer, layout);
                    }
                }
                finally
                {
                    connectionDone.Cancel();
                    try { await sender.ConfigureAwait(false); } catch (Exception) { }
                }
            }
        }

        void Handle(WebSocketMessageType type, MemoryStream buffer, ChannelLayout layout)
        {
            try
            {
                if (type == WebSocketMessageType.Binary)
                {
                    var frame = layout.Decode(buffer.ToArray(), (int)buffer.Length);
                    Deliver(frame);
                    return;
                }
                var msg = ProtocolMessages.Parse(Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length), layout);
                if (msg.Type == "motion") Deliver(msg.Motion);
                else
                {
                    if (msg.Type == "error") lastError = msg.ErrorCode + ": " + msg.ErrorMessage;
                    messages.Enqueue(msg);
                }
            }
            catch (ProtocolException e)
            {
                Interlocked.Increment(ref malformed);
                Report(e.Code, "rejected a malformed message: " + e.Message);
            }
        }

        void Deliver(MotionFrame frame)
        {
            frame.ArrivalTime = clock();
            frame.Connection = connection;
            frames.Enqueue(frame);
            Interlocked.Increment(ref framesReceived);
            MotionFrame dropped;
            while (frames.Count > options.QueueCapacity && frames.TryDequeue(out dropped))
                Interlocked.Increment(ref droppedFrames);
        }

        /// <summary>Receive one whole message into buffer; a message over MaxMessageBytes is drained and flagged.</summary>
        async Task<WebSocketMessageType> ReceiveMessageAsync(ClientWebSocket ws, MemoryStream buffer, CancellationToken stop)
        {
            buffer.SetLength(0);
            receivedTooBig = false;
            long total = 0;
            var chunk = new ArraySegment<byte>(receiveChunk);
            while (true)
            {
                var r = await ws.ReceiveAsync(chunk, stop).ConfigureAwait(false);
                if (r.MessageType == WebSocketMessageType.Close) return r.MessageType;
                total += r.Count;
                if (total > options.MaxMessageBytes)
                {
                    receivedTooBig = true; // keep reading to the end of the message, storing nothing
                    buffer.SetLength(0);
                }
                else buffer.Write(chunk.Array, 0, r.Count);
                if (r.EndOfMessage)
                {
                    receivedBytes = total;
                    return r.MessageType;
                }
            }
        }

        static Task SendTextAsync(ClientWebSocket ws, string text, CancellationToken ct)
        {
            var bytes = Encoding.UTF8.GetBytes(text);
            return ws.SendAsync(new ArraySegment<byte>(bytes), WebSocketMessageType.Text, true, ct);
        }

        async Task SendLoopAsync(ClientWebSocket ws, CancellationToken done)
        {
            while (!done.IsCancellationRequested)
            {
                try { await outgoingSignal.WaitAsync(done).ConfigureAwait(false); }
                catch (OperationCanceledException) { return; }
                string text;
                while (outgoing.TryDequeue(out text))
                {
                    try { await SendTextAsync(ws, text, done).ConfigureAwait(false); }
                    catch (Exception e)
                    {
                        Interlocked.Increment(ref droppedSends);
                        if (!done.IsCancellationRequested) lastError = "send failed: " + e.Message;
                        return;
                    }
                }
            }
        }
    }
}
