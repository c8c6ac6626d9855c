"""Methods compared side by side on the same held-out inputs: the model, its ablations and simple baselines.

A method turns one ``Conversation`` into the avatar's motion ``(T, 62)``. Every method sees exactly the
same inputs; the model variants run through the same streaming path as the live runtime
(``generate_offline``), so what is measured is what users get.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from af_plugin.constants import FPS
from af_plugin.evaluation.heldout import Conversation


class Method(Protocol):
    name: str
    description: str

    def generate(self, conv: Conversation) -> np.ndarray:
        """The avatar motion for ``conv``: (conv.frames, 62) float32."""
        ...


def _fit_length(values: np.ndarray, frames: int) -> np.ndarray:
    """Cut or edge-pad a (T', 62) array to exactly ``frames`` rows."""
    values = np.asarray(values, np.float32)
    if len(values) >= frames:
        return values[:frames]
    pad = np.repeat(values[-1:], frames - len(values), axis=0) if len(values) else np.zeros((frames, values.shape[1]))
    return np.concatenate([values, pad]).astype(np.float32)


@dataclass
class RealAvatar:
    """The recorded avatar itself: the reference every metric compares against (rPCC 0, FD 0)."""

    name: str = "real"
    description: str = "recorded avatar motion (reference)"

    def generate(self, conv: Conversation) -> np.ndarray:
        return conv.avatar_motion


@dataclass
class DelayedMirror:
    """Copy the user's motion with a delay (the first frames hold the user's first frame).

    A strong reactiveness baseline: it correlates with the user by construction, yet ignores the avatar's
    own voice, so its lip-sync is the user's.
    """

    delay_s: float = 0.5
    name: str = "mirror"
    description: str = ""

    def __post_init__(self) -> None:
        self.delay_frames = int(round(self.delay_s * FPS))
        self.description = self.description or f"user motion delayed by {self.delay_frames} frames ({self.delay_s} s)"

    def generate(self, conv: Conversation) -> np.ndarray:
        user = conv.user_motion
        d = min(self.delay_frames, len(user))
        return np.concatenate([np.repeat(user[:1], d, axis=0), user[: len(user) - d]]).astype(np.float32)


@dataclass
class ModelMethod:
    """The streaming generator on one conversation, optionally without the user's conditions.

    ``use_user=False`` drops the user's audio and motion (passed as absent, not zero-filled): the
    non-reactive talker the paper's DPO pushes away from.
    """

    name: str
    generator: Any
    use_user: bool = True
    seed: int = 0
    description: str = ""
    _feature_cache: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not self.description:
            g = self.generator
            self.description = f"block {g.block_size}, lookahead {g.lookahead}" + (
                "" if self.use_user else ", no user conditions"
            )

    @property
    def cache_key(self) -> tuple:
        """Methods with equal keys produce identical motion (same generator, inputs and seed)."""
        return (id(self.generator), self.use_user, self.seed)

    def generate(self, conv: Conversation) -> np.ndarray:
        from af_plugin.model.streaming import generate_offline

        if conv.id not in self._feature_cache:
            self._feature_cache[conv.id] = conv.features()
        avatar_feats, user_feats = self._feature_cache[conv.id]
        clip = generate_offline(
            self.generator,
            avatar_audio=avatar_feats,
            user_audio=user_feats if self.use_user else None,
            user_motion=conv.user_motion if self.use_user else None,
            seed=self.seed,
        )
        return _fit_length(clip.values, conv.frames)


class SharedFeatures(dict):
    """One feature cache shared by all model methods, so log-mels are computed once per conversation."""


def model_methods(
    load_generator: Any,
    *,
    checkpoint: str | None,
    checkpoint_no_dpo: str | None = None,
    block_sizes: tuple[int, ...] = (1, 2, 5, 10),
    seed: int = 0,
    generator_options: dict | None = None,
) -> list[ModelMethod]:
    """The model and its ablations: default, no user conditions, no DPO, and each block size.

    ``load_generator(checkpoint, **options)`` returns a StreamingGenerator (injected so tests and callers
    can choose device and sampler settings). The variant at the default block size reuses the default
    generator's outputs: same model, same seed, same inputs.
    """
    opts = dict(generator_options or {})
    cache = SharedFeatures()
    default = load_generator(checkpoint, **opts)
    methods = [
        ModelMethod("model", default, seed=seed, _feature_cache=cache),
        ModelMethod("model_no_user", default, use_user=False, seed=seed, _feature_cache=cache),
    ]
    if checkpoint_no_dpo:
        methods.append(
            ModelMethod("model_no_dpo", load_generator(checkpoint_no_dpo, **opts), seed=seed, _feature_cache=cache)
        )
    for b in block_sizes:
        gen = default if b == default.block_size else load_generator(checkpoint, **{**opts, "block_size": b})
        methods.append(ModelMethod(f"model_block{b}", gen, seed=seed, _feature_cache=cache))
    return methods
