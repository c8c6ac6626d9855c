"""Record what the avatar did: motion files (Live Link Face .csv, .afm, .npz, .jsonl) and rendered .mp4 with voice.

Frames are collected per session while the runtime runs and written when the sink closes, which the
runtime does on normal end, Ctrl+C and SIGTERM alike. Motion files go through ``MotionClip.write``; an .mp4
is rendered with the configured renderer and carries the avatar's own voice, frame-aligned. Sessions other
than ``default`` are written beside the path with the session name appended (``take-npc2.csv``).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from af_plugin.constants import FPS, SAMPLES_PER_FRAME
from af_plugin.motion.codecs.afm import FLAG_NO_FACE
from af_plugin.sinks.base import MotionFrame, Sink, SinkError, register_sink

log = logging.getLogger(__name__)

MOTION_EXTENSIONS = (".csv", ".afm", ".npz", ".jsonl")
VIDEO_EXTENSIONS = (".mp4",)


class _Take:
    def __init__(self) -> None:
        self.indices: list[int] = []
        self.values: list[np.ndarray] = []
        self.flags: list[int] = []
        self.audio: list[np.ndarray | None] = []


class RecorderSink(Sink):
    """``paths``: one path or several; each extension picks its format. ``lossless``: sees every frame."""

    name = "recorder"
    lossless = True

    def __init__(self, paths: str | Path | list[str | Path], render_cfg=None) -> None:
        items = [paths] if isinstance(paths, (str, Path)) else list(paths)
        self.paths = [Path(p) for p in items]
        for p in self.paths:
            if p.suffix.lower() not in MOTION_EXTENSIONS + VIDEO_EXTENSIONS:
                raise SinkError(
                    f"cannot record to {p}: the extension picks the format; use one of "
                    + ", ".join(MOTION_EXTENSIONS + VIDEO_EXTENSIONS)
                )
        self.render_cfg = render_cfg
        self._takes: dict[str, _Take] = {}
        self.written: list[Path] = []
        self._closed = False

    def open(self) -> None:
        for p in self.paths:
            p.parent.mkdir(parents=True, exist_ok=True)
            if p.exists() and p.is_dir():
                raise SinkError(f"cannot record to {p}: it is a directory")

    def send(self, frame: MotionFrame) -> None:
        take = self._takes.setdefault(frame.session, _Take())
        take.indices.append(frame.index)
        take.values.append(np.asarray(frame.values, np.float32))
        take.flags.append(frame.flags)
        take.audio.append(frame.audio)

    def _path_for(self, path: Path, session: str) -> Path:
        return path if session == "default" else path.with_name(f"{path.stem}-{session}{path.suffix}")

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for session, take in self._takes.items():
            if not take.values:
                continue
            for path in self.paths:
                target = self._path_for(path, session)
                try:
                    if target.suffix.lower() in VIDEO_EXTENSIONS:
                        self._write_video(target, take)
                    else:
                        self._write_motion(target, take)
                    self.written.append(target)
                except Exception as e:  # noqa: BLE001 - write the other files; report this one
                    kept = _salvage(target) if isinstance(e, OSError) else None
                    log.error("recording %s failed: %s%s", target, e,
                              f"; kept the first {kept} bytes (whole frames only)" if kept else "")  # fmt: skip

    @staticmethod
    def _write_motion(path: Path, take: _Take) -> None:
        from af_plugin.motion.clip import MotionClip

        clip = MotionClip(
            np.stack(take.values),
            fps=FPS,
            start_time=take.indices[0] / FPS,
            first_index=take.indices[0],
            valid=(np.asarray(take.flags) & FLAG_NO_FACE) == 0,
            meta={"source": "af_plugin runtime recording"},
        )
        clip.write(path)

    def _write_video(self, path: Path, take: _Take) -> None:
        from af_plugin.config import RenderConfig
        from af_plugin.render import make_renderer
        from af_plugin.render.video import write_video

        renderer = make_renderer(self.render_cfg or RenderConfig())
        has_voice = any(a is not None for a in take.audio)
        audio = None
        if has_voice:
            silence = np.zeros(SAMPLES_PER_FRAME, np.float32)
            audio = np.concatenate([silence if a is None else np.asarray(a, np.float32) for a in take.audio])
        write_video(path, (renderer.render(v) for v in take.values), FPS, audio=audio)


def _salvage(path: Path) -> int | None:
    """After a failed write (disk full, file-size limit), cut a partial .csv/.jsonl/.afm back to its last whole
    frame so what was written stays readable; other formats cannot be cut and are removed. Returns bytes kept."""
    from af_plugin.motion.codecs.afm import FRAME_BYTES, HEADER

    try:
        size = path.stat().st_size
        suffix = path.suffix.lower()
        if suffix in (".csv", ".jsonl"):
            with path.open("rb") as f:
                data = f.read()
            keep = data.rfind(b"\n") + 1
        elif suffix == ".afm":
            keep = HEADER.size + (size - HEADER.size) // FRAME_BYTES * FRAME_BYTES if size >= HEADER.size else 0
        else:
            keep = 0
        if keep <= 0 or (suffix == ".csv" and data.count(b"\n") < 2):
            path.unlink()
            return None
        with path.open("r+b") as f:
            f.truncate(keep)
        return keep
    except OSError:
        return None


register_sink("recorder", RecorderSink)
