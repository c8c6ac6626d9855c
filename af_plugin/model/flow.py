"""Flow-matching noise schedule and Euler sampler step (diffusers-style: the network knows nothing of it).

Convention: x_sigma = (1 - sigma) * x0 + sigma * noise, sigma in [0, 1] (0 = clean); the network predicts
the velocity v = noise - x0, so one Euler step from sigma to sigma' is x + (sigma' - sigma) * v.
"""

from __future__ import annotations

import torch


def add_noise(x0: torch.Tensor, noise: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """x0, noise (B, T, D); sigma (B, T) per-frame noise level."""
    s = sigma[..., None]
    return (1 - s) * x0 + s * noise


def velocity_target(x0: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    return noise - x0


class FlowMatchScheduler:
    """``set_timesteps(n)`` then ``step(v, i, x)`` advances exactly one step, from sigmas[i] to sigmas[i+1]."""

    def __init__(self, shift: float = 1.0):
        self.shift = shift
        self.sigmas = torch.tensor([1.0, 0.0])

    def set_timesteps(self, n: int) -> torch.Tensor:
        s = torch.linspace(1.0, 0.0, n + 1)
        self.sigmas = self.shift * s / (1 + (self.shift - 1) * s)  # SD3-style shift; shift=1 is linear
        return self.sigmas

    def step(self, v: torch.Tensor, i: int, x: torch.Tensor) -> torch.Tensor:
        return x + (self.sigmas[i + 1] - self.sigmas[i]) * v
