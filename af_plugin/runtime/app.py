"""Assemble a running runtime from a Config: generator, engine, default session, outputs; run it; finalise.

Shared by ``af run``, ``af demo``, the tests and the benchmark, so all of them exercise the same wiring.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from af_plugin.config import Config
from af_plugin.errors import ConfigError
from af_plugin.runtime.engine import Engine
from af_plugin.runtime.generator import load_generator
from af_plugin.runtime.sources import make_audio_input
from af_plugin.runtime.threaded import ThreadedSink
from af_plugin.sinks.base import Sink

log = logging.getLogger(__name__)


def parse_hostport(text: str, default_host: str, default_port: int, key: str) -> tuple[str, int]:
    """``HOST:PORT``, ``:PORT``, ``HOST`` or ``[::1]:PORT`` → (host, port)."""
    text = text.strip()
    host, port = text, str(default_port)
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.lstrip(":") or port
    elif text.count(":") == 1:
        host, port = text.split(":")
    host = host or default_host
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(key, f"{text!r} is not HOST:PORT with a port in 0..65535")
    return host, int(port)


@dataclass
class App:
    cfg: Config
    engine: Engine
    server: object | None = None  # WebSocketServer
    outputs: list[tuple[str, Sink]] = field(default_factory=list)  # (where it goes, sink)

    def describe(self) -> list[str]:
        lines = [f"model: {self.engine.info.kind}"
                 + (f" ({self.engine.info.checkpoint})" if self.engine.info.checkpoint else "")
                 + (f" - {self.engine.info.note}" if self.engine.info.note else "")]  # fmt: skip
        for sess in self.engine.sessions.values():
            for role, inp in sess.audio.items():
                lines.append(
                    f"{role} audio: {inp.describe if inp is not None else 'none (websocket clients may push it)'}"
                )
            lines.append(f"user motion: {sess.video.describe if sess.video is not None else 'none'}")
        if self.server is not None:
            lines.append(f"websocket: {self.server.url}  (preview page: {self.server.http_url})")
        lines.extend(f"{sink.name}: {where}" for where, sink in self.outputs)
        return lines


def build_app(cfg: Config, *, extra_sinks: list[tuple[str, Sink]] = (), allow_standin: bool = True) -> App:
    """Load the generator, start the default session's inputs and open every configured output."""
    if cfg.outputs.ws:
        from af_plugin.protocol.access import check_bind

        check_bind(cfg.server.host, cfg.server.token)  # before anything slow is loaded
    gen, info = load_generator(cfg.model, allow_standin=allow_standin)
    engine = Engine(gen, info, realtime=cfg.sources.realtime, seed=cfg.model.seed,
                    max_sessions=cfg.server.max_sessions)  # fmt: skip
    from af_plugin.runtime.video import make_video_input

    engine.add_session(
        "default",
        user_audio=make_audio_input(cfg.sources.user_audio, loop=cfg.sources.loop),
        avatar_audio=make_audio_input(cfg.sources.avatar_audio, loop=cfg.sources.loop),
        user_video=make_video_input(cfg.sources.user_video, loop=cfg.sources.loop, realtime=cfg.sources.realtime),
    )
    app = App(cfg, engine)
    try:
        for where, sink in [*_configured_outputs(cfg), *extra_sinks]:
            threaded = ThreadedSink(sink, lossless=getattr(sink, "lossless", False))
            threaded.open()
            if getattr(sink, "camera_name", None):
                where = f"virtual camera {sink.camera_name!r}"
            engine.add_sink(threaded)
            app.outputs.append((where, threaded))
    except BaseException:
        close_outputs(app)
        raise
    return app


def _configured_outputs(cfg: Config) -> list[tuple[str, Sink]]:
    from af_plugin.constants import DEFAULT_HOST, LIVELINK_PORT, VMC_PORT

    out = []
    o = cfg.outputs
    if o.livelink:
        from af_plugin.sinks.livelink import LiveLinkSink

        host, port = parse_hostport(o.livelink, DEFAULT_HOST, LIVELINK_PORT, "outputs.livelink")
        sink = LiveLinkSink.from_config(replace(o, livelink=f"{host}:{port}"))
        out.append((f"udp://{host}:{port} (Live Link Face subject {o.livelink_subject!r})", sink))
    if o.vmc:
        from af_plugin.sinks.vmc import VmcSink

        host, port = parse_hostport(o.vmc, DEFAULT_HOST, VMC_PORT, "outputs.vmc")
        vmc = VmcSink.from_config(replace(o, vmc=f"{host}:{port}"))
        out.append((f"udp://{host}:{port} (VMC/OSC)", vmc))
    if o.vcam:
        from af_plugin.sinks.vcam import VirtualCameraSink

        cam = VirtualCameraSink(cfg.render)
        out.append(("virtual camera (device named when it opens)", cam))
    if o.record:
        from af_plugin.sinks.recorder import RecorderSink

        rec = RecorderSink(o.record, cfg.render)
        out.append((", ".join(str(p) for p in rec.paths), rec))
    return out


def detach_output(app: App, sink: Sink) -> None:
    """Stop feeding one output and close it (e.g. finalise a recording while the server keeps serving)."""
    if sink in app.engine.sinks:
        app.engine.sinks.remove(sink)
    app.outputs = [(w, s) for w, s in app.outputs if s is not sink]
    sink.close()


def close_outputs(app: App) -> None:
    for _, sink in app.outputs:
        try:
            sink.close()
        except Exception as e:  # noqa: BLE001 - close the rest; report this one
            log.error("closing %s failed: %s", sink.name, e)


async def run_app(app: App, *, duration: float | None = None, stop_when_finished: bool = True,
                  on_ready: Callable[[App], None] | None = None, on_finished: Callable[[App], None] | None = None,
                  handle_signals: bool = True) -> None:  # fmt: skip
    """Start the websocket server (if configured), run the clock until done, then finalise every output."""
    from af_plugin.sinks.websocket import WebSocketServer

    cfg = app.cfg
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, app.engine.warmup)
    if cfg.outputs.ws and app.server is None:
        server = WebSocketServer(app.engine, host=cfg.server.host, port=cfg.server.port, token=cfg.server.token,
                                 allowed_origins=cfg.server.allowed_origins,
                                 max_message_bytes=cfg.server.max_message_bytes, render_cfg=cfg.render,
                                 queue_messages=cfg.server.queue_messages, slow_client_s=cfg.server.slow_client_s,
                                 send_buffer_bytes=cfg.server.send_buffer_bytes,
                                 session_idle_s=cfg.server.session_idle_s)  # fmt: skip
        try:
            await server.start()
        except OSError as e:
            raise ConfigError("server.port", f"cannot listen on {cfg.server.host}:{cfg.server.port} ({e.strerror or e}); "
                              "pick another with --ws HOST:PORT") from None  # fmt: skip
        app.server = server
        app.engine.add_sink(server)
    installed = []
    if handle_signals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, app.engine.request_stop)
                installed.append(sig)
    try:
        if on_ready is not None:
            on_ready(app)
        await app.engine.run(duration, stop_when_finished=stop_when_finished,
                             on_finished=None if on_finished is None else lambda: on_finished(app))  # fmt: skip
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
        if app.server is not None:
            await app.server.stop()
        await loop.run_in_executor(None, close_outputs, app)
        app.engine.close()
