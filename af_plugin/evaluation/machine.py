"""What machine a number was measured on: recorded beside every benchmark and evaluation result."""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime
from pathlib import Path


def cpu_model() -> str:
    """The CPU's marketing name (Linux /proc/cpuinfo, else platform.processor())."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (OSError, AttributeError):
        return None


def machine_info() -> dict:
    """CPU model and cores, torch version and threads, CUDA device, OS, Python, load, UTC time."""
    import torch

    cuda = torch.cuda.is_available()
    return {
        "cpu": cpu_model(),
        "cpu_cores": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "cuda": cuda,
        "cuda_device": torch.cuda.get_device_name(0) if cuda else None,
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "load_average": _load_average(),
        "utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def checkpoint_identity(checkpoint: str | None) -> dict:
    """Which weights a result belongs to: the file and the first 16 hex digits of its SHA-256
    (None → the shipped default model, when present)."""
    import hashlib

    if checkpoint is None:
        from af_plugin.model.streaming import DEFAULT_CHECKPOINT

        checkpoint = str(DEFAULT_CHECKPOINT)
    path = Path(checkpoint)
    if not path.is_file():
        return {"path": str(checkpoint), "sha256": None}
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return {"path": str(checkpoint), "sha256": digest.hexdigest()[:16]}


def describe(info: dict) -> str:
    """One line for printed reports, e.g. ``AMD EPYC, 2 cores, torch 2.13.0+cpu (1 thread), CPU only``."""
    dev = f"CUDA {info['cuda_device']}" if info.get("cuda") else "CPU only"
    load = f", load {info['load_average'][0]}" if info.get("load_average") else ""
    return (
        f"{info['cpu']}, {info['cpu_cores']} cores, torch {info['torch']} "
        f"({info['torch_threads']} thread{'s' if info['torch_threads'] != 1 else ''}), {dev}{load}"
    )
