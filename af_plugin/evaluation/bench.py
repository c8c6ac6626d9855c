"""Speed measurements behind `af bench`: latency, generator cost, KV cache, batching, renderer, tracker.

Each function measures one thing on the real component and returns plain numbers; other parts'
``benchmarks/bench_<part>.py`` scripts may import them. Ratios (KV cache vs recompute) are measured
side by side in one run, interleaved, so load on the shared machine hits both alike.

**Latency** of a frame = the time it leaves the runtime (emitted to the sinks) − the time the 40 ms audio
chunk that carries the frame's audio reached the runtime. ``engine_latency`` measures it on the runtime's
own real-time engine (25 fps clock, worker-thread generation, paced playout), reading the engine's
per-frame stamps. ``simulated_latency`` computes the same quantity without waiting in real time: chunk i
arrives at (i+1)·40 ms on a simulated clock, the real pipeline (streaming log-mel → push → step →
decode) runs on each arrival with measured compute, and frames play out one per 40 ms tick as the engine
does; a slow pipeline queues up exactly as it would live. A sound made at the very start of a chunk waits
up to 40 ms more for the chunk to complete (microphone buffering), which neither figure includes.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from af_plugin.constants import AUDIO_FEATURE_DIM, FPS, SAMPLE_RATE, SAMPLES_PER_FRAME
from af_plugin.motion.contract import CHANNEL_INDEX, NUM_CHANNELS

FRAME_S = 1.0 / FPS
_session_ids = itertools.count()  # generators refuse two open sessions with one id


def _percentiles(ms: list[float] | np.ndarray) -> dict[str, float]:
    a = np.asarray(ms, np.float64)
    if not len(a):
        return {"p50": float("nan"), "p95": float("nan"), "mean": float("nan"), "n": 0}
    return {
        "p50": float(np.percentile(a, 50)),
        "p95": float(np.percentile(a, 95)),
        "mean": float(a.mean()),
        "n": int(len(a)),
    }


def speech_like_audio(seconds: float, seed: int = 0, path: str | None = None) -> np.ndarray:
    """Speech-like 16 kHz audio: a real file when given and readable, else syllable-rate modulated noise."""
    n = int(seconds * SAMPLE_RATE)
    if path:
        try:
            from af_plugin.perception.audio import load_audio

            audio = load_audio(path)
            if len(audio):
                return np.resize(audio, n).astype(np.float32)
        except Exception:  # noqa: BLE001 - any unreadable file falls back to the synthetic signal
            pass
    rng = np.random.default_rng(seed)
    t = np.arange(n) / SAMPLE_RATE
    envelope = np.clip(np.sin(2 * np.pi * 4.0 * t), 0, None) * (np.sin(2 * np.pi * 0.2 * t) > -0.3)
    return (0.2 * envelope * rng.normal(size=n)).astype(np.float32)


def _features(audio: np.ndarray) -> np.ndarray:
    from af_plugin.perception.features import logmel_frames

    return logmel_frames(audio)


def _neutral_motion(frames: int) -> np.ndarray:
    """A user face that breathes a little (so user-motion paths do real work)."""
    v = np.zeros((frames, NUM_CHANNELS), np.float32)
    t = np.arange(frames) / FPS
    v[:, CHANNEL_INDEX["headPitch"]] = 0.03 * np.sin(2 * np.pi * 0.3 * t)
    v[:, CHANNEL_INDEX["jawOpen"]] = 0.1 * (1 + np.sin(2 * np.pi * 3 * t)) / 2
    return v


# --- latency ---------------------------------------------------------------------------------------------
def engine_latency(
    generator: Any,
    *,
    seconds: float = 10.0,
    avatar_voice: str | None = None,
    user_voice: str | None = None,
) -> dict:
    """Audio-in → frame-out latency on the runtime's real-time Engine, from its per-frame stamps.

    Both voices are looped files read in 40 ms chunks on the engine's 25 fps wall clock (the same
    ``FileAudioInput`` ``af run`` uses); the user's face is absent. Runs for ``seconds`` of wall time.
    """
    import asyncio

    from af_plugin.runtime.engine import Engine
    from af_plugin.runtime.generator import GeneratorInfo
    from af_plugin.runtime.sources import FileAudioInput

    if not (avatar_voice and user_voice):
        raise FileNotFoundError("engine latency needs two voice files (--voice)")
    info = GeneratorInfo("dfot", None, int(generator.block_size), int(generator.lookahead), "af bench")
    engine = Engine(generator, info, realtime=True, max_sessions=1)
    try:
        sess = engine.add_session(
            f"bench-{next(_session_ids)}",
            user_audio=FileAudioInput(user_voice, loop=True),
            avatar_audio=FileAudioInput(avatar_voice, loop=True),
        )
        asyncio.run(engine.run(duration=seconds, stop_when_finished=False))
    finally:
        engine.close()
        for s in engine.sessions.values():
            generator.close_session(s.gen_session)
    stages = sess.stats.summary()  # the engine keeps the last 250 frames: the steady state
    ms = sess.stats.values("audio_to_emitted")
    return {
        "latency_ms": _percentiles(ms),
        "stages_ms": stages,
        "algorithmic_ms": (generator.block_size - 1 + generator.lookahead) * FRAME_S * 1e3,
        "late_ticks": engine.late_ticks,
        "ticks": engine.ticks,
        "block_size": generator.block_size,
        "lookahead": generator.lookahead,
        "seconds": seconds,
        "clock": "runtime Engine, real time",
    }


def paced_playout(ready: list[tuple[float, int]], block_size: int) -> list[tuple[float, int]]:
    """Emission times under the engine's playout rule: on each 40 ms tick, of the generated frames waiting,
    emit one, or catch up at once to one block's worth when more are queued (``Engine._playout``)."""
    ready = sorted(ready)
    out: list[tuple[float, int]] = []
    queued: list[int] = []
    k = 0
    tick = 1
    while k < len(ready) or queued:
        now = tick * FRAME_S
        while k < len(ready) and ready[k][0] <= now:
            queued.append(ready[k][1])
            k += 1
        n = min(len(queued), 1 + max(0, len(queued) - block_size))
        out.extend((now, i) for i in queued[:n])
        del queued[:n]
        tick += 1
    return out


