"""Training windows from a shard dataset (``af data synth`` / ``af data build``; format in docs/data.md).

Each conversation is loaded once: both parties' audio → causal log-mel frames (perception.features), both
motions. A training window picks a conversation, a role (either party can be the avatar, the other is the
user) and a start frame, and returns

* ``motion``  (T, 62): the avatar's motion, frames [s, s+T);
* ``user_audio``, ``avatar_audio`` (P+T+A, 320), ``user_motion`` (P+T+A, 62), ``user_motion_present``:
  inputs of frames [s-P, s+T+A): P frames of past context (the Dual Motion Encoder's receptive field plus the
  DFoT's condition window) and A = max look-ahead frames of future, exactly what streaming would have seen.

Only the ``train`` split is ever sampled for training; ``heldout`` is for evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from af_plugin.errors import AFError
from af_plugin.perception.features import logmel_frames
from af_plugin.training import shards


class DatasetEmptyError(AFError):
    """The dataset has no usable conversation for the requested split."""


@dataclass
class Conversation:
    id: str
    audio: dict[str, np.ndarray]  # party → (N, 320) log-mel frames
    motion: dict[str, np.ndarray]  # party → (N, 62)
    valid: dict[str, np.ndarray]  # party → (N,) bool
    timeline: dict

    @property
    def frames(self) -> int:
        return len(self.motion["a"])


def load_split(root: str | Path, split: str | None = "train", limit: int | None = None) -> list[Conversation]:
    manifest = shards.read_manifest(root)
    ids = shards.conversation_ids(manifest, split)[:limit]
    convs = []
    for cid in ids:
        a_audio, b_audio, a_mot, b_mot, timeline = shards.load_conversation(root, cid)
        convs.append(
            Conversation(
                id=cid,
                audio={"a": logmel_frames(a_audio), "b": logmel_frames(b_audio)},
                motion={"a": a_mot.values, "b": b_mot.values},
                valid={"a": a_mot.valid, "b": b_mot.valid},
                timeline=timeline,
            )
        )
    if not convs:
        raise DatasetEmptyError(
            f"{root}: no conversations in split {split!r} (manifest lists {len(manifest['conversations'])})"
        )
    return convs


def describe(root: str | Path, convs: list[Conversation]) -> dict:
    """What a checkpoint records about its training data."""
    manifest = shards.read_manifest(root)
    return {
        "path": str(root),
        "seed": manifest.get("seed"),
        "generator": (manifest.get("rules") or {}).get("generator"),
        "conversations": len(convs),
        "hours": round(sum(c.frames for c in convs) / 25 / 3600, 4),
        "split": "train",
    }


class WindowSampler:
    """Random training windows (see module docstring); seeded, so a run is reproducible."""

    def __init__(self, convs: list[Conversation], window: int, past: int, future: int, seed: int = 0,
                 gain_db: float = 10.0):  # fmt: skip
        self.convs = [c for c in convs if c.frames >= window + past + future + 1]
        if not self.convs:
            raise DatasetEmptyError(f"no conversation is longer than one window ({window + past + future} frames)")
        self.window, self.past, self.future = window, past, future
        self.rng = np.random.default_rng(seed)
        self.gain = gain_db / 40.0  # features are log10(power)/4: 10 dB = 0.25
        w = np.array([c.frames - window - past - future for c in self.convs], float)
        self.p = w / w.sum()

    def sample(self, batch: int) -> dict[str, torch.Tensor]:
        T, P, A = self.window, self.past, self.future
        out: dict[str, list] = {k: [] for k in ("motion", "motion_valid", "user_audio", "avatar_audio", "user_motion",
                                                "user_motion_present")}  # fmt: skip
        for _ in range(batch):
            c = self.convs[self.rng.choice(len(self.convs), p=self.p)]
            av, us = ("a", "b") if self.rng.random() < 0.5 else ("b", "a")
            s = int(self.rng.integers(P, c.frames - T - A + 1))
            span = slice(s - P, s + T + A)
            out["motion"].append(c.motion[av][s : s + T])
            out["motion_valid"].append(c.valid[av][s : s + T])
            for key, party in (("user_audio", us), ("avatar_audio", av)):
                feats = c.audio[party][span]
                if self.gain:  # random microphone level, floored at digital silence
                    feats = np.maximum(feats + self.rng.uniform(-self.gain, self.gain), -1.5)
                out[key].append(feats)
            out["user_motion"].append(c.motion[us][span])
            out["user_motion_present"].append(c.valid[us][span])
        return {k: torch.from_numpy(np.stack(v)) for k, v in out.items()}
