"""The whole `af eval`: held-out sets × methods, HDTF lip-sync, long-session drift, files and plots.

Kept apart from the CLI so scripts and tests can run it with their own generator loader.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from af_plugin.constants import FPS
from af_plugin.evaluation import report
from af_plugin.evaluation.baselines import DelayedMirror, model_methods
from af_plugin.evaluation.heldout import HeldoutDataError, load_heldout
from af_plugin.evaluation.machine import checkpoint_identity, machine_info
from af_plugin.evaluation.runner import METRIC_KEYS, EvalRun, evaluate

PARTS = ("methods", "hdtf", "drift")
"""What `af eval` can run: the method table on held-out data, HDTF lip-sync, the long-session drift."""


@dataclass
class EvalSettings:
    data: list[str]
    checkpoint: str | None = None
    checkpoint_no_dpo: str | None = None
    block_sizes: tuple[int, ...] = (1, 2, 5, 10)
    mirror_delay_s: float = 0.5
    roles: str = "a"
    max_conversations: int | None = None
    max_seconds: float | None = None
    drift_minutes: float = 2.0
    drift_window_s: float = 60.0
    hdtf_video: str | None = None
    sid_clusters: int = 40
    seed: int = 0
    generator_options: dict = field(default_factory=dict)
    out_dir: str | None = "benchmarks/results"
    tag: str = "eval"
    curve_plots: int = 2
    parts: tuple[str, ...] = PARTS


def run_suite(
    settings: EvalSettings,
    load_generator: Callable[..., Any],
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Run everything ``settings`` asks for; return the result dict (arrays included for plots)."""
    say = progress or (lambda _m: None)
    t_start = time.perf_counter()
    parts = set(settings.parts)
    if unknown := parts - set(PARTS):
        raise HeldoutDataError(f"unknown evaluation parts {sorted(unknown)}; choose from {', '.join(PARTS)}")
    methods = model_methods(
        load_generator,
        checkpoint=settings.checkpoint,
        checkpoint_no_dpo=settings.checkpoint_no_dpo,
        block_sizes=settings.block_sizes if "methods" in parts else (),
        seed=settings.seed,
        generator_options=settings.generator_options,
    )
    default_gen = methods[0].generator
    if "methods" in parts:
        methods.insert(1, DelayedMirror(settings.mirror_delay_s, name=f"mirror_{settings.mirror_delay_s:g}s"))
    else:
        methods = []
    result: dict[str, Any] = {
        "machine": machine_info(),
        "model": {
            "checkpoint": settings.checkpoint or "shipped default (af_plugin/assets/default_model.safetensors)",
            "checkpoint_no_dpo": settings.checkpoint_no_dpo,
            "weights_no_dpo": checkpoint_identity(settings.checkpoint_no_dpo) if settings.checkpoint_no_dpo else None,
            "block_size": default_gen.block_size,
            "lookahead": default_gen.lookahead,
            "note": getattr(default_gen, "note", ""),
            "stage": (getattr(default_gen, "metadata", None) or {}).get("stage"),
            "weights": checkpoint_identity(settings.checkpoint),
            "steps": getattr(default_gen, "steps", None),
            **{k: v for k, v in settings.generator_options.items() if v is not None},
        },
        "settings": {
            "roles": settings.roles,
            "max_conversations": settings.max_conversations,
            "max_seconds": settings.max_seconds,
            "sid_clusters": settings.sid_clusters,
            "seed": settings.seed,
            "mirror_delay_s": settings.mirror_delay_s,
            "block_sizes": list(settings.block_sizes),
        },
        "datasets": [],
    }
    runs = []
    for data_dir in settings.data:
        convs = load_heldout(
            data_dir,
            roles=settings.roles,
            max_conversations=settings.max_conversations,
            max_seconds=settings.max_seconds,
        )
        say(f"{data_dir}: {len(convs)} held-out conversations, {sum(c.frames for c in convs) / FPS:.0f} s")
        if methods:
            run = evaluate(convs, methods, sid_clusters=settings.sid_clusters, seed=settings.seed, progress=say)
        else:
            run = EvalRun(conversations=convs)
        runs.append(run)
        result["datasets"].append(
            {
                "name": Path(data_dir).name or str(data_dir),
                "path": str(data_dir),
                "conversations": len(convs),
                "seconds": sum(c.frames for c in convs) / FPS,
                "scores": run.scores,
                "descriptions": run.descriptions,
                "method_seconds": run.seconds,
            }
        )
    primary = result["datasets"][0]["scores"]
    result.update({k: primary["model"][k] if primary else None for k in METRIC_KEYS})
    result["real"] = primary.get("real")
    result["baselines"] = {k: v for k, v in primary.items() if k not in ("model", "real")}

    result["lipsync_hdtf_r"] = None
    if settings.hdtf_video and "hdtf" in parts:
        from af_plugin.evaluation.lipsync import hdtf_lipsync

        say(f"lip-sync on {settings.hdtf_video}")
        result["hdtf"] = hdtf_lipsync(default_gen, settings.hdtf_video, seed=settings.seed)
        result["lipsync_hdtf_r"] = result["hdtf"]["lipsync_hdtf_r"]

    result["drift"] = None
    if settings.drift_minutes and settings.drift_minutes > 0 and "drift" in parts:
        from af_plugin.evaluation.drift import run_drift

        conv = max(runs[0].conversations, key=lambda c: c.frames)
        say(f"drift: {settings.drift_minutes} min of {conv.id} looped through one session")
        result["drift"] = run_drift(
            default_gen,
            conv,
            minutes=settings.drift_minutes,
            window_s=settings.drift_window_s,
            sid_clusters=settings.sid_clusters,
            seed=settings.seed,
            progress=say,
        )
    result["wall_s"] = time.perf_counter() - t_start

    if settings.out_dir:
        result["files"] = write_outputs(result, runs, Path(settings.out_dir), settings.tag, settings.curve_plots)
    return result


def write_outputs(result: dict, runs: list, out_dir: Path, tag: str, curve_plots: int = 2) -> dict[str, str]:
    """``<tag>.json``, ``<tag>.md`` and ``<tag>_plots/*.png`` under ``out_dir``."""
    plots = out_dir / f"{tag}_plots"
    files: dict[str, str] = {}
    run = runs[0]
    if not run.scores:
        curve_plots = 0
    for i, conv in enumerate(run.conversations[:curve_plots]):
        shown = {k: run.outputs[k][i] for k in ("real", "model", "model_no_user") if k in run.outputs}
        mirror = next((k for k in run.outputs if k.startswith("mirror")), None)
        if mirror:
            shown[mirror] = run.outputs[mirror][i]
        files[f"curves_{i}"] = str(report.plot_curves(conv, shown, plots / f"curves_{i}.png"))
    if run.scores:
        files["scores"] = str(report.plot_scores(run.scores, plots / "scores.png"))
    if result.get("hdtf"):
        files["hdtf"] = str(report.plot_hdtf(result["hdtf"], plots / "hdtf_lipsync.png"))
    if result.get("drift"):
        files["drift"] = str(report.plot_drift(result["drift"], plots / "drift.png"))
        files["drift_curves"] = str(report.plot_drift_curves(result["drift"], plots / "drift_curves.png"))
    md = out_dir / f"{tag}.md"
    files["markdown"] = str(md)
    files["json"] = str(out_dir / f"{tag}.json")
    result["files"] = files
    md.parent.mkdir(parents=True, exist_ok=True)
    md.write_text(report.markdown_report(result) + "\n")
    report.write_json(result, out_dir / f"{tag}.json")
    return files
