"""Evaluation reports: a JSON file, a markdown table and PNG plots a person can look at.

Plots use matplotlib's Agg backend (no display needed). Every figure shows its units and which line is
which; curves are drawn on the frame grid in seconds.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from af_plugin.constants import FPS
from af_plugin.evaluation import metrics as M
from af_plugin.motion.contract import CHANNEL_INDEX

COLUMNS = (
    ("rpcc_exp", "rPCC-Exp ↓"),
    ("rpcc_pose", "rPCC-Pose ↓"),
    ("sid", "SID (real ≈)"),
    ("var", "Var (real ≈)"),
    ("fd", "FD ↓"),
    ("lipsync_r", "lip-sync r ↑"),
)


def to_jsonable(obj):
    """Drop arrays (kept in memory for plots only) and turn numpy scalars into plain numbers."""
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items() if not isinstance(v, np.ndarray)}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def write_json(result: Mapping, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_jsonable(result), indent=2) + "\n")
    return path


def _fmt(v) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.3f}" if abs(v) < 1000 else f"{v:.0f}"
    return str(v)


def markdown_table(scores: Mapping[str, Mapping[str, float]], descriptions: Mapping[str, str] | None = None) -> str:
    """One row per method (``real`` first), one column per headline metric."""
    descriptions = descriptions or {}
    head = "| method | " + " | ".join(label for _, label in COLUMNS) + " |"
    sep = "|---|" + "---:|" * len(COLUMNS)
    rows = [head, sep]
    for name, s in scores.items():
        label = f"{name}" + (f" ({descriptions[name]})" if descriptions.get(name) else "")
        rows.append(f"| {label} | " + " | ".join(_fmt(s.get(k)) for k, _ in COLUMNS) + " |")
    return "\n".join(rows)


def markdown_report(result: Mapping) -> str:
    """The whole evaluation as markdown: main table per dataset, lip-sync on HDTF, drift."""
    out = ["# Evaluation", ""]
    m = result.get("machine") or {}
    if m:
        out += [
            f"Machine: {m.get('cpu')}, {m.get('cpu_cores')} cores, torch {m.get('torch')} "
            f"({m.get('torch_threads')} threads), CUDA: {m.get('cuda_device') or 'none'}.",
            "",
        ]
    for ds in result.get("datasets", []):
        out += [f"## {ds['name']} ({ds['conversations']} conversations, {ds['seconds']:.0f} s held out)", ""]
        if ds["scores"]:
            out += [markdown_table(ds["scores"], ds.get("descriptions")), ""]
            ci = ds["scores"].get("model", {}).get("ci95")
            if ci:
                spans = ", ".join(f"{label.split(' ')[0]} {_fmt(ci[k][0])}–{_fmt(ci[k][1])}" for k, label in COLUMNS)
                out += [f"95 % bootstrap intervals of the model's figures over conversations: {spans}.", ""]
    hd = result.get("hdtf")
    if hd:
        out += [
            "## Lip-sync on a real talking head",
            "",
            f"`{hd['video']}` ({hd['frames']} tracked frames): generated vs tracked jawOpen r = "
            f"{_fmt(hd['lipsync_hdtf_r'])}; generated jawOpen vs speech energy r = {_fmt(hd['generated_energy_r'])}; "
            f"tracked jawOpen vs speech energy r = {_fmt(hd['tracked_energy_r'])}.",
            "",
        ]
    dr = result.get("drift")
    if dr:
        out += [
            f"## Long-session drift ({dr['minutes']:.1f} min in one session, block {dr['block_size']}, "
            f"{dr['window_s']:.0f} s windows, input loop {dr['loop_s']:.0f} s)",
            "",
        ]
        keys = [k for k, _ in COLUMNS] + ["mean_abs_head_rotation"]
        out += ["| window | " + " | ".join(keys) + " |", "|---|" + "---:|" * len(keys)]
        for label, w in (("first", dr["first"]), ("last", dr["last"])):
            span = f"{label} ({w['start_s'] / 60:.1f}–{w['end_s'] / 60:.1f} min)"
            out.append(f"| {span} | " + " | ".join(_fmt(w.get(k)) for k in keys) + " |")
        trend = dr.get("trend_per_10min") or {}
        if trend:
            out.append(
                "| trend per 10 min | " + " | ".join(f"{trend[k]:+.4f}" if k in trend else "–" for k in keys) + " |"
            )
        out += [
            "",
            f"Generator step: {dr['step_ms_first']:.1f} ms at the start, {dr['step_ms_last']:.1f} ms at the "
            f"end; session real-time factor {dr['rtf']:.2f}.",
            "",
        ]
    return "\n".join(out)


# --- plots -----------------------------------------------------------------------------------------
def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _ch(values: np.ndarray, *names: str) -> np.ndarray:
    return np.mean([values[:, CHANNEL_INDEX[n]] for n in names], axis=0)


def plot_curves(conv, outputs: Mapping[str, np.ndarray], path: str | Path, *, max_seconds: float = 20.0) -> Path:
    """User vs avatar and generated vs real, for one conversation: jaw, smile, head pitch and yaw."""
    plt = _plt()
    n = min(conv.frames, int(max_seconds * FPS))
    t = np.arange(n) / FPS
    energy = M.speech_energy(conv.avatar_audio, conv.frames)[:n]
    panels = [
        ("jawOpen (0..1) — avatar's mouth vs its own voice", ("jawOpen",), False),
        ("mouthSmile L/R mean (0..1)", ("mouthSmileLeft", "mouthSmileRight"), True),
        ("browInnerUp (0..1)", ("browInnerUp",), True),
        ("headPitch (rad, + = chin up)", ("headPitch",), True),
        ("headYaw (rad)", ("headYaw",), True),
    ]
    fig, axes = plt.subplots(len(panels), 1, figsize=(12, 2.3 * len(panels)), sharex=True)
    palette = iter(["tab:blue", "tab:green", "tab:purple", "tab:brown", "tab:cyan"])
    styles = {"real": dict(color="black", lw=1.6), "model": dict(color="tab:red", lw=1.3)}
    for name in outputs:
        if name not in styles:
            styles[name] = dict(color=next(palette, "tab:olive"), lw=1.0, alpha=0.8)
    for ax, (title, names, show_user) in zip(axes, panels):
        if show_user:
            ax.plot(t, _ch(conv.user_motion[:n], *names), color="tab:gray", lw=1.0, ls="--", label="user")
        for name, vals in outputs.items():
            ax.plot(t, _ch(vals[:n], *names), label=f"avatar: {name}", **styles[name])
        if not show_user:
            ax2 = ax.twinx()
            ax2.fill_between(t, energy, energy.min(), color="tab:orange", alpha=0.15, lw=0)
            ax2.set_ylabel("avatar voice (dB)", color="tab:orange", fontsize=8)
        ax.set_title(title, fontsize=9, loc="left")
        ax.grid(alpha=0.3)
    axes[0].legend(loc="upper right", fontsize=8, ncol=len(outputs) + 1)
    axes[1].legend(loc="upper right", fontsize=8, ncol=len(outputs) + 1)
    axes[-1].set_xlabel("time (s)")
    fig.suptitle(f"{conv.id}: generated vs real avatar, and the user", fontsize=11)
    fig.tight_layout()
    return _save(fig, path)


def plot_scores(scores: Mapping[str, Mapping[str, float]], path: str | Path) -> Path:
    """One bar chart per headline metric, one bar per method; the real avatar's value as a line."""
    plt = _plt()
    names = [n for n in scores if n != "real"]
    fig, axes = plt.subplots(2, 3, figsize=(13, 6.5))
    for ax, (key, label) in zip(axes.ravel(), COLUMNS):
        vals = [scores[n].get(key) or 0.0 for n in names]
        cis = [scores[n].get("ci95", {}).get(key) for n in names]
        yerr = None
        if all(cis):  # 95 % bootstrap intervals over conversations as error bars
            yerr = np.array([[max(v - c[0], 0.0), max(c[1] - v, 0.0)] for v, c in zip(vals, cis)]).T
        colors = ["tab:red" if n == "model" else "tab:blue" for n in names]
        ax.bar(range(len(names)), vals, color=colors, yerr=yerr, capsize=3, ecolor="0.3")
        if "real" in scores and key in ("sid", "var", "lipsync_r"):
            ax.axhline(scores["real"][key], color="black", ls="--", lw=1, label="real avatar")
            ax.legend(fontsize=7)
        ax.set_xticks(range(len(names)), names, rotation=35, ha="right", fontsize=7)
        ax.set_title(label, fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)


