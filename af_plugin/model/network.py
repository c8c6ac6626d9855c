"""The whole generator: motion auto-encoder + Dual Motion Encoder + causal DFoT, with one frozen config.

The config (and the sampling defaults) is what a checkpoint's JSON metadata stores; ``from_dict`` rebuilds
the same network from it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import torch.nn as nn

from af_plugin.model.autoencoder import AutoencoderConfig, MotionAutoencoder
from af_plugin.model.conditioning import ConditionConfig, DualMotionEncoder
from af_plugin.model.dfot import DFoT, DFoTConfig


@dataclass
class SamplingConfig:
    """Streaming defaults a checkpoint ships with; StreamingGenerator.load arguments override them."""

    block_size: int = 2
    lookahead: int = 1
    steps: int = 4
    cfg_avatar: float = 2.0
    cfg_user: float = 1.0
    shift: float = 1.0


@dataclass
class NetworkConfig:
    autoencoder: AutoencoderConfig = field(default_factory=AutoencoderConfig)
    condition: ConditionConfig = field(default_factory=ConditionConfig)
    dfot: DFoTConfig = field(default_factory=DFoTConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)

    def __post_init__(self) -> None:
        # one source of truth for the shared sizes
        self.dfot.latent_dim = self.autoencoder.latent_dim
        self.dfot.cond_dim = self.condition.cond_dim

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> NetworkConfig:
        def build(tp, sub):
            names = {f.name for f in dataclasses.fields(tp)}
            unknown = set(sub) - names
            if unknown:
                raise ValueError(f"unknown {tp.__name__} keys: {sorted(unknown)}")
            return tp(**sub)

        return cls(
            autoencoder=build(AutoencoderConfig, d.get("autoencoder", {})),
            condition=build(ConditionConfig, d.get("condition", {})),
            dfot=build(DFoTConfig, d.get("dfot", {})),
            sampling=build(SamplingConfig, d.get("sampling", {})),
        )

    @classmethod
    def tiny(cls) -> NetworkConfig:
        """A small network for tests and smoke runs."""
        return cls(
            autoencoder=AutoencoderConfig(latent_dim=8, hidden=32),
            condition=ConditionConfig(cond_dim=32, n_heads=2),
            dfot=DFoTConfig(d_model=32, n_layers=2, n_heads=2, context=12),
        )


class AvatarForcingNet(nn.Module):
    def __init__(self, cfg: NetworkConfig):
        super().__init__()
        self.cfg = cfg
        self.ae = MotionAutoencoder(cfg.autoencoder)
        self.cond = DualMotionEncoder(cfg.condition)
        self.dfot = DFoT(cfg.dfot)