def simulated_latency(
    generator: Any,
    *,
    seconds: float = 10.0,
    avatar_audio: np.ndarray | None = None,
    user_audio: np.ndarray | None = None,
    seed: int = 0,
) -> dict:
    """The same latency on a simulated 25 fps clock (measured compute, simulated waiting, paced playout).

    Both voices are fed live (streaming log-mel on each 40 ms chunk); the user's face is a synthetic
    motion track given per frame, as a tracker would. Returns percentiles, the algorithmic part
    ((block − 1 + lookahead) × 40 ms: what the first frame of a block waits for the rest of its block and
    the lookahead, which no compute speed-up removes) and compute per block.
    """
    from af_plugin.perception.features import StreamingLogMel

    frames = int(seconds * FPS)
    n_samples = frames * SAMPLES_PER_FRAME
    avatar_audio = speech_like_audio(seconds, seed) if avatar_audio is None else np.resize(avatar_audio, n_samples)
    user_audio = speech_like_audio(seconds, seed + 1) if user_audio is None else np.resize(user_audio, n_samples)
    user_motion = _neutral_motion(frames)
    mel_a, mel_u = StreamingLogMel(), StreamingLogMel()
    sess = generator.open_session(seed=seed, session_id=f"bench-{next(_session_ids)}")
    pending_a: list[np.ndarray] = []
    pending_u: list[np.ndarray] = []
    pushed = 0
    busy_until = 0.0
    ready: list[tuple[float, int]] = []  # (time a frame is generated, its index)
    compute_ms: list[float] = []
    try:
        for k in range(frames):
            arrive = (k + 1) * FRAME_S  # tick k+1: chunk k (frame k's audio) is complete
            start = max(arrive, busy_until)
            chunk = slice(k * SAMPLES_PER_FRAME, (k + 1) * SAMPLES_PER_FRAME)
            t0 = time.perf_counter()
            pending_a.extend(mel_a.push(avatar_audio[chunk]))
            pending_u.extend(mel_u.push(user_audio[chunk]))
            n = min(len(pending_a), len(pending_u))
            if n:
                sess.push(
                    user_audio=np.stack(pending_u[:n]),
                    avatar_audio=np.stack(pending_a[:n]),
                    user_motion=user_motion[pushed : pushed + n],
                )
                del pending_a[:n], pending_u[:n]
                pushed += n
            outs = []
            while sess.ready():
                t1 = time.perf_counter()
                outs.extend(generator.step([sess]))
                compute_ms.append((time.perf_counter() - t1) * 1e3)
            done = start + (time.perf_counter() - t0)
            busy_until = done
            ready.extend((done, blk.first_index + j) for blk in outs for j in range(len(blk.values)))
    finally:
        generator.close_session(sess)
    latencies = [(t - (i + 1) * FRAME_S) * 1e3 for t, i in paced_playout(ready, generator.block_size)]
    warm = latencies[len(latencies) // 10 :]  # the first blocks pay one-off warm-up costs
    return {
        "latency_ms": _percentiles(warm),
        "algorithmic_ms": (generator.block_size - 1 + generator.lookahead) * FRAME_S * 1e3,
        "compute_ms_per_block": _percentiles(compute_ms[len(compute_ms) // 10 :]),
        "block_size": generator.block_size,
        "lookahead": generator.lookahead,
        "seconds": seconds,
        "clock": "simulated 25 fps (measured compute, simulated waiting, paced playout)",
    }


# --- generator cost -------------------------------------------------------------------------------------
def _conditions(frames: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Real log-mel features of speech-like audio for both voices, and a user motion track."""
    audio_a = speech_like_audio(frames / FPS + 0.1, seed)
    audio_u = speech_like_audio(frames / FPS + 0.1, seed + 1)
    fa, fu = _features(audio_a)[:frames], _features(audio_u)[:frames]
    assert fa.shape[1] == AUDIO_FEATURE_DIM
    return fa, fu, _neutral_motion(frames)


def _open_filled(generator: Any, count: int, blocks: int, seed: int = 0) -> list:
    frames = blocks * generator.block_size + generator.lookahead
    fa, fu, um = _conditions(frames, seed)
    sessions = []
    for i in range(count):
        s = generator.open_session(seed=seed + i, session_id=f"bench-{next(_session_ids)}")
        s.push(user_audio=fu, avatar_audio=fa, user_motion=um)
        sessions.append(s)
    return sessions


def step_times(generator: Any, *, sessions: int = 1, blocks: int = 20, warmup: int = 2) -> list[float]:
    """Wall ms of each batched ``generator.step`` over ``sessions`` sessions (after ``warmup`` steps)."""
    opened = _open_filled(generator, sessions, blocks + warmup)
    times = []
    try:
        for b in range(blocks + warmup):
            t0 = time.perf_counter()
            outs = generator.step(opened)
            dt = (time.perf_counter() - t0) * 1e3
            if len(outs) != sessions:
                raise RuntimeError(f"step returned {len(outs)} blocks for {sessions} ready sessions")
            if b >= warmup:
                times.append(dt)
    finally:
        for s in opened:
            generator.close_session(s)
    return times


def steady_state_warmup(generator: Any) -> int:
    """Blocks after which a session's KV cache holds its full context: the cost of every later block."""
    try:
        context = int(generator.net.cfg.dfot.context)
    except AttributeError:
        return 2
    return -(-(context + generator.block_size) // generator.block_size)


def generator_cost(generator: Any, *, blocks: int = 20, warmup: int | None = None) -> dict:
    """ms per block of one session in the steady state (full context) and the real-time factor
    (compute time / audio time)."""
    warmup = steady_state_warmup(generator) if warmup is None else warmup
    ms = step_times(generator, sessions=1, blocks=blocks, warmup=warmup)
    p = _percentiles(ms)
    return {"ms_per_block": p, "rtf": p["p50"] / (generator.block_size * FRAME_S * 1e3), "warmup_blocks": warmup}


def sessions_fps(
    generator: Any, counts: tuple[int, ...] = (1, 8, 64), *, blocks: int = 5, warmup: int | None = None
) -> dict[str, float]:
    """Frames per second generated in total by N sessions stepped together in one batched forward
    (in the steady state: after ``warmup`` blocks, default enough to fill the context)."""
    warmup = steady_state_warmup(generator) if warmup is None else warmup
    out = {}
    for n in counts:
        ms = np.median(step_times(generator, sessions=n, blocks=blocks, warmup=warmup))
        out[str(n)] = float(n * generator.block_size / (ms / 1e3))
    return out


def kv_cache_speedup(
    generator: Any, set_cache: Callable[[Any, bool], Any], *, blocks: int = 10, history_blocks: int = 10
) -> dict:
    """Per-block cost with the KV cache vs recomputing the whole history, measured interleaved.

    ``set_cache(generator, enabled)`` switches the generator's mode (the model exposes how). Both modes
    first stream ``history_blocks`` blocks so the recompute path has a history to redo, like a session
    that has been running; the ratio is median(recompute) / median(cache).
    """
    results: dict[bool, list[float]] = {True: [], False: []}
    sessions = {}
    total = history_blocks + blocks
    try:
        for enabled in (True, False):
            set_cache(generator, enabled)
            (sessions[enabled],) = _open_filled(generator, 1, total)
            for _ in range(history_blocks):
                generator.step([sessions[enabled]])
        for _ in range(blocks):  # interleave: shared-CPU noise hits both modes alike
            for enabled in (True, False):
                set_cache(generator, enabled)
                t0 = time.perf_counter()
                generator.step([sessions[enabled]])
                results[enabled].append((time.perf_counter() - t0) * 1e3)
    finally:
        set_cache(generator, True)
        for s in sessions.values():
            generator.close_session(s)
    cached, recompute = np.median(results[True]), np.median(results[False])
    return {
        "speedup": float(recompute / cached),
        "cache_ms_per_block": float(cached),
        "recompute_ms_per_block": float(recompute),
        "history_frames": history_blocks * generator.block_size,
    }


# --- renderer and tracker ----------------------------------------------------------------------------------
def motion_sweep(frames: int) -> np.ndarray:
    """Varied, in-range motion (talking, blinking, turning) to render."""
    v = _neutral_motion(frames)
    t = np.arange(frames) / FPS
    v[:, CHANNEL_INDEX["jawOpen"]] = 0.4 * (1 + np.sin(2 * np.pi * 2.5 * t)) / 2
    v[:, CHANNEL_INDEX["eyeBlinkLeft"]] = v[:, CHANNEL_INDEX["eyeBlinkRight"]] = np.sin(2 * np.pi * 0.4 * t) > 0.95
    v[:, CHANNEL_INDEX["headYaw"]] = 0.3 * np.sin(2 * np.pi * 0.2 * t)
    v[:, CHANNEL_INDEX["mouthSmileLeft"]] = v[:, CHANNEL_INDEX["mouthSmileRight"]] = 0.3 * (1 + np.sin(t)) / 2
    return v


def render_fps(renderer: Any, *, frames: int = 50, warmup: int = 3) -> float:
    """Frames per second of ``renderer.render(values)`` over varied motion."""
    values = motion_sweep(frames + warmup)
    for v in values[:warmup]:
        renderer.render(v)
    t0 = time.perf_counter()
    for v in values[warmup:]:
        renderer.render(v)
    return frames / (time.perf_counter() - t0)


def video_frames(path: str, count: int) -> list[np.ndarray]:
    """The first ``count`` frames of a video as BGR uint8 arrays (what a webcam gives the tracker)."""
    from itertools import islice

    from af_plugin.perception.tracker import read_video

    return list(islice(read_video(path), count))


def tracker_fps(process: Callable[[np.ndarray], Any], frames: list[np.ndarray], *, warmup: int = 3) -> float:
    """Frames per second of a per-frame tracker (``LiveFaceTracking.process``) on real video frames."""
    for f in frames[:warmup]:
        process(f)
    timed = frames[warmup:] or frames
    t0 = time.perf_counter()
    for f in timed:
        process(f)
    return len(timed) / (time.perf_counter() - t0)
