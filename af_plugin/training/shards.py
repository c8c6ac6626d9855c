"""The dataset shard format (synthetic and real), read and written in one place.

    DIR/manifest.json            {"format": 1, "fps": 25, "sample_rate": 16000, "layout_version": 1,
                                  "seed": S, "rules": {...}, "conversations": [{"id", "split", "frames", ...}]}
    DIR/<id>/a.wav, b.wav        16 kHz mono PCM16, one party each, exactly frames × 640 samples
    DIR/<id>/a.npz, b.npz        MotionClip .npz, 25 fps, exactly ``frames`` frames
    DIR/<id>/timeline.json       turns / pauses / backchannels / overlaps (+ behaviour events if synthetic)
    DIR/<id>/done.json           written last: the conversation's manifest entry; its presence marks the
                                 conversation complete (resumable builds skip it)

Files are written byte-for-byte deterministically (fixed zip timestamps, sorted JSON keys), so the same
seed gives identical shards. docs/data.md describes the format for readers.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import soundfile as sf

from af_plugin.constants import FPS, SAMPLE_RATE, SAMPLES_PER_FRAME
from af_plugin.errors import AFError
from af_plugin.motion.clip import MotionClip
from af_plugin.motion.contract import LAYOUT_VERSION

FORMAT_VERSION = 1
PARTIES = ("a", "b")
DONE_MARKER = "done.json"


class DatasetFormatError(AFError):
    """A dataset directory or conversation is missing files or breaks the shard format."""


# --- writing -------------------------------------------------------------------------------------------
def _write_json(path: Path, obj: dict) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def write_motion_npz(clip: MotionClip, path: Path) -> None:
    """MotionClip's own .npz codec, re-zipped with fixed timestamps so identical data → identical bytes."""
    from af_plugin.motion.codecs import npz

    raw = io.BytesIO()
    npz.write(clip, raw)  # type: ignore[arg-type]  # np.savez_compressed accepts file objects
    raw.seek(0)
    tmp = path.with_suffix(".npz.tmp")
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in sorted(src.infolist(), key=lambda i: i.filename):
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            dst.writestr(fixed, src.read(info.filename))
    os.replace(tmp, path)


def write_wav(path: Path, pcm16: np.ndarray) -> None:
    tmp = path.with_suffix(".wav.tmp")
    sf.write(tmp, np.asarray(pcm16, np.int16), SAMPLE_RATE, subtype="PCM_16", format="WAV")
    os.replace(tmp, path)


def write_conversation(
    root: str | Path,
    conv_id: str,
    audio: dict[str, np.ndarray],
    motion: dict[str, np.ndarray | MotionClip],
    timeline: dict,
    entry: dict,
) -> Path:
    """Write one conversation (audio int16 or float in [-1, 1]; motion (frames, 62) or MotionClip), then
    its done marker. ``entry`` is its manifest record (id, split, frames are filled in)."""
    d = Path(root) / conv_id
    d.mkdir(parents=True, exist_ok=True)
    frames = None
    for party in PARTIES:
        clip = motion[party] if isinstance(motion[party], MotionClip) else MotionClip(motion[party], fps=FPS)
        frames = len(clip) if frames is None else frames
        if len(clip) != frames:
            raise DatasetFormatError(f"{conv_id}: party motions differ in length ({frames} vs {len(clip)})")
        pcm = np.asarray(audio[party])
        if pcm.dtype != np.int16:
            pcm = np.clip(np.round(np.asarray(pcm, np.float64) * 32767.0), -32768, 32767).astype(np.int16)
        if len(pcm) != frames * SAMPLES_PER_FRAME:
            raise DatasetFormatError(
                f"{conv_id}: party {party} audio has {len(pcm)} samples, expected {frames * SAMPLES_PER_FRAME}"
                f" (= {frames} frames × {SAMPLES_PER_FRAME})"
            )
        write_wav(d / f"{party}.wav", pcm)
        write_motion_npz(clip, d / f"{party}.npz")
    _write_json(d / "timeline.json", timeline)
    entry = {**entry, "id": conv_id, "frames": frames}
    _write_json(d / DONE_MARKER, entry)
    return d


