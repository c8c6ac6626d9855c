"""One Euro filter (Casiez et al., CHI 2012) over all channels at once, in streaming order.

An exponential smoother whose cutoff rises with the signal's speed: still faces stop jittering, fast
moves stay sharp. Its lag on a steady ramp is (1 − α) / α samples, and α ≥ 1/2 whenever the cutoff is at
least rate / (2π); we make that the *minimum* cutoff, so the filter never lags a frame more than one
frame (the runtime's latency budget for perception smoothing).
"""

from __future__ import annotations

import math

import numpy as np

from af_plugin.constants import FPS

ONE_FRAME_CUTOFF_HZ = FPS / (2 * math.pi)
"""Cutoff at which the smoother lags a ramp by exactly one frame (α = 1/2)."""


def _alpha(cutoff: np.ndarray | float, rate: float) -> np.ndarray:
    tau = 1.0 / (2 * math.pi * np.asarray(cutoff, dtype=np.float64))
    return 1.0 / (1.0 + tau * rate)


class OneEuroFilter:
    """Vectorised One Euro filter; ``__call__(x)`` filters one sample (any shape) and returns the estimate."""

    def __init__(
        self,
        rate: float = FPS,
        min_cutoff: float | None = None,
        beta: float = 0.5,
        d_cutoff: float = 1.0,
    ) -> None:
        """min_cutoff None → rate / (2π), the one-frame-lag limit; lower values are refused."""
        min_cutoff = rate / (2 * math.pi) if min_cutoff is None else min_cutoff
        if min_cutoff < rate / (2 * math.pi) - 1e-9:
            raise ValueError(
                f"min_cutoff {min_cutoff:.3f} Hz would lag more than one frame at {rate} Hz; "
                f"use at least {rate / (2 * math.pi):.3f} Hz"
            )
        self.rate, self.min_cutoff, self.beta, self.d_cutoff = rate, min_cutoff, beta, d_cutoff
        self.reset()

    def reset(self) -> None:
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if self._x is None:
            self._x, self._dx = x.copy(), np.zeros_like(x)
            return x.copy()
        dx = (x - self._x) * self.rate
        self._dx = self._dx + _alpha(self.d_cutoff, self.rate) * (dx - self._dx)
        cutoff = self.min_cutoff + self.beta * np.abs(self._dx)
        self._x = self._x + _alpha(cutoff, self.rate) * (x - self._x)
        return self._x.copy()