def plot_drift(drift: Mapping, path: str | Path) -> Path:
    """Each metric per window across one long session."""
    plt = _plt()
    windows = drift["windows"]
    mid = [(w["start_s"] + w["end_s"]) / 120 for w in windows]
    keys = [k for k, _ in COLUMNS] + ["mean_abs_head_rotation"]
    fig, axes = plt.subplots(2, 4, figsize=(13, 6))
    for ax, key in zip(axes.ravel(), keys):
        ax.plot(mid, [w[key] for w in windows], marker="o", color="tab:red", label="generated")
        if f"real_{key}" in windows[0]:
            ax.plot(mid, [w[f"real_{key}"] for w in windows], ls="--", color="black", label="real avatar")
            ax.legend(fontsize=7)
        ax.set_title(key, fontsize=9)
        ax.set_xlabel("session time (min)", fontsize=8)
        ax.grid(alpha=0.3)
    axes.ravel()[-1].axis("off")
    fig.suptitle(f"Drift over one {drift['minutes']:.1f}-minute session (block {drift['block_size']})", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def plot_drift_curves(drift: Mapping, path: str | Path, *, seconds: float = 10.0) -> Path:
    """jawOpen and head pitch in the first and the last seconds of the long session, same inputs."""
    plt = _plt()
    out = drift["output"]
    n = min(int(seconds * FPS), len(out) // 2)
    loop = int(round(drift["loop_s"] * FPS))
    # compare windows that see the same looped input: the last whole loop start
    last = ((len(out) - n) // loop) * loop if loop else len(out) - n
    t = np.arange(n) / FPS
    fig, axes = plt.subplots(2, 1, figsize=(11, 4.5), sharex=True)
    for ax, name in zip(axes, ("jawOpen", "headPitch")):
        c = CHANNEL_INDEX[name]
        ax.plot(t, out[:n, c], color="tab:blue", label="start of session")
        ax.plot(t, out[last : last + n, c], color="tab:red", alpha=0.8, label=f"after {last / FPS / 60:.1f} min")
        ax.set_title(name, fontsize=9, loc="left")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    axes[-1].set_xlabel("time within the looped input (s)")
    fig.tight_layout()
    return _save(fig, path)


def plot_hdtf(hd: Mapping, path: str | Path) -> Path:
    """Generated vs tracked jawOpen on the real talking-head clip, with its speech energy."""
    plt = _plt()
    t = np.arange(len(hd["generated_jaw"])) / FPS
    fig, ax = plt.subplots(figsize=(11, 3.2))
    tracked = np.where(hd["valid"], hd["tracked_jaw"], np.nan)
    ax.plot(t, tracked, color="black", lw=1.5, label="real speaker (tracked)")
    ax.plot(t, hd["generated_jaw"], color="tab:red", lw=1.3, label="generated from the clip's audio")
    ax2 = ax.twinx()
    ax2.fill_between(t, hd["energy"], hd["energy"].min(), color="tab:orange", alpha=0.15, lw=0)
    ax2.set_ylabel("speech energy (dB)", color="tab:orange", fontsize=8)
    ax.set_ylabel("jawOpen (0..1)")
    ax.set_xlabel("time (s)")
    ax.set_title(f"Lip-sync on {Path(hd['video']).name}: r = {hd['lipsync_hdtf_r']:.3f}", fontsize=10)
    ax.legend(fontsize=8, loc="upper right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)


def _save(fig, path: str | Path) -> Path:
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
