"""What every output shares: the frame it receives, the small Sink shape, and a registry by name.

Like pyvirtualcam's backends, sinks are chosen by name; each failure names what to install or start.
A sink's ``send`` must return quickly (queue, drop or fail fast): the engine's clock never waits on it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from af_plugin.errors import AFError


@dataclass(frozen=True)
class MotionFrame:
    """One decoded motion-contract frame leaving the runtime.

    ``values`` is float32 in ``CHANNELS`` order; ``t`` is seconds since the session started
    (``index / FPS`` for generated frames); ``latent`` is the model's internal latent when available.
    """

    index: int
    t: float
    values: np.ndarray
    session: str = "default"
    flags: int = 0
    latent: np.ndarray | None = None
    stamps: dict[str, float] = field(default_factory=dict)
    """Monotonic times (time.perf_counter) of pipeline stages, for latency measurement."""
    audio: np.ndarray | None = None
    """The avatar's own voice for this frame (640 float32 samples at 16 kHz), when it has one."""


class SinkError(AFError):
    """A sink could not open or send; the message says what to install or start."""


class Sink:
    """An output. Subclasses set ``name`` and implement ``send``; ``open``/``close`` are optional."""

    name: str = "sink"

    def open(self) -> None:
        """Acquire sockets/devices/files. Raise SinkError with the fix when impossible."""

    def send(self, frame: MotionFrame) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Release everything; safe to call twice."""

    def __enter__(self) -> Sink:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


SINKS: dict[str, Callable[..., Sink]] = {}


def register_sink(name: str, factory: Callable[..., Sink]) -> None:
    """Make a sink selectable by name (``af run`` flags and config use these names)."""
    SINKS[name] = factory


def create_sink(name: str, **options: object) -> Sink:
    if name not in SINKS:
        raise SinkError(f"unknown output {name!r}; available: {', '.join(sorted(SINKS)) or 'none'}")
    return SINKS[name](**options)
