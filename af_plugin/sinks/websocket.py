"""The websocket server (protocol v1, docs/protocol.md) plus HTTP for the preview page and the OBS overlay.

I/O only: parsing, validation and message building live in ``af_plugin.protocol``. Each client has a
bounded outgoing queue drained by its own writer task; a client that cannot keep up loses its oldest
messages and, once its queue has stayed full for ``slow_client_s``, is disconnected with close code 1008 and
a reason. The engine's clock and the other clients never wait for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import socket
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from af_plugin.errors import ProtocolError
from af_plugin.protocol import messages as proto
from af_plugin.protocol.access import (
    content_type,
    host_ok,
    origin_ok,
    resolve_static,
    token_from_request,
    token_ok,
)
from af_plugin.protocol.messages import AudioPush, Control, Ping, Subscribe, parse_client_message
from af_plugin.sinks.base import MotionFrame, Sink, register_sink

log = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent.parent
REPO_DIR = PACKAGE_DIR.parent
DEFAULT_STATIC = {
    "/": PACKAGE_DIR / "web" / "preview.html",
    "/overlay/": REPO_DIR / "obs_integration" / "overlay",
    "/web/": PACKAGE_DIR / "web",
}
"""URL prefix → file/folder served over HTTP on the websocket port."""

_SECRET = re.compile(r"(token=)[^&\s]*|(bearer\s+)\S+", re.IGNORECASE)


class _RedactingLogger(logging.LoggerAdapter):
    """websockets logs request lines and headers at DEBUG; the token must never reach a log."""

    def log(self, level, msg, *args, **kwargs):
        if self.isEnabledFor(level):
            text = str(msg) % args if args else str(msg)
            text = _SECRET.sub(lambda m: (m.group(1) or m.group(2)) + "<redacted>", text)
            self.logger.log(level, "%s", text, **{k: v for k, v in kwargs.items() if k in ("exc_info", "stack_info")})


MAX_MESSAGES_PER_S = 1000
"""Client messages per second (per connection) handled; beyond that they are dropped with one rate_limited error."""
ABUSE_WINDOW_S = 10.0
ABUSE_ERRORS = 200
"""More protocol errors than this within the window closes the connection (1008)."""


@dataclass(eq=False)
class _Client:
    ws: ServerConnection
    queue: deque = field(default_factory=deque)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    subs: dict[str, tuple[frozenset[str], str]] = field(default_factory=dict)  # session → (streams, format)
    full_since: float | None = None
    dropped: int = 0
    errors: deque = field(default_factory=deque)
    closing: bool = False
    window_start: float = 0.0
    window_count: int = 0


class WebSocketServer(Sink):
    """Serves protocol v1 on ``ws://host:port/`` and static pages on ``http://host:port/``.

    ``send`` is called by the engine on the event loop thread for every frame of every session.
    """

    name = "websocket"

    def __init__(self, engine, *, host: str = "127.0.0.1", port: int = 8765, token: str | None = None,
                 allowed_origins: list[str] | None = None, max_message_bytes: int = 1 << 20,
                 static: dict[str, Path] | None = None, queue_messages: int = 256, slow_client_s: float = 2.0,
                 send_buffer_bytes: int = 256 * 1024, max_clients: int = 128, render_cfg=None,
                 status_interval_s: float = 1.0, session_idle_s: float = 60.0) -> None:  # fmt: skip
        from af_plugin.protocol.access import check_bind

        check_bind(host, token)
        self.engine = engine
        self.host, self.port = host, port
        self._token = token
        self.allowed_origins = list(allowed_origins or [])
        self.max_message_bytes = max_message_bytes
        self.static = dict(DEFAULT_STATIC if static is None else static)
        self.queue_messages = queue_messages
        self.slow_client_s = slow_client_s
        self.send_buffer_bytes = send_buffer_bytes
        self.max_clients = max_clients
        self.status_interval_s = status_interval_s
        self.session_idle_s = session_idle_s
        self._gc_task: asyncio.Task | None = None
        self.clients: set[_Client] = set()
        self.disconnected_slow = 0
        self._server = None
        self._render_cfg = render_cfg
        self._frames = None
        self._frames_error: str | None = None
        self._last_status: dict[str, float] = {}
        self._last_sent: dict[str, int] = {}

    # --- lifecycle --------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ws://{host}:{self.port}/"

    @property
    def http_url(self) -> str:
        return "http" + self.url[2:]

    async def start(self) -> None:
        self._server = await serve(
            self._handle, self.host, self.port, process_request=self._process_request,
            max_size=self.max_message_bytes, max_queue=32, compression=None, close_timeout=1.0,
            ping_interval=20, ping_timeout=20, server_header="af_plugin",
            logger=_RedactingLogger(logging.getLogger("websockets.server"), {}),
        )  # fmt: skip
        self.port = self._server.sockets[0].getsockname()[1]
        self._setup_frames()
        self._gc_task = asyncio.get_running_loop().create_task(self._collect_idle_sessions())

    async def _collect_idle_sessions(self) -> None:
        """Close sessions that clients created and then left: nobody subscribed, no audio, no control."""
        while True:
            await asyncio.sleep(min(5.0, self.session_idle_s / 2))
            now = time.perf_counter()
            watched = {name for c in self.clients for name in c.subs}
            for name, sess in list(self.engine.sessions.items()):
                if sess.client_created and name not in watched and now - sess.last_activity > self.session_idle_s:
                    log.info("closing idle session %r", name)
                    self.engine.remove_session(name)

    async def stop(self) -> None:
        if self._gc_task is not None:
            self._gc_task.cancel()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 3)
            self._server = None
        if self._frames is not None:
            self._frames.close()

    def close(self) -> None:
        if self._frames is not None:
            self._frames.close()

    def _setup_frames(self) -> None:
        from af_plugin.sinks.websocket_frames import JpegFrameWorker, renderer_factory

        if self._render_cfg is None:
            from af_plugin.config import RenderConfig

            self._render_cfg = RenderConfig(width=256, height=256)
        factory = renderer_factory(self._render_cfg)
        if factory is None:
            self._frames_error = "af_plugin.render is not available on this install"
            return
        loop = asyncio.get_running_loop()
        self._frames = JpegFrameWorker(factory, self._deliver_jpeg, loop.call_soon_threadsafe)

    @property
    def streams_available(self) -> list[str]:
        frames_ok = self._frames is not None and self._frames.error is None
        return [s for s in proto.STREAMS if s != "frames" or frames_ok]

    # --- HTTP side ----------------------------------------------------------------------------------------
    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        headers = request.headers
        offered = token_from_request(request.path, {"authorization": headers.get("Authorization", "")})
        if not token_ok(self._token, offered):
            return connection.respond(
                401, "a token is required: ws://HOST:PORT/?token=... or 'Authorization: Bearer ...'\n"
            )
        if not host_ok(headers.get("Host"), self._token):
            return connection.respond(
                403, "this server answers only requests to localhost/127.0.0.1 unless it has a token\n"
            )
        if "websocket" in headers.get("Upgrade", "").lower():
            if not origin_ok(headers.get("Origin"), self.allowed_origins):
                return connection.respond(403, "this Origin is not allowed; add it to server.allowed_origins\n")
            if len(self.clients) >= self.max_clients:
                return connection.respond(503, f"server is full ({self.max_clients} clients)\n")
            return None
        if request.path.split("?")[0] == "/status.json":
            return self._response(200, json.dumps(self.server_status()).encode(), "application/json")
        path = resolve_static(request.path, self.static)
        if path is None:
            return connection.respond(404, "not found\n")
        try:
            body = path.read_bytes()
        except OSError:
            return connection.respond(404, "not found\n")
        return self._response(200, body, content_type(path))

    @staticmethod
    def _response(status: int, body: bytes, kind: str) -> Response:
        headers = Headers([
            ("Content-Type", kind), ("Content-Length", str(len(body))), ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"), ("Connection", "close"),
        ])  # fmt: skip
        return Response(status, "OK" if status == 200 else "Error", headers, body)

    def server_status(self) -> dict:
        return {
            "clients": len(self.clients),
            "disconnected_slow": self.disconnected_slow,
            "sessions": {name: self.engine.session_status(name) for name in self.engine.sessions},
        }

    # --- websocket side -----------------------------------------------------------------------------------
    async def _handle(self, ws: ServerConnection) -> None:
        sock = ws.transport.get_extra_info("socket")
        if sock is not None and self.send_buffer_bytes:
            with contextlib.suppress(OSError):  # a bounded kernel buffer bounds how stale queued frames get
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.send_buffer_bytes)
        client = _Client(ws)
        self.clients.add(client)
        writer = asyncio.create_task(self._writer(client))
        try:
            self._enqueue(client, self._hello())
            async for message in ws:
                self._on_message(client, message)
        except ConnectionClosed:
            pass
        finally:
            self.clients.discard(client)
            writer.cancel()

    def _hello(self) -> str:
        default = next(iter(self.engine.sessions), "default")
        return proto.hello(default, model=self.engine.info.as_dict(), sessions=list(self.engine.sessions),
                           streams_available=self.streams_available,
                           server={"max_message_bytes": self.max_message_bytes, "queue_messages": self.queue_messages,
                                   "latency_ms": self.engine.session_status(default)["latency_ms"]
                                   if default in self.engine.sessions else {}})  # fmt: skip

    async def _writer(self, client: _Client) -> None:
        ws = client.ws
        try:
            while True:
                if not client.queue:
                    client.wake.clear()
                    await client.wake.wait()
                    continue
                message, frame = client.queue.popleft()
                await ws.send(message)
                if frame is not None and frame.index > self._last_sent.get(frame.session, -1):
                    self._last_sent[frame.session] = frame.index
                    sess = self.engine.sessions.get(frame.session)
                    if sess is not None:
                        sess.stats.add_sent(frame.stamps, time.perf_counter())
        except (ConnectionClosed, asyncio.CancelledError):
            pass

    def _enqueue(self, client: _Client, message: str | bytes, frame: MotionFrame | None = None) -> None:
        if client.closing:
            return
        if len(client.queue) >= self.queue_messages:
            client.queue.popleft()  # drop the oldest: fresh motion beats stale motion
            client.dropped += 1
            now = time.perf_counter()
            if client.full_since is None:
                client.full_since = now
            elif now - client.full_since > self.slow_client_s:
                self._disconnect(client, 1008, f"client too slow: queue full for {self.slow_client_s:g} s, "
                                               f"{client.dropped} messages dropped")  # fmt: skip
                return
        else:
            client.full_since = None
        client.queue.append((message, frame))
        client.wake.set()

    def _disconnect(self, client: _Client, code: int, reason: str) -> None:
        if client.closing:
            return
        client.closing = True
        client.queue.clear()
        if code == 1008 and reason.startswith("client too slow"):
            self.disconnected_slow += 1
        log.info("closing client %s: %s", client.ws.remote_address, reason)

        async def close() -> None:
            try:
                await asyncio.wait_for(client.ws.close(code, reason[:120]), 2.0)
            except Exception:  # noqa: BLE001 - a stalled peer (timeout) or a broken one: cut it
                client.ws.transport.abort()

        asyncio.get_running_loop().create_task(close())

    def _error(self, client: _Client, code: str, message: str) -> None:
        now = time.perf_counter()
        client.errors.append(now)
        while client.errors and now - client.errors[0] > ABUSE_WINDOW_S:
            client.errors.popleft()
        if len(client.errors) > ABUSE_ERRORS:
            self._disconnect(client, 1008, f"too many protocol errors ({ABUSE_ERRORS} in {ABUSE_WINDOW_S:g} s)")
            return
        self._enqueue(client, proto.error(code, message))

    def _on_message(self, client: _Client, message: str | bytes) -> None:
        now = time.perf_counter()
        if now - client.window_start >= 1.0:
            client.window_start, client.window_count = now, 0
        client.window_count += 1
        if client.window_count > MAX_MESSAGES_PER_S:
            if client.window_count == MAX_MESSAGES_PER_S + 1:
                self._error(client, "rate_limited", f"more than {MAX_MESSAGES_PER_S} messages in a second; "
                                                    "the rest of this second's messages are dropped")  # fmt: skip
            return
        try:
            request = parse_client_message(message)
            if isinstance(request, Subscribe):
                self._subscribe(client, request)
            elif isinstance(request, AudioPush):
                self._audio(request)
            elif isinstance(request, Control):
                self._control(client, request)
            elif isinstance(request, Ping):
                self._enqueue(client, proto.pong(request.id))
        except ProtocolError as e:
            self._error(client, e.code, str(e))

    def _session(self, name: str, create: bool = True):
        from af_plugin.runtime.engine import TooManySessions

        try:
            sess = self.engine.session(name, create=create)
            sess.last_activity = time.perf_counter()
            return sess
        except TooManySessions as e:
            raise ProtocolError("too_many_sessions", str(e)) from None
        except KeyError:
            raise ProtocolError(
                "bad_field", f"no session named {name!r}; sessions: {', '.join(self.engine.sessions)}"
            ) from None

    def _subscribe(self, client: _Client, req: Subscribe) -> None:
        self._session(req.session)
        streams = set(req.streams)
        if "frames" in streams and "frames" not in self.streams_available:
            streams.discard("frames")
            why = self._frames_error or (self._frames.error if self._frames else None) or "no renderer"
            self._error(client, "unavailable", f"the 'frames' stream is unavailable: {why}")
        if streams:
            client.subs[req.session] = (frozenset(streams), req.format)
        else:
            client.subs.pop(req.session, None)
        self._enqueue(client, proto.subscribed(req.session, tuple(s for s in req.streams if s in streams), req.format))
        if "status" in streams:
            self._enqueue(client, proto.status(req.session, **self.engine.session_status(req.session)))

    def _audio(self, req: AudioPush) -> None:
        sess = self._session(req.session)
        try:
            inp = sess.push_input(req.role)
        except ValueError as e:
            raise ProtocolError("unavailable", str(e)) from None
        try:
            inp.push(req.samples, req.rate)
        except OverflowError as e:
            raise ProtocolError("audio_overflow", f"{req.role} audio of session {req.session!r}: {e}") from None

    def _control(self, client: _Client, req: Control) -> None:
        self._session(req.session, create=False)
        if req.action == "status":
            self._enqueue(client, proto.status(req.session, **self.engine.session_status(req.session)))
            return
        try:
            state = self.engine.control(req.session, req.action, req.params)
        except NotImplementedError as e:
            raise ProtocolError("unavailable", str(e)) from None
        extra = {"scope": self.engine.guidance_scope} if req.action == "guidance" else {}
        self._enqueue(
            client, proto.ack(req.action, req.session, paused=state["paused"], guidance=state["guidance"], **extra)
        )

    # --- engine side --------------------------------------------------------------------------------------
    def send(self, frame: MotionFrame) -> None:
        cache: dict[str, str | bytes] = {}
        want_frames = False
        for client in self.clients:
            sub = client.subs.get(frame.session)
            if sub is None:
                continue
            streams, fmt = sub
            if "motion" in streams:
                key = "motion_" + fmt
                if key not in cache:
                    cache[key] = (proto.motion_binary(frame.index, frame.t, frame.values, frame.flags) if fmt == "binary"
                                  else proto.motion_json(frame.index, frame.t, frame.values, frame.session, frame.flags))  # fmt: skip
                self._enqueue(client, cache[key], frame)
            if "latent" in streams and frame.latent is not None:
                if "latent" not in cache:
                    cache["latent"] = proto.latent_json(frame.index, frame.t, frame.latent, frame.session)
                self._enqueue(client, cache["latent"])
            if "audio" in streams and frame.audio is not None:
                if "audio" not in cache:
                    cache["audio"] = proto.audio_json(frame.index, frame.t, frame.audio, frame.session)
                self._enqueue(client, cache["audio"])
            want_frames = want_frames or "frames" in streams
        if want_frames and self._frames is not None:
            self._frames.submit(frame)
        now = time.perf_counter()
        if now - self._last_status.get(frame.session, 0.0) >= self.status_interval_s:
            self._last_status[frame.session] = now
            status = None
            for client in self.clients:
                sub = client.subs.get(frame.session)
                if sub is not None and "status" in sub[0]:
                    status = status or proto.status(frame.session, **self.engine.session_status(frame.session))
                    self._enqueue(client, status)

    def _deliver_jpeg(self, frame: MotionFrame, jpeg: bytes) -> None:
        message = proto.frame_json(frame.index, frame.t, jpeg, frame.session)
        for client in list(self.clients):
            sub = client.subs.get(frame.session)
            if sub is not None and "frames" in sub[0]:
                self._enqueue(client, message)


register_sink("websocket", WebSocketServer)
