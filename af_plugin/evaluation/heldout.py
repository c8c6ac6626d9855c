"""Held-out conversations for evaluation, read from a corpus directory in the shared shard format.

A corpus (``af data synth`` or ``af data build``) is ``DIR/manifest.json`` plus, per conversation,
``DIR/<id>/{a,b}.wav`` (16 kHz mono) and ``DIR/<id>/{a,b}.npz`` (MotionClip, 25 fps). Evaluation uses the
conversations whose ``split`` is ``heldout``; one party plays the avatar, the other the user.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from af_plugin.constants import FPS, SAMPLES_PER_FRAME
from af_plugin.errors import AFError


class HeldoutDataError(AFError):
    """An evaluation corpus has no conversations of the requested split (or bad evaluation options)."""


@dataclass
class Conversation:
    """One evaluation item: aligned audio (samples) and motion (T, 62) of the avatar and of the user."""

    id: str
    avatar_audio: np.ndarray
    user_audio: np.ndarray
    avatar_motion: np.ndarray
    user_motion: np.ndarray

    @property
    def frames(self) -> int:
        return len(self.avatar_motion)

    def features(self) -> tuple[np.ndarray, np.ndarray]:
        """(avatar, user) log-mel features, (T, 320) each, computed by the perception layer."""
        from af_plugin.perception.features import logmel_frames

        n = self.frames
        return logmel_frames(self.avatar_audio)[:n], logmel_frames(self.user_audio)[:n]


def load_heldout(
    data_dir: str | Path,
    *,
    split: str = "heldout",
    roles: str = "a",
    max_conversations: int | None = None,
    max_seconds: float | None = None,
) -> list[Conversation]:
    """The conversations of ``split``, one item per avatar role in ``roles`` ("a", "b" or "ab").

    With role "a", party a is the avatar and b the user; "b" swaps them. Conversations are cut to
    ``max_seconds`` when given. Format problems raise the shard reader's DatasetFormatError.
    """
    from af_plugin.training import shards  # the one reader of the shard format (DatasetFormatError)

    if not roles or set(roles) - {"a", "b"}:
        raise HeldoutDataError(f"roles must be made of 'a' and 'b', got {roles!r}")
    manifest = shards.read_manifest(data_dir)
    ids = shards.conversation_ids(manifest, split)
    if not ids:
        splits = sorted({str(c.get("split")) for c in manifest["conversations"]})
        raise HeldoutDataError(f"{data_dir}: no conversations with split {split!r} (splits present: {splits})")
    out: list[Conversation] = []
    for conv_id in ids[:max_conversations]:
        a_audio, b_audio, a_motion, b_motion, _timeline = shards.load_conversation(data_dir, conv_id)
        parties = {"a": (a_audio, a_motion.values), "b": (b_audio, b_motion.values)}
        n = len(a_motion) if max_seconds is None else min(len(a_motion), int(max_seconds * FPS))
        if n < 2:
            raise HeldoutDataError(f"{data_dir}/{conv_id}: fewer than 2 frames")
        for avatar in roles:
            user = "b" if avatar == "a" else "a"
            out.append(
                Conversation(
                    id=f"{conv_id}:{avatar}",
                    avatar_audio=parties[avatar][0][: n * SAMPLES_PER_FRAME],
                    user_audio=parties[user][0][: n * SAMPLES_PER_FRAME],
                    avatar_motion=parties[avatar][1][:n],
                    user_motion=parties[user][1][:n],
                )
            )
    return out
