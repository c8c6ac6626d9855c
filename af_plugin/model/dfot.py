"""Causal Diffusion-Forcing Transformer (DFoT) over motion latents — the network, and only the network.

Read top to bottom: config, RoPE, self-attention (causal, sliding window, KV cache), windowed
cross-attention to the per-frame conditions, the adaLN-Zero block, the model.

Design decisions (see docs/model.md for the long form):

* **Positions are relative, computed on the fly.** Every forward rotates queries and keys by positions
  measured from the first frame of the current chunk (cached history gets negative positions). Attention
  scores under RoPE depend only on position differences, so this equals absolute positions — but no number
  ever grows with session length: a session at frame 10**6 does exactly the arithmetic of one at frame 60.
  The KV cache therefore stores *unrotated* keys.
* **Self-attention is frame-causal with a sliding window**: key <= query and key >= query - context.
  The window makes the KV cache exact (a cache of ``context`` clean frames per layer reproduces a full
  recomputation) and bounded (memory does not grow with session length).
* **Look-ahead enters through the conditions**: frame t cross-attends to the conditions of frames
  [t - cond_window, t + lookahead]. The paper also lets self-attention peek ``lookahead`` frames ahead;
  with clean cached history that would make cached keys depend on frames not yet committed, breaking exact
  KV caching (the paper re-runs two "offset" frames per block instead). Either way frame t sees inputs up to
  t + lookahead and nothing later — a tested property.
* Per-token timestep (noise level) conditioning with adaLN-Zero, so every frame carries its own noise level
  (diffusion forcing).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class DFoTConfig:
    latent_dim: int = 24
    """Size of one frame's motion latent (the auto-encoder's)."""
    cond_dim: int = 128
    """Size of one frame's condition vector (the Dual Motion Encoder's output)."""
    d_model: int = 128
    n_layers: int = 4
    n_heads: int = 4
    mlp_ratio: float = 4.0
    context: int = 48
    """Sliding window of self-attention: a frame sees itself and at most this many earlier frames per layer."""
    cond_window: int = 2
    """Past condition frames each frame cross-attends to (the paper's ±2 window, past side)."""
    max_lookahead: int = 2
    """Most future condition frames a frame may see; the runtime lookahead (0..this) is chosen per call."""
    rope_base: float = 10_000.0


# --- rotary position embedding ------------------------------------------------------------------------
@functools.lru_cache(maxsize=64)
def _rope_angles(lo: int, hi: int, hd: int, base: float, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """cos/sin of relative positions lo..hi-1. Keyed by the (small, bounded) relative range, never by
    session time, so this memo stays a handful of entries however long a session runs."""
    inv_freq = base ** (-torch.arange(0, hd, 2, device=device, dtype=torch.float32) / hd)  # (hd/2,)
    ang = torch.arange(lo, hi, device=device, dtype=torch.float32)[:, None] * inv_freq[None, :]  # (T, hd/2)
    return ang.cos(), ang.sin()


def rope(x: torch.Tensor, lo: int, base: float) -> torch.Tensor:
    """Rotate (..., T, hd) by the positions lo, lo+1, ..., lo+T-1 (any sign): relative, so no table overflows."""
    T, hd = x.shape[-2], x.shape[-1]
    cos, sin = _rope_angles(lo, lo + T, hd, base, x.device)
    cos, sin = cos.to(x.dtype), sin.to(x.dtype)
    x1, x2 = x[..., 0::2], x[..., 1::2]
    out = torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)
    return out.flatten(-2)


@dataclass
class LayerCache:
    """Clean history of one layer: unrotated keys/values of the last <= context frames, oldest first.

    k, v: (B, H, M, hd); valid: (B, M) bool — False marks left padding when sessions of different
    history lengths share a batch. The history's positions are -M..-1 relative to the chunk being computed.
    """

    k: torch.Tensor
    v: torch.Tensor
    valid: torch.Tensor
    k_rot: torch.Tensor | None = field(default=None, repr=False)
    """k rotated to positions -M..-1, filled on first use: every denoising step of a block reuses it."""


class SelfAttention(nn.Module):
    def __init__(self, cfg: DFoTConfig):
        super().__init__()
        self.n_heads, self.base, self.context = cfg.n_heads, cfg.rope_base, cfg.context
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model)
        self.proj = nn.Linear(cfg.d_model, cfg.d_model)

    def forward(self, x: torch.Tensor, cache: LayerCache | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        B, T, C = x.shape  # (B, T, C) tokens of frames [s, s+T)
        H = self.n_heads
        q, k, v = self.qkv(x).view(B, T, 3, H, C // H).permute(2, 0, 3, 1, 4)  # each (B, H, T, hd)
        k_new, v_new = k, v  # unrotated: what a KV cache stores
        q, k = rope(q, 0, self.base), rope(k, 0, self.base)  # chunk frames at positions 0..T-1
        qpos = torch.arange(T, device=x.device)
        if cache is not None and cache.k.shape[2] > 0:
            M = cache.k.shape[2]
            if cache.k_rot is None:
                cache.k_rot = rope(cache.k, -M, self.base)  # history at positions -M..-1
            k = torch.cat([cache.k_rot, k], dim=2)  # (B, H, M+T, hd)
            v = torch.cat([cache.v, v], dim=2)
            kpos = torch.arange(-M, T, device=x.device)
            kvalid = torch.cat([cache.valid, torch.ones(B, T, dtype=torch.bool, device=x.device)], dim=1)
        else:
            kpos, kvalid = qpos, None
        rel = qpos[:, None] - kpos[None, :]  # (T, M+T) query - key
        allow = (rel >= 0) & (rel <= self.context)  # frame-causal sliding window
        mask = allow[None, None] if kvalid is None else allow[None, None] & kvalid[:, None, None, :]
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)  # (B, H, T, hd)
        return self.proj(y.transpose(1, 2).reshape(B, T, C)), k_new, v_new


class WindowCrossAttention(nn.Module):
    """Frame t attends to conditions of frames t-w .. t+lookahead (a handful of keys, gathered per frame)."""

    def __init__(self, cfg: DFoTConfig):
        super().__init__()
        self.n_heads, self.w, self.la = cfg.n_heads, cfg.cond_window, cfg.max_lookahead
        self.width = self.w + self.la + 1
        self.q = nn.Linear(cfg.d_model, cfg.d_model)
        self.kv = nn.Linear(cfg.cond_dim, 2 * cfg.d_model)
        self.offset = nn.Parameter(torch.zeros(self.width, cfg.d_model))  # learned relative position of a key
        self.proj = nn.Linear(cfg.d_model, cfg.d_model)

    def forward(self, x: torch.Tensor, cond: torch.Tensor, key_mask: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape  # (B, T, C)
        H, W = self.n_heads, self.width
        k, v = self.kv(cond).chunk(2, dim=-1)  # (B, T+W-1, C): conditions of frames [s-w, s+T+la)
        k = k.unfold(1, W, 1).transpose(-1, -2) + self.offset  # (B, T, W, C): key o is frame t-w+o
        v = v.unfold(1, W, 1).transpose(-1, -2)
        q = self.q(x).view(B, T, H, 1, C // H)
        k = k.view(B, T, W, H, C // H).transpose(2, 3)  # (B, T, H, W, hd)
        v = v.view(B, T, W, H, C // H).transpose(2, 3)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(C // H)  # (B, T, H, 1, W)
        att = att.masked_fill(~key_mask[:, :, None, None, :], float("-inf")).softmax(-1)
        y = (att @ v).reshape(B, T, C)
        return self.proj(y)


class MLP(nn.Module):
    def __init__(self, cfg: DFoTConfig):
        super().__init__()
        hidden = int(cfg.mlp_ratio * cfg.d_model)
        self.fc = nn.Linear(cfg.d_model, hidden)
        self.out = nn.Linear(hidden, cfg.d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(F.gelu(self.fc(x), approximate="tanh"))


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return x * (1 + scale) + shift


class Block(nn.Module):
    """adaLN-Zero block (DiT) with a per-token timestep: self-attn, cross-attn to conditions, MLP."""

    def __init__(self, cfg: DFoTConfig):
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.d_model, elementwise_affine=False, eps=1e-6)
        self.attn = SelfAttention(cfg)
        self.ln_x = nn.LayerNorm(cfg.d_model, eps=1e-6)
        self.xattn = WindowCrossAttention(cfg)
        self.ln2 = nn.LayerNorm(cfg.d_model, elementwise_affine=False, eps=1e-6)
        self.mlp = MLP(cfg)
        self.ada = nn.Linear(cfg.d_model, 6 * cfg.d_model)
        nn.init.zeros_(self.ada.weight)  # adaLN-Zero: every block starts as the identity
        nn.init.zeros_(self.ada.bias)

    def forward(self, x, temb, cond, key_mask, cache):
        # x (B, T, C); temb (B, T, C) per-token timestep embedding
        s1, c1, g1, s2, c2, g2 = self.ada(F.silu(temb)).chunk(6, dim=-1)
        a, k_new, v_new = self.attn(modulate(self.ln1(x), s1, c1), cache)
        x = x + g1 * a
        x = x + self.xattn(self.ln_x(x), cond, key_mask)
        x = x + g2 * self.mlp(modulate(self.ln2(x), s2, c2))
        return x, k_new, v_new


def timestep_embedding(sigma: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of noise levels sigma in [0, 1] (scaled to 0..1000 like DiT timesteps)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10_000.0) * torch.arange(half, device=sigma.device, dtype=torch.float32) / half)
    args = sigma.to(torch.float32)[..., None] * 1000.0 * freqs
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


class DFoT(nn.Module):
    """Predicts the flow-matching velocity of every frame's latent, given per-frame noise levels."""

    def __init__(self, cfg: DFoTConfig):
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model
        self.inp = nn.Linear(cfg.latent_dim, d)
        self.t_mlp = nn.Sequential(nn.Linear(256, d), nn.SiLU(), nn.Linear(d, d))
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.ln_f = nn.LayerNorm(d, elementwise_affine=False, eps=1e-6)
        self.ada_f = nn.Linear(d, 2 * d)
        self.out = nn.Linear(d, cfg.latent_dim)
        for lin in (self.ada_f, self.out):  # the network starts by predicting zero velocity
            nn.init.zeros_(lin.weight)
            nn.init.zeros_(lin.bias)

    def cond_key_mask(self, T: int, cond_valid: torch.Tensor, lookahead: torch.Tensor) -> torch.Tensor:
        """(B, T, W) which condition keys each frame may see: inside [t-w, t+lookahead] and present."""
        w, W = self.cfg.cond_window, self.cfg.cond_window + self.cfg.max_lookahead + 1
        valid = cond_valid.unfold(1, W, 1)  # (B, T, W)
        offset = torch.arange(W, device=cond_valid.device) - w  # key frame - query frame
        return valid & (offset[None, None, :] <= lookahead[:, None, None])

    def forward(
        self,
        x: torch.Tensor,
        sigma: torch.Tensor,
        cond: torch.Tensor,
        cond_valid: torch.Tensor,
        lookahead: torch.Tensor,
        cache: list[LayerCache] | None = None,
    ) -> tuple[torch.Tensor, list[tuple[torch.Tensor, torch.Tensor]]]:
        """Velocity for frames [s, s+T) and each layer's new unrotated (k, v) (for writing a KV cache).

        x (B, T, D) noisy latents; sigma (B, T) noise level per frame (0 = clean);
        cond (B, w+T+max_lookahead, Cc) conditions of frames [s-w, s+T+max_lookahead);
        cond_valid (B, w+T+max_lookahead) bool; lookahead (B,) long, 0..max_lookahead;
        cache: one LayerCache per layer holding the clean history before s, or None.
        """
        B, T, _ = x.shape
        W = self.cfg.cond_window + self.cfg.max_lookahead
        assert cond.shape[1] == T + W, f"cond covers {cond.shape[1]} frames, expected {T + W}"
        key_mask = self.cond_key_mask(T, cond_valid, lookahead)
        temb = self.t_mlp(timestep_embedding(sigma, 256))  # (B, T, C)
        h = self.inp(x)  # (B, T, C)
        new_kv = []
        for i, block in enumerate(self.blocks):
            h, k, v = block(h, temb, cond, key_mask, None if cache is None else cache[i])
            new_kv.append((k, v))
        shift, scale = self.ada_f(F.silu(temb)).chunk(2, dim=-1)
        return self.out(modulate(self.ln_f(h), shift, scale)), new_kv
