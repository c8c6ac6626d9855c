"""Long-session drift: one streaming session fed looped inputs for many minutes, scored per window.

The public fork of Avatar Forcing lost sharpness over minutes and overflowed its position table after
~41 s; a runtime that streams for hours must keep its statistics. We feed one held-out conversation,
looped, through a single session exactly as the runtime does (push conditions, step when ready) and
score each window (60 s by default) against the real avatar motion of the same looped frames. The
figures to compare are the first window and the last.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from af_plugin.constants import FPS
from af_plugin.evaluation import metrics as M
from af_plugin.evaluation.heldout import Conversation
from af_plugin.evaluation.runner import Reference, score
from af_plugin.motion.contract import NUM_CHANNELS


def _loop(x: np.ndarray, n: int) -> np.ndarray:
    reps = -(-n // len(x))
    return np.concatenate([x] * reps)[:n]


def stream_session(
    generator: Any,
    avatar_feats: np.ndarray,
    user_feats: np.ndarray | None,
    user_motion: np.ndarray | None,
    frames: int,
    *,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, list[float]]:
    """Run ``frames`` frames through one session, pushing one block of conditions at a time.

    Inputs shorter than ``frames`` are looped. Returns the generated motion (frames, 62) and the
    wall-clock milliseconds of each ``generator.step``.
    """
    block, lookahead = generator.block_size, generator.lookahead
    total_in = frames + block + lookahead  # enough conditions that every wanted frame becomes ready
    avatar_feats = _loop(avatar_feats, total_in)
    user_feats = None if user_feats is None else _loop(user_feats, total_in)
    user_motion = None if user_motion is None else _loop(user_motion, total_in)
    sess = generator.open_session(seed=seed, session_id=f"drift-{time.monotonic_ns()}")
    out = np.zeros((frames, NUM_CHANNELS), np.float32)
    step_ms: list[float] = []
    pushed = produced = 0
    try:
        while produced < frames:
            while not sess.ready() and pushed < total_in:
                n = min(block, total_in - pushed)
                sl = slice(pushed, pushed + n)
                sess.push(
                    user_audio=None if user_feats is None else user_feats[sl],
                    avatar_audio=avatar_feats[sl],
                    user_motion=None if user_motion is None else user_motion[sl],
                )
                pushed += n
            t0 = time.perf_counter()
            (blk,) = generator.step([sess])
            step_ms.append((time.perf_counter() - t0) * 1e3)
            lo = blk.first_index
            hi = min(lo + len(blk.values), frames)
            if hi > lo:
                out[lo:hi] = blk.values[: hi - lo]
            produced = max(produced, lo + len(blk.values))
            if progress:
                progress(min(produced, frames))
    finally:
        generator.close_session(sess)
    return out, step_ms


TREND_KEYS = ("rpcc_exp", "rpcc_pose", "sid", "var", "fd", "lipsync_r", "mean_abs_head_rotation")


def drift_trend(windows: list[dict]) -> dict[str, float]:
    """Least-squares slope of each metric over session time, per 10 minutes: window-to-window content
    varies (the windows cut the looped input at different places), a trend is what drift would show."""
    t = np.array([(w["start_s"] + w["end_s"]) / 2 / 600 for w in windows])
    if len(windows) < 3:
        return {}
    return {k: float(np.polyfit(t, [w[k] for w in windows], 1)[0]) for k in TREND_KEYS}


def run_drift(
    generator: Any,
    conv: Conversation,
    *,
    minutes: float,
    window_s: float = 60.0,
    sid_clusters: int = M.DEFAULT_SID_CLUSTERS,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Stream ``minutes`` of looped ``conv`` through one session; score every ``window_s`` window.

    Returns ``{"minutes", "window_s", "windows": [{"start_s", "end_s", <metrics>...}], "first", "last",
    "step_ms_first", "step_ms_last", "output": (frames, 62)}``; ``output`` is dropped from JSON reports.
    """
    frames = max(int(round(minutes * 60 * FPS)), 2)
    window = int(round(window_s * FPS))
    window = max(2, min(window, frames // 2 if frames >= 4 else frames))
    avatar_feats, user_feats = conv.features()
    last_report = [0.0]

    def tick(done: int) -> None:
        if progress and time.monotonic() - last_report[0] > 10:
            last_report[0] = time.monotonic()
            progress(f"drift: {done / FPS / 60:.1f} / {frames / FPS / 60:.1f} min")

    t0 = time.perf_counter()
    generated, step_ms = stream_session(
        generator, avatar_feats, user_feats, conv.user_motion, frames, seed=seed, progress=tick
    )
    wall = time.perf_counter() - t0
    real = _loop(conv.avatar_motion, frames)
    user = _loop(conv.user_motion, frames)
    energy = _loop(M.speech_energy(conv.avatar_audio, conv.frames), frames)
    starts = list(range(0, frames - window + 1, window))
    if starts[-1] + window < frames:  # always score the very end of the session as the last window
        starts.append(frames - window)
    windows = []
    for s in starts:
        sl = slice(s, s + window)
        ref = Reference.build([real[sl]], [user[sl]], [energy[sl]], sid_clusters=sid_clusters, seed=seed)
        w = {"start_s": s / FPS, "end_s": (s + window) / FPS, **score([generated[sl]], ref)}
        real_scores = score([real[sl]], ref)  # the real avatar's own richness / lip-sync on these frames
        w.update({f"real_{k}": real_scores[k] for k in ("sid", "var", "lipsync_r")})
        w["mean_abs_head_rotation"] = float(np.abs(M.pose(generated[sl])[:, :3]).mean())
        windows.append(w)
    n_steps = max(1, len(step_ms) // 10)
    return {
        "minutes": frames / FPS / 60,
        "window_s": window / FPS,
        "block_size": generator.block_size,
        "conversation": conv.id,
        "loop_s": conv.frames / FPS,
        "wall_s": wall,
        "rtf": wall / (frames / FPS),
        "windows": windows,
        "first": windows[0],
        "last": windows[-1],
        "trend_per_10min": drift_trend(windows),
        "step_ms_first": float(np.median(step_ms[:n_steps])),
        "step_ms_last": float(np.median(step_ms[-n_steps:])),
        "output": generated,
    }
