"""Motion file codecs, chosen by file extension. Each module exposes ``read(path)`` and ``write(clip, path)``."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from af_plugin.errors import MotionFormatError
from af_plugin.motion.codecs import afm, jsonl, livelink_csv, npz

CODECS: dict[str, ModuleType] = {".csv": livelink_csv, ".jsonl": jsonl, ".npz": npz, ".afm": afm}


def codec_for(path: str | Path) -> ModuleType:
    suffix = Path(path).suffix.lower()
    if suffix not in CODECS:
        raise MotionFormatError(f"unknown motion format {suffix!r}; use one of {sorted(CODECS)}", path)
    return CODECS[suffix]