def is_done(root: str | Path, conv_id: str) -> bool:
    """True when the conversation was completely written (its done marker exists and all files are there)."""
    d = Path(root) / conv_id
    names = [DONE_MARKER, "timeline.json"] + [f"{p}.{ext}" for p in PARTIES for ext in ("wav", "npz")]
    return all((d / n).is_file() for n in names)


def read_done(root: str | Path, conv_id: str) -> dict:
    return json.loads((Path(root) / conv_id / DONE_MARKER).read_text(encoding="utf-8"))


def write_manifest(root: str | Path, seed: int | None, rules: dict, conversations: list[dict], **extra) -> Path:
    manifest = {
        "format": FORMAT_VERSION,
        "fps": FPS,
        "sample_rate": SAMPLE_RATE,
        "layout_version": LAYOUT_VERSION,
        "seed": seed,
        "rules": rules,
        "conversations": sorted(conversations, key=lambda c: c["id"]),
        **extra,
    }
    path = Path(root) / "manifest.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_json(path, manifest)
    return path


# --- reading -------------------------------------------------------------------------------------------
def read_manifest(root: str | Path) -> dict:
    """The dataset's manifest, checked for format, rates and channel layout."""
    path = Path(root) / "manifest.json"
    if not path.is_file():
        raise DatasetFormatError(f"{root}: no manifest.json (is this a dataset made by `af data synth/build`?)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise DatasetFormatError(f"{path}: not valid JSON ({e})") from None
    expected = {"format": FORMAT_VERSION, "fps": FPS, "sample_rate": SAMPLE_RATE, "layout_version": LAYOUT_VERSION}
    for key, want in expected.items():
        if manifest.get(key) != want:
            raise DatasetFormatError(f"{path}: {key} is {manifest.get(key)!r}, this version reads {want}")
    if not isinstance(manifest.get("conversations"), list):
        raise DatasetFormatError(f"{path}: 'conversations' must be a list")
    return manifest


def conversation_ids(manifest: dict, split: str | None = None) -> list[str]:
    """Ids in manifest order, optionally only one split ("train" or "heldout")."""
    return [c["id"] for c in manifest["conversations"] if split is None or c["split"] == split]


def load_audio_pcm(path: Path) -> np.ndarray:
    """A shard WAV as float32 in [-1, 1]."""
    try:
        data, rate = sf.read(path, dtype="float32", always_2d=False)
    except (sf.LibsndfileError, RuntimeError, OSError) as e:
        raise DatasetFormatError(f"{path}: unreadable audio ({e})") from None
    if rate != SAMPLE_RATE or data.ndim != 1:
        raise DatasetFormatError(f"{path}: expected {SAMPLE_RATE} Hz mono, got {rate} Hz, shape {data.shape}")
    return data


def load_conversation(root: str | Path, conv_id: str) -> tuple[np.ndarray, np.ndarray, MotionClip, MotionClip, dict]:
    """(a_audio, b_audio, a_motion, b_motion, timeline): audio float32 16 kHz mono of frames × 640 samples,
    motion MotionClips of ``frames`` frames at 25 fps, the timeline dict."""
    d = Path(root) / conv_id
    if not is_done(root, conv_id):
        raise DatasetFormatError(f"{d}: conversation is missing or incomplete (no done marker or files)")
    audio = [load_audio_pcm(d / f"{p}.wav") for p in PARTIES]
    motion = [MotionClip.read(d / f"{p}.npz", fps=None) for p in PARTIES]
    timeline = json.loads((d / "timeline.json").read_text(encoding="utf-8"))
    frames = len(motion[0])
    for p, a, m in zip(PARTIES, audio, motion):
        if len(m) != frames or len(a) != frames * SAMPLES_PER_FRAME or abs(m.fps - FPS) > 1e-9:
            raise DatasetFormatError(
                f"{d}: party {p} has {len(m)} frames at {m.fps} fps and {len(a)} samples; expected {frames} "
                f"frames at {FPS} fps and {frames * SAMPLES_PER_FRAME} samples"
            )
    return audio[0], audio[1], motion[0], motion[1], timeline
