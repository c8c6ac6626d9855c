"""Held-out conversations for evaluation, read from a corpus directory in the shared shard format.

A corpus (``af data synth`` or ``af data build``) is ``DIR/manifest.json`` plus, per conversation,
``DIR/<id>/{a,b}.wav`` (16 kHz mono) and ``DIR/<id>/{a,b}.npz`` (MotionClip, 25 fps). Evaluation uses the
conversations whose ``split`` is ``heldout``; one party plays the avatar, the other the user.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from af_plugin.constants import FPS, SAMPLE_RATE, SAMPLES_PER_FRAME
from af_plugin.errors import AFError
from af_plugin.motion.clip import MotionClip


class HeldoutDataError(AFError):
    """An evaluation corpus is missing, malformed or has no held-out conversations."""


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

    def truncated(self, frames: int) -> Conversation:
        s = frames * SAMPLES_PER_FRAME
        return Conversation(
            self.id, self.avatar_audio[:s], self.user_audio[:s], self.avatar_motion[:frames], self.user_motion[:frames]
        )


def read_manifest(data_dir: str | Path) -> dict:
    path = Path(data_dir) / "manifest.json"
    if not path.is_file():
        raise HeldoutDataError(f"{data_dir}: no manifest.json; build a corpus with `af data synth` or `af data build`")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise HeldoutDataError(f"{path}: not valid JSON ({e})") from e
    if not isinstance(manifest, dict) or not isinstance(manifest.get("conversations"), list):
        raise HeldoutDataError(f"{path}: expected an object with a 'conversations' list")
    if manifest.get("fps", FPS) != FPS or manifest.get("sample_rate", SAMPLE_RATE) != SAMPLE_RATE:
        raise HeldoutDataError(
            f"{path}: corpus is at {manifest.get('fps')} fps / {manifest.get('sample_rate')} Hz, "
            f"expected {FPS} fps / {SAMPLE_RATE} Hz"
        )
    return manifest


def _party(conv_dir: Path, party: str) -> tuple[np.ndarray, np.ndarray]:
    from af_plugin.perception.audio import load_audio

    wav, npz = conv_dir / f"{party}.wav", conv_dir / f"{party}.npz"
    for p in (wav, npz):
        if not p.is_file():
            raise HeldoutDataError(f"{p}: missing (every conversation needs a.wav, b.wav, a.npz, b.npz)")
    return load_audio(wav), MotionClip.read(npz).values


def load_heldout(
    data_dir: str | Path,
    *,
    split: str = "heldout",
    roles: str = "a",
    max_conversations: int | None = None,
    max_seconds: float | None = None,
) -> list[Conversation]:
    """The conversations of ``split``, one item per avatar role in ``roles`` ("a", "b" or "ab").

    With role "a", party a is the avatar and b the user; "b" swaps them. Audio and motion are cut to
    their common whole-frame length (and to ``max_seconds`` when given).
    """
    if not roles or set(roles) - {"a", "b"}:
        raise HeldoutDataError(f"roles must be made of 'a' and 'b', got {roles!r}")
    data_dir = Path(data_dir)
    manifest = read_manifest(data_dir)
    entries = [c for c in manifest["conversations"] if c.get("split") == split]
    if not entries:
        splits = sorted({str(c.get("split")) for c in manifest["conversations"]})
        raise HeldoutDataError(f"{data_dir}: no conversations with split {split!r} (splits present: {splits})")
    if max_conversations is not None:
        entries = entries[:max_conversations]
    out: list[Conversation] = []
    for entry in entries:
        conv_dir = data_dir / str(entry["id"])
        parties = {p: _party(conv_dir, p) for p in ("a", "b")}
        n = min(len(parties[p][1]) for p in parties)
        n = min([n] + [len(parties[p][0]) // SAMPLES_PER_FRAME for p in parties])
        if max_seconds is not None:
            n = min(n, int(max_seconds * FPS))
        if n < 2:
            raise HeldoutDataError(f"{conv_dir}: fewer than 2 aligned frames")
        for avatar in roles:
            user = "b" if avatar == "a" else "a"
            out.append(
                Conversation(
                    id=f"{entry['id']}:{avatar}",
                    avatar_audio=parties[avatar][0][: n * SAMPLES_PER_FRAME],
                    user_audio=parties[user][0][: n * SAMPLES_PER_FRAME],
                    avatar_motion=parties[avatar][1][:n],
                    user_motion=parties[user][1][:n],
                )
            )
    return out
