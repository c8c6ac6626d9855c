"""Read any audio the user hands us and turn it into the one format the runtime speaks: float32 mono 16 kHz.

Files go through soundfile first (WAV in 8/16/24/32-bit PCM or float, FLAC, OGG...) and fall back to PyAV
for everything ffmpeg can open (the audio track of an mp4, AAC, MP3). Every failure becomes an
AudioFormatError that names the file and the problem, so the CLI prints one line instead of a traceback.
"""

from __future__ import annotations

from math import gcd
from pathlib import Path

import numpy as np

from af_plugin.constants import SAMPLE_RATE
from af_plugin.errors import AudioFormatError


def to_mono_16k(samples: np.ndarray, rate: int) -> np.ndarray:
    """Down-mix (frames, channels) or (frames,) audio to mono and resample it to SAMPLE_RATE.

    Integer PCM is scaled to [-1, 1] by its dtype's range (uint8 is offset-binary, as in WAV). Resampling
    is polyphase (scipy.signal.resample_poly) with the exact rational ratio, e.g. 44100 → 16000 is 160/441.
    """
    x = np.asarray(samples)
    if x.ndim not in (1, 2):
        raise AudioFormatError(f"audio must be 1-D (samples) or 2-D (samples, channels); got shape {x.shape}")
    if not isinstance(rate, (int, np.integer)) or rate <= 0:
        raise AudioFormatError(f"sample rate must be a positive integer; got {rate!r}")
    x = pcm_to_float(x)
    if x.ndim == 2:
        if x.shape[1] == 0:
            raise AudioFormatError("audio has no channels")
        x = x.mean(axis=1)
    if x.size == 0:
        raise AudioFormatError("audio is empty (zero samples)")
    if not np.all(np.isfinite(x)):
        raise AudioFormatError("audio contains NaN or infinite samples")
    if rate != SAMPLE_RATE:
        from scipy.signal import resample_poly

        g = gcd(int(rate), SAMPLE_RATE)
        x = resample_poly(x.astype(np.float64), SAMPLE_RATE // g, int(rate) // g)
    return np.ascontiguousarray(x, dtype=np.float32)


def pcm_to_float(x: np.ndarray) -> np.ndarray:
    """Integer PCM → float32 in [-1, 1] by the dtype's range (uint8 is offset binary); floats pass through."""
    if x.dtype == np.uint8:
        return (x.astype(np.float32) - 128.0) / 128.0
    if np.issubdtype(x.dtype, np.integer):
        return x.astype(np.float32) / float(-np.iinfo(x.dtype).min)
    if np.issubdtype(x.dtype, np.floating):
        return x.astype(np.float32, copy=False)
    raise AudioFormatError(f"unsupported sample type {x.dtype}; expected integer PCM or float")


def load_audio(path: str | Path) -> np.ndarray:
    """Load an audio file (or the first audio track of a video file) as float32 mono 16 kHz samples."""
    path = Path(path)
    if not path.exists():
        raise AudioFormatError(f"{path}: no such file")
    if not path.is_file():
        raise AudioFormatError(f"{path}: not a file")
    if path.stat().st_size == 0:
        raise AudioFormatError(f"{path}: file is empty (0 bytes)")
    try:
        samples, rate = _read_soundfile(path)
    except _NotForSoundfile:
        samples, rate = _read_pyav(path)
    if samples.size == 0:
        raise AudioFormatError(f"{path}: audio has zero length")
    try:
        return to_mono_16k(samples, rate)
    except AudioFormatError as exc:
        raise AudioFormatError(f"{path}: {exc}") from None


class _NotForSoundfile(Exception):
    """soundfile (libsndfile) does not know this container; let PyAV try."""


def _read_soundfile(path: Path) -> tuple[np.ndarray, int]:
    import soundfile as sf

    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError):
        raise _NotForSoundfile from None
    try:
        # float32 keeps 24-bit precision; soundfile scales every PCM width (and unsigned 8-bit) to [-1, 1].
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, ValueError) as exc:
        raise AudioFormatError(f"{path}: cannot decode {info.format}/{info.subtype} audio ({exc})") from None
    return data, int(rate)


def _read_pyav(path: Path) -> tuple[np.ndarray, int]:
    import av

    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError, UnicodeDecodeError, ValueError) as exc:
        raise AudioFormatError(f"{path}: not a readable audio or video file ({exc})") from None
    with container:
        if not container.streams.audio:
            raise AudioFormatError(f"{path}: the file has no audio track")
        stream = container.streams.audio[0]
        # Convert inside ffmpeg to planar float only; channels and rate stay the source's, and we down-mix
        # and resample ourselves so files and video tracks go through exactly the same maths.
        rate = stream.codec_context.sample_rate or stream.rate
        resampler = av.AudioResampler(format="fltp", layout=stream.codec_context.layout, rate=rate)
        chunks: list[np.ndarray] = []
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().T)  # (channels, n) → (n, channels)
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().T)
        except (av.error.FFmpegError, ValueError) as exc:
            if not chunks:
                raise AudioFormatError(f"{path}: cannot decode the audio track ({exc})") from None
            # A truncated file: keep what decoded (losing nothing we could read).
    if not chunks or not rate:
        raise AudioFormatError(f"{path}: audio track has zero length")
    return np.concatenate(chunks).astype(np.float32), int(rate)
