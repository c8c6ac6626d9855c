"""A cheap, deterministic procedural generator with the StreamingGenerator API.

It is NOT the model: it opens the jaw with the avatar voice's loudness, blinks, sways and nods while the user
talks. The runtime falls back to it only when ``af_plugin.model.streaming`` is not installed (and says so:
hello ``model.kind == "stand-in"``, a console warning); tests of clients and transports use it where the
model's CPU cost would only slow them down.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from af_plugin.constants import AUDIO_FEATURE_DIM, FPS
from af_plugin.motion.contract import CHANNEL_INDEX, CHANNEL_RANGES, CHANNELS, NUM_CHANNELS

_LO = np.array([CHANNEL_RANGES[c][0] for c in CHANNELS], np.float32)
_HI = np.array([CHANNEL_RANGES[c][1] for c in CHANNELS], np.float32)


@dataclass
class BlockOutput:
    first_index: int
    values: np.ndarray  # (block, 62) float32
    latents: np.ndarray  # (block, latent_dim) float32


class _Level:
    """Running loudness of log-mel frames, normalised against a slowly adapting floor and peak."""

    def __init__(self) -> None:
        self.floor, self.peak = None, None

    def __call__(self, feat: np.ndarray | None) -> float:
        if feat is None:
            return 0.0
        e = float(np.mean(feat))
        if self.floor is None:
            self.floor, self.peak = e, e + 1.0
        self.floor = min(e, self.floor + 0.002 * (e - self.floor) if e > self.floor else e)
        self.peak = max(e, self.peak - 0.002 * (self.peak - self.floor))
        return float(np.clip((e - self.floor) / max(self.peak - self.floor, 1e-3), 0.0, 1.0))


class StandInSession:
    def __init__(self, gen: StandInGenerator, seed: int, session_id: str) -> None:
        self.gen, self.seed, self.session_id = gen, seed, session_id
        self.reset()

    def reset(self) -> None:
        self.rng = np.random.default_rng(self.seed)
        self.cfg_avatar, self.cfg_user = self.gen.cfg_avatar, self.gen.cfg_user
        self.conditions: dict[int, tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]] = {}
        self.pushed_frames = 0
        self.generated_frames = 0
        self._avatar_level, self._user_level = _Level(), _Level()
        self._jaw = 0.0
        self._nod = 0.0
        self._next_blink = int(self.rng.integers(40, 120))

    def set_guidance(self, cfg_avatar: float | None = None, cfg_user: float | None = None) -> None:
        """The stand-in reads guidance as reaction strength: cfg_avatar scales the jaw, cfg_user the nods."""
        if cfg_avatar is not None:
            self.cfg_avatar = cfg_avatar
        if cfg_user is not None:
            self.cfg_user = cfg_user

    def push(self, user_audio=None, avatar_audio=None, user_motion=None, frames: int | None = None) -> None:
        lengths = {len(x) for x in (user_audio, avatar_audio, user_motion) if x is not None}
        if frames is not None:
            lengths.add(int(frames))
        if len(lengths) != 1:
            raise ValueError(
                f"push needs inputs covering the same number of frames (or frames=n), got {sorted(lengths)}"
            )
        n = lengths.pop()
        for i in range(n):
            self.conditions[self.pushed_frames] = tuple(
                None if x is None else np.asarray(x[i]) for x in (user_audio, avatar_audio, user_motion)
            )
            self.pushed_frames += 1

    def ready(self) -> bool:
        return self.pushed_frames >= self.generated_frames + self.gen.block_size + self.gen.lookahead

    def _frame(self, k: int) -> np.ndarray:
        user_audio, avatar_audio, user_motion = self.conditions.pop(k)
        talk = self._avatar_level(avatar_audio)
        listen = self._user_level(user_audio)
        self._jaw += 0.6 * (min(1.0, talk * self.cfg_avatar / 2.0) - self._jaw)
        self._nod += 0.05 * (min(1.0, listen * self.cfg_user) - self._nod)
        v = np.zeros(NUM_CHANNELS, np.float32)
        t = k / FPS
        v[CHANNEL_INDEX["jawOpen"]] = 0.7 * self._jaw
        v[CHANNEL_INDEX["mouthClose"]] = 0.1 * (1 - self._jaw)
        v[CHANNEL_INDEX["mouthFunnel"]] = 0.2 * self._jaw * (0.5 + 0.5 * np.sin(7 * t))
        smile = 0.25 * self._nod
        v[CHANNEL_INDEX["mouthSmileLeft"]] = v[CHANNEL_INDEX["mouthSmileRight"]] = smile
        v[CHANNEL_INDEX["browInnerUp"]] = 0.3 * self._jaw * (0.5 + 0.5 * np.sin(1.3 * t))
        if k >= self._next_blink:
            phase = k - self._next_blink
            blink = [0.5, 1.0, 0.6, 0.2][phase] if phase < 4 else 0.0
            v[CHANNEL_INDEX["eyeBlinkLeft"]] = v[CHANNEL_INDEX["eyeBlinkRight"]] = blink
            if phase >= 4:
                self._next_blink = k + int(self.rng.integers(60, 140))
        v[CHANNEL_INDEX["headYaw"]] = 0.06 * np.sin(0.4 * t + self.seed)
        v[CHANNEL_INDEX["headPitch"]] = 0.03 * np.sin(0.27 * t) + 0.08 * self._nod * np.sin(2 * np.pi * 1.6 * t)
        v[CHANNEL_INDEX["headRoll"]] = 0.03 * np.sin(0.19 * t + 1)
        if user_motion is not None:  # mirror a little of the user's head pose: listening attention
            for name in ("headYaw", "headPitch", "headRoll"):
                v[CHANNEL_INDEX[name]] += 0.2 * float(user_motion[CHANNEL_INDEX[name]])
        return np.clip(v, _LO, _HI)

    def step(self) -> BlockOutput:
        first = self.generated_frames
        values = np.stack([self._frame(first + j) for j in range(self.gen.block_size)])
        self.generated_frames += self.gen.block_size
        lat = np.zeros((self.gen.block_size, self.gen.latent_dim), np.float32)
        lat[:, : min(self.gen.latent_dim, NUM_CHANNELS)] = values[:, : self.gen.latent_dim]
        return BlockOutput(first, values, lat)


class StandInGenerator:
    """Same shape as ``StreamingGenerator``: load → open_session → push → ready → step([...])."""

    kind = "stand-in"

    def __init__(self, block_size: int = 2, lookahead: int = 1, latent_dim: int = 16) -> None:
        self.block_size, self.lookahead, self.latent_dim = block_size, lookahead, latent_dim
        self.cfg_avatar, self.cfg_user = 2.0, 1.0
        self.feature_dim = AUDIO_FEATURE_DIM

    @classmethod
    def load(cls, checkpoint=None, device="auto", block_size=None, lookahead=None, **_: object) -> StandInGenerator:
        return cls(block_size or 2, 1 if lookahead is None else lookahead)

    def open_session(self, seed: int = 0, session_id: str = "default") -> StandInSession:
        return StandInSession(self, seed, session_id)

    def close_session(self, sess: StandInSession) -> None:
        sess.conditions.clear()

    def step(self, sessions: list[StandInSession]) -> list[BlockOutput]:
        return [s.step() for s in sessions if s.ready()]
