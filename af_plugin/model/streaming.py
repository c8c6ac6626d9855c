"""Streaming sampler: blocks of motion from pushed conditions, KV-cached, CFG-batched, many sessions at once.

    gen = StreamingGenerator.load()                  # shipped default model (or a checkpoint path)
    sess = gen.open_session(seed=0)
    sess.push(user_audio=ua, avatar_audio=aa, user_motion=None)   # (n, 320), (n, 320), absent
    while sess.ready():
        for out in gen.step([sess]):                 # BlockOutput(first_index, values (B, 62), latents (B, D))
            ...

How a block is made (frames [s, s+B), B = block_size, L = lookahead):
1. Conditions of every pushed frame are computed once, per CFG branch (unconditional / avatar audio only /
   user only), from a bounded slice of raw inputs (the Dual Motion Encoder's receptive field).
2. The block starts as Gaussian noise from the session's own generator (deterministic per seed, whatever
   else shares the batch) and is denoised in ``steps`` Euler steps; each step is one forward of
   3 branches × S sessions × B tokens against the cached clean history. Guidance:
   v = v_u + cfg_avatar (v_avatar - v_u) + cfg_user (v_user - v_u).
3. One more forward at noise level 0 writes the block's clean keys/values into each layer's cache, which
   keeps the last ``context`` frames (rolling: memory is bounded however long the session runs).
``kv_cache=False`` recomputes the whole receptive field (n_layers × context frames of clean history) every
step instead; it exists to prove the cache exact and to measure what the cache saves. It may be toggled
between steps: sessions always keep that clean history, and a stale cache is rebuilt from it (prefill).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from af_plugin.constants import AUDIO_FEATURE_DIM, FPS
from af_plugin.errors import AudioFormatError, CheckpointError, ConfigError, MotionFormatError
from af_plugin.model.checkpoint import load_checkpoint
from af_plugin.model.dfot import LayerCache
from af_plugin.model.flow import FlowMatchScheduler
from af_plugin.model.network import AvatarForcingNet, NetworkConfig
from af_plugin.motion.clip import MotionClip
from af_plugin.motion.contract import NUM_CHANNELS

log = logging.getLogger(__name__)

DEFAULT_CHECKPOINT = Path(__file__).resolve().parent.parent / "assets" / "default_model.safetensors"
N_BRANCHES = 3  # CFG branches, in batch order: unconditional, avatar audio only, user only


@dataclass
class BlockOutput:
    first_index: int
    """Index of the block's first frame (session frame counter, starts at the session's first_index)."""
    values: np.ndarray
    """(block, 62) float32 motion-contract values."""
    latents: np.ndarray
    """(block, latent_dim) float32 motion latents."""
    session_id: str = "default"


def pick_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        from af_plugin.errors import DeviceError

        raise DeviceError("device 'cuda' requested but torch sees no CUDA GPU; use --device cpu or auto")
    if device not in ("cpu", "cuda"):
        raise ConfigError("model.device", f"{device!r} is not allowed; allowed values: 'auto', 'cpu', 'cuda'")
    return torch.device(device)


class StreamingSession:
    """One conversation's state: pushed inputs, conditions, KV cache, RNG. Create with gen.open_session."""

    def __init__(self, gen: StreamingGenerator, seed: int, session_id: str, first_index: int = 0):
        self.gen, self.seed, self.session_id, self.first_index = gen, int(seed), session_id, int(first_index)
        self.closed = False
        self.reset()

    # --- public ------------------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget everything pushed and generated; the next block is frame first_index again, same seed."""
        self.rng = torch.Generator().manual_seed(self.seed)
        self.generated_frames = 0
        self.pushed_frames = 0
        D = NUM_CHANNELS
        self._in_start = 0  # session frame of row 0 of the raw input buffers
        self._ua = np.zeros((0, AUDIO_FEATURE_DIM), np.float32)
        self._aa = np.zeros((0, AUDIO_FEATURE_DIM), np.float32)
        self._um = np.zeros((0, D), np.float32)
        self._ua_p = np.zeros(0, bool)
        self._aa_p = np.zeros(0, bool)
        self._um_p = np.zeros(0, bool)
        C = self.gen.net.cfg.condition.cond_dim
        self._cond_start = 0  # session frame of row 0 of the condition buffer
        self._cond = torch.zeros(N_BRANCHES, 0, C, device=self.gen.device)  # (3, n, C)
        self._cache: list[tuple[torch.Tensor, torch.Tensor]] | None = None  # per layer (k, v): (3, H, m, hd)
        self._cache_upto = 0  # generated_frames when the cache was last written (stale after kv_cache=False steps)
        self._history = torch.zeros(0, self.gen.latent_dim, device=self.gen.device)  # clean latents (no-cache path)

    def push(
        self,
        user_audio: np.ndarray | None = None,
        avatar_audio: np.ndarray | None = None,
        user_motion: np.ndarray | None = None,
        frames: int | None = None,
    ) -> None:
        """Conditions for the next n frames. None = that input is absent for these frames (not zero-filled).

        user_audio, avatar_audio: (n, 320) log-mel frames; user_motion: (n, 62) contract values (rows with
        NaN count as absent, e.g. no face found). ``frames`` gives n when every input is None.
        """
        self._check_open()
        given = {
            name: a
            for name, a in (("user_audio", user_audio), ("avatar_audio", avatar_audio), ("user_motion", user_motion))
            if a is not None
        }
        lengths = {name: len(a) for name, a in given.items()}
        if frames is not None:
            lengths["frames"] = int(frames)
        if not lengths:
            raise ValueError("push needs at least one input or frames=n")
        if len(set(lengths.values())) != 1:
            raise ValueError(f"inputs must cover the same number of frames, got {lengths}")
        n = next(iter(lengths.values()))
        ua, ua_p = self._check(user_audio, n, AUDIO_FEATURE_DIM, "user_audio")
        aa, aa_p = self._check(avatar_audio, n, AUDIO_FEATURE_DIM, "avatar_audio")
        um, um_p = self._check(user_motion, n, NUM_CHANNELS, "user_motion")
        self._ua, self._ua_p = np.concatenate([self._ua, ua]), np.concatenate([self._ua_p, ua_p])
        self._aa, self._aa_p = np.concatenate([self._aa, aa]), np.concatenate([self._aa_p, aa_p])
        self._um, self._um_p = np.concatenate([self._um, um]), np.concatenate([self._um_p, um_p])
        self.pushed_frames += n

    def ready(self) -> bool:
        """True when conditions cover generated_frames + block_size + lookahead."""
        return (
            not self.closed and self.pushed_frames >= self.generated_frames + self.gen.block_size + self.gen.lookahead
        )

    @property
    def next_index(self) -> int:
        return self.first_index + self.generated_frames

    def state_elements(self) -> int:
        """Number of stored array elements (inputs, conditions, cache, history): bounded for a paced session."""
        n = sum(a.size for a in (self._ua, self._aa, self._um, self._ua_p, self._aa_p, self._um_p))
        n += self._cond.numel() + self._history.numel()
        if self._cache:
            n += sum(k.numel() + v.numel() for k, v in self._cache)
        return n

    # --- internals ---------------------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self.closed:
            raise RuntimeError(f"session {self.session_id!r} is closed")

    @staticmethod
    def _check(a: np.ndarray | None, n: int, dim: int, name: str) -> tuple[np.ndarray, np.ndarray]:
        if a is None:
            return np.zeros((n, dim), np.float32), np.zeros(n, bool)
        a = np.asarray(a, dtype=np.float32)
        if a.ndim != 2 or a.shape[1] != dim:
            err = MotionFormatError if name == "user_motion" else AudioFormatError
            raise err(f"{name}: expected (frames, {dim}) values, got shape {a.shape}")
        present = np.isfinite(a).all(axis=1)
        if name != "user_motion" and not present.all():
            raise AudioFormatError(f"{name}: NaN or Inf in audio features (frame {int(np.argmin(present))})")
        return np.where(present[:, None], a, 0.0).astype(np.float32), present

    def _update_conditions(self) -> None:
        """Compute conditions (all branches) of every pushed frame not yet done; trim old inputs."""
        net, dev = self.gen.net, self.gen.device
        done = self._cond_start + self._cond.shape[1]
        # at most a few seconds ahead of generation: a long offline push does not materialise at once
        upto = min(
            self.pushed_frames, self.generated_frames + self.gen.block_size + net.cfg.dfot.max_lookahead + 4 * FPS
        )
        if done < upto:
            R = net.cfg.condition.receptive_field
            a = max(0, done - R)
            lo, hi = a - self._in_start, upto - self._in_start

            def t(x):
                return torch.from_numpy(x[lo:hi]).to(dev)[None].expand(N_BRANCHES, *x[lo:hi].shape)

            ua_p, aa_p, um_p = t(self._ua_p).clone(), t(self._aa_p).clone(), t(self._um_p).clone()
            ua_p[0] = aa_p[0] = um_p[0] = False  # unconditional
            ua_p[1] = um_p[1] = False  # avatar audio only
            aa_p[2] = False  # user only
            valid = torch.ones(N_BRANCHES, hi - lo, dtype=torch.bool, device=dev)
            with torch.no_grad():
                c = net.cond(t(self._ua), ua_p, t(self._aa), aa_p, t(self._um), um_p, valid)  # (3, n, C)
            self._cond = torch.cat([self._cond, c[:, done - a :]], dim=1)
        # keep only the raw inputs the next condition slice can reach
        keep_from = max(0, self._cond_start + self._cond.shape[1] - self.gen.net.cfg.condition.receptive_field)
        cut = keep_from - self._in_start
        if cut > 0:
            for name in ("_ua", "_aa", "_um", "_ua_p", "_aa_p", "_um_p"):
                setattr(self, name, getattr(self, name)[cut:])
            self._in_start = keep_from

    def _cond_slice(self, first: int, last: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Conditions (3, last-first, C) and validity of session frames [first, last); missing → invalid."""
        C, dev = self._cond.shape[-1], self.gen.device
        out = torch.zeros(N_BRANCHES, last - first, C, device=dev)
        valid = torch.zeros(last - first, dtype=torch.bool, device=dev)
        have_lo = max(first, self._cond_start)
        have_hi = min(
            last,
            self._cond_start + self._cond.shape[1],
            self.generated_frames + self.gen.block_size + self.gen.lookahead,
        )
        if have_hi > have_lo:
            out[:, have_lo - first : have_hi - first] = self._cond[
                :, have_lo - self._cond_start : have_hi - self._cond_start
            ]
            valid[have_lo - first : have_hi - first] = True
        return out, valid

    def _trim_conditions(self, keep_history: int) -> None:
        keep_from = max(0, self.generated_frames - keep_history - self.gen.net.cfg.dfot.cond_window)
        cut = keep_from - self._cond_start
        if cut > 0:
            self._cond = self._cond[:, cut:]
            self._cond_start = keep_from


class StreamingGenerator:
    """A network plus streaming settings; serves any number of sessions, batching them per step."""

    def __init__(
        self,
        net: AvatarForcingNet,
        device: str | torch.device = "cpu",
        block_size: int | None = None,
        lookahead: int | None = None,
        steps: int | None = None,
        cfg_avatar: float | None = None,
        cfg_user: float | None = None,
        kv_cache: bool = True,
        metadata: dict | None = None,
    ):
        self.device = torch.device(device) if not isinstance(device, torch.device) else device
        self.net = net.to(self.device).eval()
        s = net.cfg.sampling
        self.block_size = int(block_size if block_size is not None else s.block_size)
        self.lookahead = int(lookahead if lookahead is not None else s.lookahead)
        self.steps = int(steps if steps is not None else s.steps)
        self.cfg_avatar = float(cfg_avatar if cfg_avatar is not None else s.cfg_avatar)
        self.cfg_user = float(cfg_user if cfg_user is not None else s.cfg_user)
        self.kv_cache = kv_cache
        self.metadata = metadata or {}
        if not 1 <= self.block_size <= 10:
            raise ConfigError("model.block_size", f"{self.block_size} is outside 1..10")
        if not 0 <= self.lookahead <= net.cfg.dfot.max_lookahead:
            raise ConfigError("model.lookahead", f"{self.lookahead} is outside 0..{net.cfg.dfot.max_lookahead}")
        if not 1 <= self.steps <= 50:
            raise ConfigError("model.steps", f"{self.steps} is outside 1..50")
        self.scheduler = FlowMatchScheduler(shift=s.shift)
        self.sigmas = self.scheduler.set_timesteps(self.steps).tolist()
        self.sessions: dict[str, StreamingSession] = {}

    @classmethod
    def load(
        cls,
        checkpoint: str | Path | None = None,
        device: str = "auto",
        block_size: int | None = None,
        lookahead: int | None = None,
        steps: int | None = None,
        cfg_avatar: float | None = None,
        cfg_user: float | None = None,
        kv_cache: bool = True,
    ) -> StreamingGenerator:
        """None → the model shipped in the package (random-init with a warning if the package has none)."""
        dev = pick_device(device)
        if checkpoint is None and DEFAULT_CHECKPOINT.is_file():
            checkpoint = DEFAULT_CHECKPOINT
        if checkpoint is None:
            warnings.warn(
                "no shipped default model found; using a RANDOMLY INITIALISED network (motion will be meaningless)",
                stacklevel=2,
            )
            torch.manual_seed(0)
            net, meta = AvatarForcingNet(NetworkConfig()), {"stage": "random-init"}
        else:
            if not Path(checkpoint).exists():
                raise CheckpointError(f"{checkpoint}: checkpoint file does not exist")
            net, meta = load_checkpoint(checkpoint, dev)
        return cls(net, dev, block_size, lookahead, steps, cfg_avatar, cfg_user, kv_cache, meta)

    @property
    def latent_dim(self) -> int:
        return self.net.cfg.autoencoder.latent_dim

    # --- sessions ------------------------------------------------------------------------------------------
    def open_session(self, seed: int = 0, session_id: str = "default", first_index: int = 0) -> StreamingSession:
        if session_id in self.sessions and not self.sessions[session_id].closed:
            raise ValueError(f"session {session_id!r} is already open")
        sess = StreamingSession(self, seed, session_id, first_index)
        self.sessions[session_id] = sess
        return sess

    def close_session(self, sess: StreamingSession) -> None:
        sess.closed = True
        sess._cache, sess._cond, sess._history = None, sess._cond[:, :0], sess._history[:0]
        if self.sessions.get(sess.session_id) is sess:
            del self.sessions[sess.session_id]

    # --- generation ------------------------------------------------------------------------------------------
    @torch.no_grad()
    def step(self, sessions: list[StreamingSession]) -> list[BlockOutput]:
        """One block for each ready session (others are skipped), all in one batched forward per step."""
        ready = [s for s in sessions if s.ready()]
        if not ready:
            return []
        for s in ready:
            s._update_conditions()
        if self.kv_cache:
            latents = self._denoise_cached(ready)
        else:
            latents = torch.cat([self._denoise_recompute(s) for s in ready])
        values = self.net.ae.decode(latents)  # (S, B, 62)
        outs = []
        for i, s in enumerate(ready):
            outs.append(
                BlockOutput(
                    first_index=s.next_index,
                    values=values[i].float().cpu().numpy(),
                    latents=latents[i].float().cpu().numpy(),
                    session_id=s.session_id,
                )
            )
            s.generated_frames += self.block_size
            s._history = torch.cat([s._history, latents[i]])[-self._history_frames() :]
            s._trim_conditions(self._history_frames())
        return outs

    def _history_frames(self) -> int:
        cfg = self.net.cfg.dfot
        return cfg.n_layers * cfg.context

    def _guide(self, v: torch.Tensor) -> torch.Tensor:
        vu, va, vusr = v.chunk(N_BRANCHES, dim=0)  # branch-major batch
        return vu + self.cfg_avatar * (va - vu) + self.cfg_user * (vusr - vu)

    def _noise(self, s: StreamingSession) -> torch.Tensor:
        return torch.randn(self.block_size, self.latent_dim, generator=s.rng).to(self.device)

    def _conditions(self, sessions: list[StreamingSession], first_offset: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Branch-major (3S, w+n+la_max, C) conditions for frames [s0 - first_offset - w, s0 + B + la_max)."""
        cfg = self.net.cfg.dfot
        conds, valids = [], []
        for s in sessions:
            first = s.generated_frames - first_offset - cfg.cond_window
            c, v = s._cond_slice(first, s.generated_frames + self.block_size + cfg.max_lookahead)
            conds.append(c)
            valids.append(v)
        cond = torch.stack(conds, dim=1).flatten(0, 1)  # (3, S, n, C) → (3S, n, C)
        valid = torch.stack(valids)[None].expand(N_BRANCHES, -1, -1).flatten(0, 1)
        return cond, valid

    def _prefill(self, s: StreamingSession) -> None:
        """Rebuild a session's KV cache from its clean history (after steps taken with kv_cache off).

        Exact: the history spans the whole receptive field (n_layers × context frames)."""
        h, dev = s._history.shape[0], self.device
        s._cache = None
        if h:
            cond, cond_valid = self._conditions([s], h)
            cond = cond[:, : cond.shape[1] - self.block_size]  # conditions of the history frames only
            cond_valid = cond_valid[:, : cond.shape[1]]
            la = torch.full((N_BRANCHES,), self.lookahead, dtype=torch.long, device=dev)
            zero = torch.zeros(N_BRANCHES, h, device=dev)
            _, kv = self.net.dfot(s._history[None].repeat(N_BRANCHES, 1, 1), zero, cond, cond_valid, la, None)
            M = self.net.cfg.dfot.context
            s._cache = [(k[:, :, -M:].contiguous(), v[:, :, -M:].contiguous()) for k, v in kv]
        s._cache_upto = s.generated_frames

    def _denoise_cached(self, sessions: list[StreamingSession]) -> torch.Tensor:
        S, B, dev = len(sessions), self.block_size, self.device
        for s in sessions:
            if s._cache_upto != s.generated_frames:
                self._prefill(s)
        cond, cond_valid = self._conditions(sessions, 0)
        la = torch.full((N_BRANCHES * S,), self.lookahead, dtype=torch.long, device=dev)
        cache = self._batch_cache(sessions)
        x = torch.stack([self._noise(s) for s in sessions])  # (S, B, D)
        for i in range(self.steps):
            sigma = torch.full((N_BRANCHES * S, B), self.sigmas[i], device=dev)
            v, _ = self.net.dfot(x.repeat(N_BRANCHES, 1, 1), sigma, cond, cond_valid, la, cache)
            x = self.scheduler.step(self._guide(v), i, x)
        # one clean pass writes the block into every layer's cache
        zero = torch.zeros(N_BRANCHES * S, B, device=dev)
        _, new_kv = self.net.dfot(x.repeat(N_BRANCHES, 1, 1), zero, cond, cond_valid, la, cache)
        M = self.net.cfg.dfot.context
        for j, s in enumerate(sessions):
            idx = torch.arange(N_BRANCHES, device=dev) * S + j
            layers = []
            for li, (k, v) in enumerate(new_kv):
                k, v = k[idx], v[idx]  # (3, H, B, hd)
                if s._cache is not None:
                    k = torch.cat([s._cache[li][0], k], dim=2)
                    v = torch.cat([s._cache[li][1], v], dim=2)
                layers.append((k[:, :, -M:].contiguous(), v[:, :, -M:].contiguous()))
            s._cache = layers
            s._cache_upto = s.generated_frames + B
        return x

    def _batch_cache(self, sessions: list[StreamingSession]) -> list[LayerCache] | None:
        """Per layer, the sessions' histories left-padded to a common length (padding masked out)."""
        lengths = [0 if s._cache is None else s._cache[0][0].shape[2] for s in sessions]
        m = max(lengths)
        if m == 0:
            return None
        cfg, dev = self.net.cfg.dfot, self.device
        H, hd = cfg.n_heads, cfg.d_model // cfg.n_heads
        S = len(sessions)
        valid = torch.zeros(N_BRANCHES, S, m, dtype=torch.bool, device=dev)
        for j, n in enumerate(lengths):
            valid[:, j, m - n :] = True
        out = []
        for li in range(cfg.n_layers):
            k = torch.zeros(N_BRANCHES, S, H, m, hd, device=dev)
            v = torch.zeros(N_BRANCHES, S, H, m, hd, device=dev)
            for j, (s, n) in enumerate(zip(sessions, lengths)):
                if n:
                    k[:, j, :, m - n :] = s._cache[li][0]
                    v[:, j, :, m - n :] = s._cache[li][1]
            out.append(LayerCache(k.flatten(0, 1), v.flatten(0, 1), valid.flatten(0, 1)))
        return out

    def _denoise_recompute(self, s: StreamingSession) -> torch.Tensor:
        """No KV cache: rerun the clean history (n_layers × context frames: the whole receptive field)."""
        B, dev = self.block_size, self.device
        hist = s._history  # (h, D) clean latents of frames [s0 - h, s0)
        h = hist.shape[0]
        cond, cond_valid = self._conditions([s], h)
        la = torch.full((N_BRANCHES,), self.lookahead, dtype=torch.long, device=dev)
        x = self._noise(s)[None]  # (1, B, D)
        for i in range(self.steps):
            seq = torch.cat([hist[None], x], dim=1).repeat(N_BRANCHES, 1, 1)  # (3, h+B, D)
            sigma = torch.zeros(N_BRANCHES, h + B, device=dev)
            sigma[:, h:] = self.sigmas[i]
            v, _ = self.net.dfot(seq, sigma, cond, cond_valid, la, None)
            x = self.scheduler.step(self._guide(v[:, h:]), i, x)
        return x


# --- offline helper --------------------------------------------------------------------------------------------
def _audio_features(audio, name: str) -> np.ndarray | None:
    """Path / 1-D 16 kHz waveform / (n, 320) features → (n, 320) features."""
    if audio is None:
        return None
    if isinstance(audio, (str, Path)):
        from af_plugin.perception.audio import load_audio

        audio = load_audio(audio)
    a = np.asarray(audio, dtype=np.float32)
    if a.ndim == 1:
        from af_plugin.perception.features import logmel_frames

        return logmel_frames(a)
    if a.ndim == 2 and a.shape[1] == AUDIO_FEATURE_DIM:
        return a
    raise AudioFormatError(
        f"{name}: expected a path, a 1-D 16 kHz waveform or (frames, 320) features, got shape {a.shape}"
    )


def _motion_values(motion) -> np.ndarray | None:
    """Path / MotionClip / (n, 62) → (n, 62) with NaN rows where the clip has no valid observation."""
    if motion is None:
        return None
    if isinstance(motion, (str, Path)):
        p = Path(motion)
        if p.suffix.lower() in (".mp4", ".mov", ".mkv", ".avi", ".webm"):
            from af_plugin.perception.tracking import track_video

            motion = track_video(p)
        else:
            motion = MotionClip.read(p)
    if isinstance(motion, MotionClip):
        vals = motion.values.copy()
        vals[~motion.valid] = np.nan
        return vals
    vals = np.asarray(motion, dtype=np.float32)
    if vals.ndim != 2 or vals.shape[1] != NUM_CHANNELS:
        raise MotionFormatError(f"user_motion: expected (frames, {NUM_CHANNELS}), got shape {vals.shape}")
    return vals


SILENCE_FEATURE = -1.5  # logmel_frames of digital silence: (log10(1e-10) + 4) / 4


def generate_offline(
    gen: StreamingGenerator,
    avatar_audio=None,
    user_audio=None,
    user_motion=None,
    seed: int = 0,
    frames: int | None = None,
) -> MotionClip:
    """Whole inputs → MotionClip through the exact streaming path (same blocks, cache and RNG).

    Inputs may be paths, waveforms or features. The shorter input is padded to the longest (audio with
    silence, motion as absent); ``clip.meta["padded"]`` lists what was padded, and a warning is logged.
    """
    aa, ua, um = (
        _audio_features(avatar_audio, "avatar_audio"),
        _audio_features(user_audio, "user_audio"),
        _motion_values(user_motion),
    )
    lengths = {k: len(v) for k, v in (("avatar_audio", aa), ("user_audio", ua), ("user_motion", um)) if v is not None}
    if frames is None:
        if not lengths:
            raise ValueError("generate_offline needs at least one input or frames=n")
        frames = max(lengths.values())
    padded = {k: frames - n for k, n in lengths.items() if n < frames}
    if padded:
        log.warning(
            "padding shorter inputs to %d frames: %s", frames, ", ".join(f"{k} +{n}" for k, n in padded.items())
        )
    B, L = gen.block_size, gen.lookahead
    total = -(-frames // B) * B + L  # whole blocks, plus what the last block looks ahead at

    def fit_audio(a):
        if a is None:
            return None
        out = np.full((total, AUDIO_FEATURE_DIM), SILENCE_FEATURE, np.float32)
        out[: min(len(a), total)] = a[:total]
        return out

    def fit_motion(m):
        if m is None:
            return None
        out = np.full((total, NUM_CHANNELS), np.nan, np.float32)
        out[: min(len(m), total)] = m[:total]
        return out

    sess = gen.open_session(seed=seed, session_id=f"offline-{id(object())}")
    try:
        sess.push(user_audio=fit_audio(ua), avatar_audio=fit_audio(aa), user_motion=fit_motion(um), frames=total)
        values, latents = [], []
        while sess.ready():
            (out,) = gen.step([sess])
            values.append(out.values)
            latents.append(out.latents)
    finally:
        gen.close_session(sess)
    vals = np.concatenate(values)[:frames]
    meta = {
        "generator": "af_plugin.model.streaming",
        "seed": seed,
        "block_size": B,
        "lookahead": L,
        "steps": gen.steps,
        "cfg_avatar": gen.cfg_avatar,
        "cfg_user": gen.cfg_user,
        "kv_cache": gen.kv_cache,
        "padded": padded,
        "latents": np.concatenate(latents)[:frames],
    }
    return MotionClip(vals, fps=FPS, meta=meta)
