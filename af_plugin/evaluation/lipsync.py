"""Lip-sync on a real talking-head video: generated jawOpen vs the real speaker's tracked jawOpen.

The clip's own audio is the avatar's voice (no user: a talking head). The real speaker's jawOpen comes
from the perception layer's face tracker, the same one the runtime uses on a webcam. Tracking is cached
next to the user's other caches (keyed by the video's size and mtime) because MediaPipe over a few
hundred frames costs tens of CPU-seconds and the video never changes.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from af_plugin.evaluation import metrics as M
from af_plugin.motion.clip import MotionClip
from af_plugin.motion.contract import CHANNEL_INDEX

DEFAULT_VIDEO = Path("../shared/data/hdtf_katiehill_25fps.mp4")


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "af_plugin" / "eval"


def tracked_motion(video: str | Path, *, use_cache: bool = True) -> MotionClip:
    """The speaker's motion tracked from ``video`` by perception's ``track_video`` (cached as .npz)."""
    from af_plugin.perception.tracking import track_video

    video = Path(video)
    st = video.stat()
    key = hashlib.sha1(f"{video.resolve()}:{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()[:16]
    cached = _cache_dir() / f"track_{video.stem}_{key}.npz"
    if use_cache and cached.is_file():
        return MotionClip.read(cached)
    clip = track_video(video)
    if use_cache:
        try:
            clip.write(cached)
        except OSError:
            pass  # a read-only home only costs the next run the tracking time
    return clip


def hdtf_lipsync(generator: Any, video: str | Path = DEFAULT_VIDEO, *, seed: int = 0) -> dict:
    """Pearson r of generated vs tracked jawOpen on ``video``, plus both against the speech energy."""
    from af_plugin.model.streaming import generate_offline
    from af_plugin.perception.audio import load_audio
    from af_plugin.perception.features import logmel_frames

    audio = load_audio(video)
    tracked = tracked_motion(video)
    generated = generate_offline(
        generator, avatar_audio=logmel_frames(audio), user_audio=None, user_motion=None, seed=seed
    )
    energy = M.speech_energy(audio)
    n = min(len(generated), len(tracked), len(energy))
    valid = tracked.valid[:n]
    jaw = CHANNEL_INDEX[M.MOUTH_CHANNEL]
    gen_jaw = generated.values[:n, jaw][valid]
    real_jaw = tracked.values[:n, jaw][valid]
    return {
        "video": str(video),
        "frames": int(valid.sum()),
        "lipsync_hdtf_r": float(M.pearson_per_channel(gen_jaw, real_jaw)[0]),
        "generated_energy_r": float(M.pearson_per_channel(gen_jaw, energy[:n][valid])[0]),
        "tracked_energy_r": float(M.pearson_per_channel(real_jaw, energy[:n][valid])[0]),
        "generated_jaw": generated.values[:n, jaw],
        "tracked_jaw": tracked.values[:n, jaw],
        "valid": valid,
        "energy": energy[:n],
    }
