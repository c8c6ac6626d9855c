"""Pick the motion generator the runtime drives: the project's StreamingGenerator, else the stand-in."""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from af_plugin.config import ModelConfig

log = logging.getLogger(__name__)


@dataclass
class GeneratorInfo:
    kind: str  # "dfot" (the trained/random model) or "stand-in"
    checkpoint: str | None
    block_size: int
    lookahead: int
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "checkpoint": self.checkpoint, "block_size": self.block_size,
                "lookahead": self.lookahead, "note": self.note}  # fmt: skip


def load_generator(cfg: ModelConfig, *, allow_standin: bool = True) -> tuple[Any, GeneratorInfo]:
    """StreamingGenerator.load with the config's settings; the procedural stand-in when the model package
    is not there yet (``allow_standin``)."""
    try:
        from af_plugin.model.streaming import StreamingGenerator
    except ModuleNotFoundError as e:
        if not allow_standin or not (e.name or "").startswith("af_plugin.model"):
            raise
        from af_plugin.runtime.standin import StandInGenerator

        gen = StandInGenerator.load(block_size=cfg.block_size, lookahead=cfg.lookahead)
        note = "af_plugin.model.streaming is not installed: procedural stand-in, not the model"
        log.warning(note)
        return gen, GeneratorInfo("stand-in", None, gen.block_size, gen.lookahead, note)
    with warnings.catch_warnings(record=True) as caught:  # reported once, by us, as the note below
        warnings.simplefilter("always")
        gen = StreamingGenerator.load(
            checkpoint=cfg.checkpoint, device=cfg.device, block_size=cfg.block_size, lookahead=cfg.lookahead,
            steps=cfg.steps, cfg_avatar=cfg.cfg_avatar, cfg_user=cfg.cfg_user,
        )  # fmt: skip
    for w in caught:
        if "RANDOMLY INITIALISED" not in str(w.message):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    meta = getattr(gen, "metadata", {}) or {}
    if meta.get("stage") == "random-init":
        return gen, GeneratorInfo(
            "dfot",
            None,
            int(gen.block_size),
            int(gen.lookahead),
            "randomly initialised network (no shipped model found): motion is meaningless",
        )
    name = Path(cfg.checkpoint).name if cfg.checkpoint else "default_model.safetensors"
    note = str(meta.get("stage", ""))
    return gen, GeneratorInfo("dfot", name, int(gen.block_size), int(gen.lookahead), note)
