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
