"""Per-stage latency of recent frames: audio in → features → generated → emitted → sent (milliseconds)."""

from __future__ import annotations

import threading
from collections import deque

import numpy as np

STAGES = (
    ("features", "audio_in", "features"),
    ("generate", "features", "generated"),
    ("playout", "generated", "emitted"),
    ("audio_to_emitted", "audio_in", "emitted"),
)
"""(name, from stamp, to stamp). ``audio_to_sent`` comes from the websocket sink (first client's send)."""


class LatencyStats:
    """A window of the last ``window`` frames' stage durations; ``summary`` gives p50/p95/max in ms."""

    def __init__(self, window: int = 250) -> None:
        self._lock = threading.Lock()
        self._data: dict[str, deque[float]] = {name: deque(maxlen=window) for name, *_ in STAGES}
        self._data["audio_to_sent"] = deque(maxlen=window)

    def add(self, stamps: dict[str, float]) -> None:
        with self._lock:
            for name, a, b in STAGES:
                if a in stamps and b in stamps:
                    self._data[name].append(1000.0 * (stamps[b] - stamps[a]))

    def add_sent(self, stamps: dict[str, float], sent_at: float) -> None:
        if "audio_in" in stamps:
            with self._lock:
                self._data["audio_to_sent"].append(1000.0 * (sent_at - stamps["audio_in"]))

    def summary(self) -> dict[str, dict[str, float]]:
        out = {}
        with self._lock:
            for name, values in self._data.items():
                if values:
                    v = np.fromiter(values, float)
                    out[name] = {"p50": round(float(np.percentile(v, 50)), 2),
                                 "p95": round(float(np.percentile(v, 95)), 2),
                                 "max": round(float(v.max()), 2), "n": len(v)}  # fmt: skip
        return out

    def values(self, name: str) -> list[float]:
        with self._lock:
            return list(self._data[name])
