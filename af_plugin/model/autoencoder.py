"""Motion auto-encoder: 62 contract channels ↔ a compact per-frame latent the generator works in.

Per frame (no temporal context, so it never adds latency). Channels are normalised by dataset statistics
(each channel weighs the same, whatever its unit), encoded by a small MLP, and the latent is re-normalised
to zero mean / unit variance so the flow-matching noise (unit Gaussian) matches the data scale.
Decoded values are clipped to the contract's CHANNEL_RANGES.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from af_plugin.motion.contract import CHANNEL_RANGES, CHANNELS, NUM_CHANNELS


@dataclass
class AutoencoderConfig:
    channels: int = NUM_CHANNELS
    latent_dim: int = 24
    hidden: int = 192


class MotionAutoencoder(nn.Module):
    def __init__(self, cfg: AutoencoderConfig):
        super().__init__()
        self.cfg = cfg
        C, D, H = cfg.channels, cfg.latent_dim, cfg.hidden
        self.register_buffer("chan_mean", torch.zeros(C))
        self.register_buffer("chan_std", torch.ones(C))
        self.register_buffer("lat_mean", torch.zeros(D))
        self.register_buffer("lat_std", torch.ones(D))
        lo = torch.tensor([CHANNEL_RANGES[c][0] for c in CHANNELS], dtype=torch.float32)
        hi = torch.tensor([CHANNEL_RANGES[c][1] for c in CHANNELS], dtype=torch.float32)
        self.register_buffer("lo", lo, persistent=False)
        self.register_buffer("hi", hi, persistent=False)
        self.enc = nn.Sequential(nn.Linear(C, H), nn.SiLU(), nn.Linear(H, H), nn.SiLU(), nn.Linear(H, D))
        self.dec = nn.Sequential(nn.Linear(D, H), nn.SiLU(), nn.Linear(H, H), nn.SiLU(), nn.Linear(H, C))

    def encode_raw(self, values: torch.Tensor) -> torch.Tensor:
        """(..., 62) contract values → (..., D) latent before latent normalisation."""
        return self.enc((values - self.chan_mean) / self.chan_std)

    def decode_normalised(self, raw_latent: torch.Tensor) -> torch.Tensor:
        """(..., D) raw latent → (..., 62) channels in normalised units (the training target space)."""
        return self.dec(raw_latent)

    def encode(self, values: torch.Tensor) -> torch.Tensor:
        """(..., 62) → (..., D) unit-scale latent (what the DFoT generates)."""
        return (self.encode_raw(values) - self.lat_mean) / self.lat_std

    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        """(..., D) unit-scale latent → (..., 62) contract values, clipped to CHANNEL_RANGES."""
        y = self.dec(latent * self.lat_std + self.lat_mean) * self.chan_std + self.chan_mean
        return torch.minimum(torch.maximum(y, self.lo), self.hi)

    @torch.no_grad()
    def set_channel_stats(self, values: torch.Tensor) -> None:
        """Channel mean/std from data (N, 62); a floor keeps near-constant channels from blowing up."""
        span = self.hi - self.lo
        self.chan_mean.copy_(values.mean(0))
        self.chan_std.copy_(torch.maximum(values.std(0), 0.02 * span))

    @torch.no_grad()
    def set_latent_stats(self, values: torch.Tensor) -> None:
        z = self.encode_raw(values)
        self.lat_mean.copy_(z.mean(0))
        self.lat_std.copy_(z.std(0).clamp_min(1e-3))
