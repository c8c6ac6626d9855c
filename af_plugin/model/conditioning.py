"""Dual Motion Encoder: user audio, user motion and avatar audio → one condition vector per frame.

Causal by construction: the condition of frame t depends only on inputs of frames <= t (the look-ahead is
granted later, by the DFoT's cross-attention window). Absent inputs are replaced by learned null tokens,
never by zeros, per frame — a missing face for three frames is three null motion tokens.

* Shared audio encoder (user and avatar audio): per-frame log-mel (320) → normalise → linear →
  causal dilated conv stack (dilations 1, 2, 4: ~0.6 s of past audio, none of the future).
* Cross-attention 1: user motion (query) over the user-audio features of frames [t-w, t].
* Cross-attention 2: avatar audio (query) over the fused user features of frames [t-w, t].
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from af_plugin.constants import AUDIO_FEATURE_DIM
from af_plugin.motion.contract import NUM_CHANNELS


@dataclass
class ConditionConfig:
    audio_dim: int = AUDIO_FEATURE_DIM
    motion_dim: int = NUM_CHANNELS
    cond_dim: int = 128
    n_heads: int = 4
    audio_layers: int = 3
    audio_kernel: int = 3
    audio_dilation: int = 2
    """Layer i of the audio encoder's causal conv stack has dilation audio_dilation**i (longer memory, same cost)."""
    window: int = 2
    """Past frames each Dual-Motion-Encoder cross-attention sees (besides frame t itself)."""

    @property
    def receptive_field(self) -> int:
        """Frames of past input a condition depends on (so a streaming slice knows how much context to keep)."""
        convs = sum((self.audio_kernel - 1) * self.audio_dilation**i for i in range(self.audio_layers))
        return convs + 2 * self.window  # conv stack, then the two cross-attention windows


class CausalConv(nn.Module):
    """Residual causal conv over frames: y_t = x_t + f(x_{t-k+1..t})."""

    def __init__(self, dim: int, kernel: int, dilation: int = 1):
        super().__init__()
        self.reach = (kernel - 1) * dilation  # frames of past this layer sees
        self.conv = nn.Conv1d(dim, dim, kernel, dilation=dilation)
        self.ln = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.pad(x.transpose(1, 2), (self.reach, 0))  # (B, C, T + reach), left padding only
        return x + self.ln(F.silu(self.conv(y).transpose(1, 2)))


class AudioEncoder(nn.Module):
    """Log-mel frames (B, T, 320) → (B, T, C). Trained from scratch; shared by user and avatar audio."""

    def __init__(self, cfg: ConditionConfig):
        super().__init__()
        self.register_buffer("mean", torch.zeros(cfg.audio_dim))
        self.register_buffer("std", torch.ones(cfg.audio_dim))
        self.inp = nn.Linear(cfg.audio_dim, cfg.cond_dim)
        self.convs = nn.ModuleList(
            CausalConv(cfg.cond_dim, cfg.audio_kernel, cfg.audio_dilation**i) for i in range(cfg.audio_layers)
        )

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        x = self.inp((feats - self.mean) / self.std)  # (B, T, C)
        for conv in self.convs:
            x = conv(x)
        return x


class WindowAttention(nn.Module):
    """Query frame t attends to keys of frames [t-w, t]; residual + LayerNorm + SiLU as in the paper."""

    def __init__(self, cfg: ConditionConfig):
        super().__init__()
        C, self.h, self.w = cfg.cond_dim, cfg.n_heads, cfg.window
        self.q = nn.Linear(C, C)
        self.kv = nn.Linear(C, 2 * C)
        self.offset = nn.Parameter(torch.zeros(cfg.window + 1, C))
        self.proj = nn.Linear(C, C)
        self.ln = nn.LayerNorm(C)

    def forward(self, query: torch.Tensor, keys: torch.Tensor, key_valid: torch.Tensor) -> torch.Tensor:
        B, T, C = query.shape  # query, keys (B, T, C); key_valid (B, T) False before the session starts
        W, H = self.w + 1, self.h
        k, v = self.kv(keys).chunk(2, dim=-1)
        k = F.pad(k, (0, 0, self.w, 0)).unfold(1, W, 1).transpose(-1, -2) + self.offset  # (B, T, W, C)
        v = F.pad(v, (0, 0, self.w, 0)).unfold(1, W, 1).transpose(-1, -2)
        mask = F.pad(key_valid, (self.w, 0), value=False).unfold(1, W, 1)  # (B, T, W)
        q = self.q(query).view(B, T, H, 1, C // H)
        k = k.view(B, T, W, H, C // H).transpose(2, 3)  # (B, T, H, W, hd)
        v = v.view(B, T, W, H, C // H).transpose(2, 3)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(C // H)  # (B, T, H, 1, W)
        att = att.masked_fill(~mask[:, :, None, None, :], float("-inf")).softmax(-1)
        y = self.proj((att @ v).reshape(B, T, C))
        return F.silu(self.ln(query + y))


class DualMotionEncoder(nn.Module):
    def __init__(self, cfg: ConditionConfig):
        super().__init__()
        self.cfg = cfg
        C = cfg.cond_dim
        self.audio = AudioEncoder(cfg)
        self.register_buffer("motion_mean", torch.zeros(cfg.motion_dim))
        self.register_buffer("motion_std", torch.ones(cfg.motion_dim))
        self.motion = nn.Sequential(nn.Linear(cfg.motion_dim, C), nn.SiLU(), nn.Linear(C, C))
        self.null_user_audio = nn.Parameter(torch.randn(C) * 0.02)
        self.null_user_motion = nn.Parameter(torch.randn(C) * 0.02)
        self.null_avatar_audio = nn.Parameter(torch.randn(C) * 0.02)
        self.user_fuse = WindowAttention(cfg)  # cross-attn 1: user motion over user audio
        self.avatar_fuse = WindowAttention(cfg)  # cross-attn 2: avatar audio over the fused user feature
        self.out = nn.Linear(C, C)

    def forward(
        self,
        user_audio: torch.Tensor,
        user_audio_present: torch.Tensor,
        avatar_audio: torch.Tensor,
        avatar_audio_present: torch.Tensor,
        user_motion: torch.Tensor,
        user_motion_present: torch.Tensor,
        frame_valid: torch.Tensor,
    ) -> torch.Tensor:
        """Conditions (B, T, C) for frames of a contiguous span.

        user_audio, avatar_audio (B, T, 320); user_motion (B, T, 62); *_present (B, T) bool, False where
        that input is absent (its values are ignored); frame_valid (B, T) bool, False for padding frames
        that lie before the session started (no key may attend to them).
        """
        both = self.audio(torch.cat([user_audio, avatar_audio], dim=0))  # one pass for the shared encoder
        ua, aa = both.chunk(2, dim=0)  # (B, T, C) each
        ua = torch.where(user_audio_present[..., None], ua, self.null_user_audio)
        aa = torch.where(avatar_audio_present[..., None], aa, self.null_avatar_audio)
        um = self.motion((user_motion - self.motion_mean) / self.motion_std)
        um = torch.where(user_motion_present[..., None], um, self.null_user_motion)
        user = self.user_fuse(um, ua, frame_valid)  # (B, T, C)
        return self.out(self.avatar_fuse(aa, user, frame_valid))  # (B, T, C)
