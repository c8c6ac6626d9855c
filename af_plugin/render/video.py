"""Frames (and optionally 16 kHz audio) → an mp4 file: H.264/yuv420p video, AAC audio, via PyAV.

Audio is encoded in step with the video so the two streams are interleaved in the file, and it is cut at
the end of the last video frame (a player should not show a frozen avatar after the motion ends).
RGBA frames are composited over black (mp4/H.264 carries no alpha).
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from af_plugin.constants import SAMPLE_RATE
from af_plugin.errors import AFError, AudioFormatError

_AUDIO_CHUNK = 1024  # samples per AAC frame


def _to_rgb(frame: np.ndarray) -> np.ndarray:
    if frame.ndim != 3 or frame.shape[2] not in (3, 4) or frame.dtype != np.uint8:
        raise AFError(f"video frames must be uint8 (H, W, 3) RGB or (H, W, 4) RGBA, got {frame.dtype} {frame.shape}")
    if frame.shape[2] == 4:
        a = frame[..., 3:4].astype(np.uint16)
        frame = ((frame[..., :3].astype(np.uint16) * a + 127) // 255).astype(np.uint8)
    h, w = frame.shape[:2]
    if h % 2 or w % 2:  # yuv420p needs even sizes
        frame = np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    return np.ascontiguousarray(frame)


def write_video(
    path: str | Path,
    frames: Iterable[np.ndarray],
    fps: float,
    audio: np.ndarray | None = None,
    sample_rate: int = SAMPLE_RATE,
    crf: int = 20,
) -> int:
    """Encode ``frames`` at ``fps`` into ``path`` (mp4); mux ``audio`` (float32 mono) when given.

    Returns the number of video frames written. Raises AFError when there are no frames.
    """
    path = Path(path)
    if audio is not None:
        audio = np.asarray(audio, dtype=np.float32)
        if audio.ndim != 1:
            raise AudioFormatError(f"audio for write_video must be mono (1-D), got shape {audio.shape}")
        audio = np.clip(np.nan_to_num(audio), -1.0, 1.0)
    rate = Fraction(fps).limit_denominator(1001)
    path.parent.mkdir(parents=True, exist_ok=True)
    container = av.open(str(path), mode="w")
    written = 0
    try:
        vstream = None
        astream = None
        audio_pos = 0
        for frame in frames:
            rgb = _to_rgb(np.asarray(frame))
            if vstream is None:
                vstream = container.add_stream("libx264", rate=rate)
                vstream.width, vstream.height = rgb.shape[1], rgb.shape[0]
                vstream.pix_fmt = "yuv420p"
                vstream.options = {"crf": str(crf), "preset": "veryfast"}
                if audio is not None:
                    astream = container.add_stream("aac", rate=sample_rate, layout="mono")
            vf = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            vf.pts = written
            vf.time_base = 1 / rate
            for packet in vstream.encode(vf):
                container.mux(packet)
            written += 1
            if astream is not None:
                audio_pos = _encode_audio(container, astream, audio, audio_pos, int(written / rate * sample_rate))
        if vstream is None:
            raise AFError(f"no frames to write to {path}")
        if astream is not None:
            audio_pos = _encode_audio(
                container, astream, audio, audio_pos, int(written / rate * sample_rate), final=True
            )
            for packet in astream.encode(None):
                container.mux(packet)
        for packet in vstream.encode(None):
            container.mux(packet)
    except BaseException:
        container.close()
        path.unlink(missing_ok=True)
        raise
    container.close()
    return written


def _encode_audio(container, stream, audio: np.ndarray, pos: int, until: int, final: bool = False) -> int:
    """Encode whole chunks of ``audio`` up to sample ``until`` (all of it up to there when ``final``)."""
    until = min(until, len(audio))
    while pos < until and (final or until - pos >= _AUDIO_CHUNK):
        chunk = audio[pos : min(pos + _AUDIO_CHUNK, until)]
        frame = av.AudioFrame.from_ndarray(chunk[None, :], format="flt", layout="mono")
        frame.sample_rate = stream.rate
        frame.pts = pos
        frame.time_base = Fraction(1, stream.rate)
        for packet in stream.encode(frame):
            container.mux(packet)
        pos += len(chunk)
    return pos
