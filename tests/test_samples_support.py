"""Helpers (no tests here) shared by the samples, quick-start, fault and security tests: a REAL ``af run``
subprocess on a free port, and real UDP receivers.

The timeouts below only stop a hung test; nothing asserts on how long anything took.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples"
HANG_GUARD_S = 240.0  # a safety net against a hung child, never a performance limit


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env.update(extra)
    return env


class AfRun:
    """``python -m af_plugin run ARGS`` with its output captured line by line.

    ``ws=True`` adds ``--ws 127.0.0.1:0`` (a free port) unless ARGS give ``--ws``; ``url`` is read from the
    ``websocket: ws://...`` line the runtime prints when it is ready.
    """

    def __init__(self, *args: str, ws: bool = True, env: dict[str, str] | None = None, command: str = "run",
                 cwd: Path = REPO) -> None:  # fmt: skip
        argv = [sys.executable, "-m", "af_plugin", command, *args]
        if ws and "--ws" not in args and "--no-ws" not in args:
            argv += ["--ws", "127.0.0.1:0"]
        self.argv = argv
        self.lines: list[str] = []
        self._cv = threading.Condition()
        self.proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     env=env or child_env(), bufsize=1)  # fmt: skip
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.url: str | None = None

    def _read(self) -> None:
        for line in self.proc.stdout:
            with self._cv:
                self.lines.append(line.rstrip("\n"))
                self._cv.notify_all()
        with self._cv:
            self._cv.notify_all()

    @property
    def output(self) -> str:
        with self._cv:
            return "\n".join(self.lines)

    def wait_for(self, pattern: str, start: int = 0) -> re.Match:
        """Block until a line matching ``pattern`` (regex) is printed; fail if the process ends first."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + HANG_GUARD_S
        seen = start
        with self._cv:
            while True:
                for line in self.lines[seen:]:
                    m = rx.search(line)
                    if m:
                        return m
                seen = len(self.lines)
                if self.proc.poll() is not None and not self._reader.is_alive():
                    raise AssertionError(f"af exited ({self.proc.returncode}) before {pattern!r}:\n{self.output}")
                if time.monotonic() > deadline:
                    raise AssertionError(f"af hung before {pattern!r}:\n{self.output}")
                self._cv.wait(0.5)

    def ready(self) -> AfRun:
        m = self.wait_for(r"websocket: (ws://\S+)")
        self.url = m.group(1)
        self.wait_for(r"^running;")
        return self

    def stop(self, sig: int = signal.SIGINT) -> int:
        """Send ``sig`` (default Ctrl+C) and wait for the process to exit; returns its exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.wait()

    def wait(self) -> int:
        try:
            rc = self.proc.wait(HANG_GUARD_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"af did not exit:\n{self.output}") from None
        self._reader.join(10)
        return rc

    def __enter__(self) -> AfRun:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def run_sample(name: str, *args: str, timeout: float = HANG_GUARD_S) -> subprocess.CompletedProcess:
    """Run ``samples/NAME`` with this interpreter; fails the test with its output if it exits non-zero."""
    proc = subprocess.run([sys.executable, str(SAMPLES / name), *args], cwd=REPO, capture_output=True, text=True,
                          env=child_env(), timeout=timeout)  # fmt: skip
    assert proc.returncode == 0, f"{name} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc


class UdpReceiver:
    """A real UDP socket on a free loopback port that collects every datagram on a thread."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.target = f"127.0.0.1:{self.port}"
        self.packets: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data, _ = self.sock.recvfrom(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            self.packets.append(data)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()

    def __enter__(self) -> UdpReceiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """The real Engine + WebSocketServer in this process, on an asyncio loop in a thread, on a free port.

    It runs the procedural stand-in generator (cheap and deterministic): the protocol, queues, clock and
    sessions are the runtime's own. ``server_kw`` go to WebSocketServer (queue_messages, token, ...).
    """

    def __init__(self, *, sessions: dict[str, dict] | None = None, realtime: bool = True, **server_kw) -> None:
        import asyncio

        from af_plugin.runtime.engine import Engine
        from af_plugin.runtime.generator import GeneratorInfo
        from af_plugin.runtime.standin import StandInGenerator
        from af_plugin.sinks.websocket import WebSocketServer

        gen = StandInGenerator.load(block_size=2, lookahead=1)
        self.engine = Engine(gen, GeneratorInfo("stand-in", None, 2, 1, "test server"), realtime=realtime,
                             max_sessions=server_kw.pop("max_sessions", 8))  # fmt: skip
        for name, inputs in (sessions or {"default": {}}).items():
            self.engine.add_session(name, **inputs)
        server_kw.setdefault("port", 0)
        self.server = WebSocketServer(self.engine, **server_kw)
        self._ready = threading.Event()
        self.error: BaseException | None = None

        async def main() -> None:
            try:
                await self.server.start()
                self.engine.add_sink(self.server)
                self.loop = asyncio.get_running_loop()
                self._ready.set()
                await self.engine.run(None, stop_when_finished=False)
            except BaseException as e:  # noqa: BLE001 - reported by stop()
                self.error = e
            finally:
                self._ready.set()
                await self.server.stop()

        self._thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
        self._thread.start()
        self._ready.wait(HANG_GUARD_S)
        if self.error is not None:
            raise self.error

    @property
    def url(self) -> str:
        return self.server.url

    def call(self, fn, *args):
        """Run ``fn(*args)`` on the server's loop thread and return its result."""
        import concurrent.futures

        fut: concurrent.futures.Future = concurrent.futures.Future()

        def run() -> None:
            try:
                fut.set_result(fn(*args))
            except BaseException as e:  # noqa: BLE001
                fut.set_exception(e)

        self.loop.call_soon_threadsafe(run)
        return fut.result(HANG_GUARD_S)

    def stop(self) -> None:
        self.engine.request_stop()
        self._thread.join(HANG_GUARD_S)
        self.engine.close()
        if self.error is not None:
            raise self.error

    def __enter__(self) -> LiveServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class MotionWatcher:
    """A healthy client on its own thread: subscribes to motion (binary) and records every frame index."""

    def __init__(self, url: str, session: str = "default", fmt: str = "binary") -> None:
        import json

        from websockets.sync.client import connect

        self.ws = connect(url, max_size=None, open_timeout=HANG_GUARD_S)
        self.hello = json.loads(self.ws.recv())
        self.ws.send(json.dumps({"type": "subscribe", "session": session, "streams": ["motion"], "format": fmt}))
        self.indices: list[int] = []
        self.arrivals: list[float] = []
        self.closed_code: int | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import json

        from websockets.exceptions import ConnectionClosed

        from af_plugin.motion.codecs.afm import decode_frame

        try:
            for message in self.ws:
                if isinstance(message, bytes):
                    self.indices.append(decode_frame(message)[0])
                else:
                    msg = json.loads(message)
                    if msg["type"] == "motion":
                        self.indices.append(msg["frame"])
                    else:
                        continue
                self.arrivals.append(time.perf_counter())
        except ConnectionClosed:
            pass
        self.closed_code = self.ws.close_code  # iteration ends quietly on a normal close (1000/1001)

    def wait_frames(self, n: int) -> None:
        """Block until ``n`` more frames arrived (hang guard only)."""
        target = len(self.indices) + n
        deadline = time.monotonic() + HANG_GUARD_S
        while len(self.indices) < target:
            assert self._thread.is_alive(), f"watcher closed ({self.closed_code})"
            assert time.monotonic() < deadline, "no frames arrive"
            time.sleep(0.02)

    @property
    def gaps(self) -> int:
        import numpy as np

        d = np.diff(self.indices)
        assert (d > 0).all(), "frames out of order"
        return int(np.sum(d - 1))

    def close(self) -> None:
        self.ws.close()
        self._thread.join(5)
