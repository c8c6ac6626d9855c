"""A fire-and-forget UDP sender shared by the Live Link Face and VMC sinks.

Why its own module: both protocols are one-way datagrams to a receiver that may not be running yet
(Unreal not started, VSeeFace closed). The engine's 25 fps clock must never wait on them and a missing
receiver must not raise once per frame, so sends are non-blocking, failures are counted and the first
one is logged once with the fix.
"""

from __future__ import annotations

import logging
import socket
import time

from af_plugin.sinks.base import SinkError

log = logging.getLogger(__name__)

RESOLVE_RETRY_S = 10.0
"""Seconds between name lookups when a sink that was never opened cannot resolve its host."""


def parse_target(target: str | None, default_host: str, default_port: int) -> tuple[str, int]:
    """``"HOST:PORT"``, ``"HOST"``, ``":PORT"`` or None → (host, port); a bad port raises SinkError."""
    if not target:
        return default_host, default_port
    text = target.strip()
    if text.startswith("[") and "]:" in text:  # [IPv6]:PORT
        host, port_text = text[1:].split("]:", 1)
    elif text.count(":") == 1:  # HOST:PORT or :PORT
        host, port_text = text.split(":")
    else:  # HOST or a bare IPv6 address
        return text.strip("[]") or default_host, default_port
    try:
        port = int(port_text)
    except ValueError as exc:
        raise SinkError(f"bad target {target!r}: port {port_text!r} is not a number (expected HOST:PORT)") from exc
    if not 0 < port < 65536:
        raise SinkError(f"bad target {target!r}: port {port} is outside 1..65535")
    return host or default_host, port


class UdpSender:
    """Non-blocking datagram sender to one address; counts failures instead of raising per packet."""

    def __init__(self, host: str, port: int, what: str):
        self.host, self.port, self.what = host, port, what
        self.sock: socket.socket | None = None
        self.address: tuple = (host, port)
        self.packets_sent = 0
        self.errors = 0
        self.last_error: str | None = None
        self._warned = False
        self._last_resolve = -float("inf")

    def open(self) -> None:
        if self.sock is not None:
            return
        try:
            infos = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_DGRAM)
        except OSError as exc:
            raise SinkError(
                f"{self.what}: cannot resolve host {self.host!r} ({exc}); check the target address"
            ) from exc
        family, _, _, _, self.address = infos[0]
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.setblocking(False)

    def send(self, payload: bytes) -> bool:
        """Send one datagram; False (and counted) when it could not leave this machine."""
        try:
            if self.sock is None:  # not opened first: resolve now (at most every RESOLVE_RETRY_S: DNS can block)
                if time.monotonic() - self._last_resolve < RESOLVE_RETRY_S:
                    raise SinkError(f"{self.what}: host {self.host!r} did not resolve; retrying later")
                self._last_resolve = time.monotonic()
                self.open()
            assert self.sock is not None
            self.sock.sendto(payload, self.address)
        except (OSError, SinkError) as exc:  # unreachable network, refused (ICMP), full buffer, bad host...
            self._failed(exc)
            return False
        self.packets_sent += 1
        return True

    def _failed(self, exc: Exception) -> None:
        self.errors += 1
        self.last_error = f"{type(exc).__name__}: {exc}"
        if not self._warned:
            self._warned = True
            log.warning(
                "%s: cannot send to %s:%d (%s); is the receiver running and the address right? "
                "Further errors are counted silently.",
                self.what, self.host, self.port, self.last_error,
            )  # fmt: skip

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
