"""The whole `af bench`: every measurement of ``bench.py`` on the real components, one JSON result.

Kept apart from the CLI so tests and scripts can run it with their own generator loader.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from af_plugin.evaluation import bench as B
from af_plugin.evaluation.machine import checkpoint_identity, machine_info


@dataclass
class BenchSettings:
    checkpoint: str | None = None
    generator_options: dict = field(default_factory=dict)
    session_counts: tuple[int, ...] = (1, 8, 64)
    seconds: float = 20.0
    quick: bool = False
    video: str | None = None
    voice: str | None = None
    user_voice: str | None = None
    portrait: str | None = None
    latency_block_sizes: tuple[int, ...] = (1, 2, 5, 10)


def kv_cache_switch(generator: Any) -> Callable[[Any, bool], None] | None:
    """How to turn the generator's KV cache off and on, or None when it offers no recompute mode."""
    if isinstance(getattr(generator, "kv_cache", None), bool):  # StreamingGenerator.kv_cache

        def switch(gen: Any, enabled: bool) -> None:
            gen.kv_cache = enabled

        return switch
    return None


def full_history_blocks(generator: Any) -> int:
    """Blocks of history that fill the model's whole receptive field (n_layers × context frames): the
    steady state of a long session, where recomputing costs the most."""
    try:
        cfg = generator.net.cfg.dfot
        frames = cfg.n_layers * cfg.context
    except AttributeError:
        frames = 40
    return -(-frames // generator.block_size)


def _try(name: str, fn: Callable[[], Any], errors: dict, say: Callable[[str], None]) -> Any:
    """Run one measurement; a part that cannot run here is recorded with its reason, not fatal."""
    say(name)
    try:
        return fn()
    except Exception as e:  # noqa: BLE001 - a missing part is reported in the JSON with its reason
        errors[name] = f"{type(e).__name__}: {e}"
        say(f"{name}: skipped ({errors[name]})")
        return None


def run_bench(settings: BenchSettings, load_generator: Callable[..., Any], progress=None) -> dict:
    say = progress or (lambda _m: None)
    errors: dict[str, str] = {}
    t_start = time.perf_counter()
    opts = {k: v for k, v in settings.generator_options.items() if v is not None}
    gen = load_generator(settings.checkpoint, **opts)
    quick = settings.quick
    voice = None
    if settings.voice:
        from af_plugin.perception.audio import load_audio

        voice = load_audio(settings.voice)

    simulated = _try(
        "latency_simulated",
        lambda: B.simulated_latency(gen, seconds=settings.seconds, avatar_audio=voice),
        errors,
        say,
    )
    engine = None
    if settings.voice and settings.user_voice:
        engine = _try(
            "latency_engine",
            lambda: B.engine_latency(
                gen, seconds=settings.seconds, avatar_voice=settings.voice, user_voice=settings.user_voice
            ),
            errors,
            say,
        )
    else:
        errors["latency_engine"] = "needs an avatar and a user voice file (--voice, --user-voice)"
    latency = engine if engine and engine["latency_ms"]["n"] else simulated
    cost = _try(
        "generator", lambda: B.generator_cost(gen, blocks=5 if quick else 30, warmup=2 if quick else None), errors, say
    )
    kv = None
    switch = kv_cache_switch(gen)
    if switch is None:
        errors["kv_cache"] = "the generator offers no recompute mode (no kv_cache flag)"
    else:
        history = 5 if quick else full_history_blocks(gen)
        kv = _try(
            "kv_cache",
            lambda: B.kv_cache_speedup(gen, switch, blocks=3 if quick else 10, history_blocks=history),
            errors,
            say,
        )
    sessions = _try(
        "sessions",
        lambda: B.sessions_fps(gen, settings.session_counts, blocks=2 if quick else 5, warmup=1 if quick else None),
        errors,
        say,
    )

    def _render() -> dict:
        from af_plugin.config import RenderConfig
        from af_plugin.render import make_renderer

        frames = 10 if quick else 100
        out = {"stylized_512": B.render_fps(make_renderer(RenderConfig()), frames=frames)}
        if settings.portrait and not quick:
            cfg = RenderConfig(style="portrait", portrait=settings.portrait)
            out["portrait_512"] = B.render_fps(make_renderer(cfg), frames=frames)
        return out

    renders = _try("renderer", _render, errors, say)

    def _tracker() -> float:
        from af_plugin.perception.tracking import LiveFaceTracking

        if not settings.video:
            raise FileNotFoundError("no video to track (--video)")
        frames = B.video_frames(settings.video, 12 if quick else 100)
        tracking = LiveFaceTracking()
        try:
            return B.tracker_fps(tracking.process, frames)
        finally:
            close = getattr(tracking, "close", None)
            if close:
                close()

    tracker = _try("tracker", _tracker, errors, say)

    by_block = {}
    if not quick:
        for b in settings.latency_block_sizes:
            g = gen if b == gen.block_size else load_generator(settings.checkpoint, **{**opts, "block_size": b})
            lat = _try(
                f"latency_block{b}",
                lambda g=g: B.simulated_latency(g, seconds=min(settings.seconds, 20.0), avatar_audio=voice),
                errors,
                say,
            )
            if lat:
                by_block[str(b)] = {
                    **lat["latency_ms"],
                    "algorithmic_ms": lat["algorithmic_ms"],
                    "compute_ms_per_block": lat["compute_ms_per_block"]["p50"],
                }

    return {
        "latency_ms_p50": latency["latency_ms"]["p50"] if latency else None,
        "latency_ms_p95": latency["latency_ms"]["p95"] if latency else None,
        "generator_ms_per_block": cost["ms_per_block"]["p50"] if cost else None,
        "rtf": cost["rtf"] if cost else None,
        "kv_cache_speedup": kv["speedup"] if kv else None,
        "sessions_fps": sessions,
        "render_fps": renders["stylized_512"] if renders else None,
        "tracker_fps": tracker,
        "machine": machine_info(),
        "model": {
            "checkpoint": settings.checkpoint or "shipped default (af_plugin/assets/default_model.safetensors)",
            "kind": getattr(gen, "kind", type(gen).__name__),
            "block_size": gen.block_size,
            "lookahead": gen.lookahead,
            "note": getattr(gen, "note", ""),
            "stage": (getattr(gen, "metadata", None) or {}).get("stage"),
            "weights": checkpoint_identity(settings.checkpoint),
            "steps": getattr(gen, "steps", None),
            **opts,
        },
        "latency": latency,
        "latency_engine": engine,
        "latency_simulated": simulated,
        "latency_by_block": by_block,
        "generator": cost,
        "kv_cache": kv,
        "render": renders,
        "quick": quick,
        "skipped": errors,
        "wall_s": time.perf_counter() - t_start,
    }
