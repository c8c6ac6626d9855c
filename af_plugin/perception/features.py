"""Causal log-mel features and voice activity on the 25 fps motion grid.

Log-mel: one column every MEL_HOP (10 ms) samples, a Hann window of MEL_WINDOW samples that *ends* at the
column's hop boundary (the first windows are left-padded with zeros), zero-padded to N_FFT, power
spectrum, N_MELS Slaney-style mel triangles over 0..8 kHz, then ``(log10(max(mel, 1e-10)) + 4) / 4``
(Whisper's scaling without its per-utterance max, which would need the whole file). Frame t stacks the
MEL_HOPS_PER_FRAME columns that end inside [t*640, (t+1)*640], hop-major, so it depends only on samples
< (t+1)*640: the runtime adds no look-ahead. ``logmel_frames`` (whole signal) and ``StreamingLogMel``
(chunks of any size) share the same column maths, so they agree to float rounding.

Voice activity: silero-vad's probability per 512-sample chunk, mapped causally onto the 640-sample grid
(frame t = overlap-weighted mean of the chunks that *end* inside the frame). If silero cannot load,
an energy detector (frame level in dBFS through a logistic curve) stands in; ``VoiceActivity.backend``
says which one ran.
"""

from __future__ import annotations

import logging
from functools import lru_cache

import numpy as np

from af_plugin.constants import (
    AUDIO_FEATURE_DIM,
    MEL_HOP,
    MEL_HOPS_PER_FRAME,
    MEL_WINDOW,
    N_FFT,
    N_MELS,
    SAMPLE_RATE,
    SAMPLES_PER_FRAME,
)

log = logging.getLogger(__name__)

LOG_FLOOR = 1e-10
_HISTORY = MEL_WINDOW - MEL_HOP  # samples of the past a column needs besides its own hop (240)


# --- mel filterbank -----------------------------------------------------------------------------------
def hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    """Slaney's mel scale (linear below 1 kHz, logarithmic above), as librosa's default."""
    hz = np.asarray(hz, dtype=np.float64)
    f_sp = 200.0 / 3
    min_log_hz, logstep = 1000.0, np.log(6.4) / 27.0
    mel = hz / f_sp
    return np.where(hz >= min_log_hz, min_log_hz / f_sp + np.log(np.maximum(hz, 1e-12) / min_log_hz) / logstep, mel)


def mel_to_hz(mel: np.ndarray | float) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    f_sp = 200.0 / 3
    min_log_hz, logstep = 1000.0, np.log(6.4) / 27.0
    min_log_mel = min_log_hz / f_sp
    return np.where(mel >= min_log_mel, min_log_hz * np.exp(logstep * (mel - min_log_mel)), f_sp * mel)


@lru_cache(maxsize=4)
def mel_filterbank(n_mels: int = N_MELS, n_fft: int = N_FFT, rate: int = SAMPLE_RATE) -> np.ndarray:
    """(n_mels, n_fft//2+1) triangular filters with Slaney area normalisation (librosa.filters.mel default)."""
    fft_hz = np.linspace(0.0, rate / 2, n_fft // 2 + 1)
    edges_hz = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(rate / 2), n_mels + 2))
    widths = np.diff(edges_hz)
    ramps = edges_hz[:, None] - fft_hz[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (edges_hz[2:] - edges_hz[:-2]))[:, None]
    weights.setflags(write=False)
    return weights


@lru_cache(maxsize=1)
def _window() -> np.ndarray:
    w = np.hanning(MEL_WINDOW + 1)[:-1]  # periodic Hann, as torch.hann_window / scipy 'hann'
    w.setflags(write=False)
    return w


def _columns(windows: np.ndarray) -> np.ndarray:
    """(n, MEL_WINDOW) raw windows → (n, N_MELS) scaled log-mel columns. The one place the maths lives."""
    spec = np.fft.rfft(windows * _window(), n=N_FFT, axis=-1)
    power = spec.real**2 + spec.imag**2
    mel = power @ mel_filterbank().T
    return (np.log10(np.maximum(mel, LOG_FLOOR)) + 4.0) / 4.0


def _frames_from_padded(padded: np.ndarray, n_frames: int) -> np.ndarray:
    """padded = HISTORY samples of context + n_frames*640 new samples → (n_frames, 320) float32."""
    n_cols = n_frames * MEL_HOPS_PER_FRAME
    if n_cols == 0:
        return np.zeros((0, AUDIO_FEATURE_DIM), np.float32)
    windows = np.lib.stride_tricks.sliding_window_view(padded[: _HISTORY + n_cols * MEL_HOP], MEL_WINDOW)[::MEL_HOP]
    cols = _columns(windows[:n_cols])  # (n_cols, N_MELS)
    return cols.reshape(n_frames, AUDIO_FEATURE_DIM).astype(np.float32)


def _as_signal(samples: np.ndarray) -> np.ndarray:
    from af_plugin.perception.audio import pcm_to_float

    x = np.asarray(samples)
    if x.ndim != 1:
        raise ValueError(f"expected 1-D mono 16 kHz samples, got shape {x.shape}; use perception.audio.to_mono_16k")
    return pcm_to_float(x).astype(np.float64, copy=False)  # int16 PCM is scaled, not read as ±32768


def logmel_frames(samples16k: np.ndarray) -> np.ndarray:
    """Causal log-mel features of a whole mono 16 kHz signal: (len // 640, 320) float32, hop-major per frame."""
    x = _as_signal(samples16k)
    n_frames = len(x) // SAMPLES_PER_FRAME
    padded = np.concatenate([np.zeros(_HISTORY), x[: n_frames * SAMPLES_PER_FRAME]])
    return _frames_from_padded(padded, n_frames)


class StreamingLogMel:
    """Push chunks of any size; get back the frames they complete. Equal to ``logmel_frames`` on the concatenation."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._buf = np.zeros(_HISTORY)  # always starts with exactly _HISTORY samples of context
        self.frames_emitted = 0

    def push(self, chunk: np.ndarray) -> np.ndarray:
        """Append samples; returns (n_new, 320) float32 for every frame whose 640 samples are now complete."""
        x = _as_signal(chunk)
        if x.size:
            self._buf = np.concatenate([self._buf, x])
        n_frames = (len(self._buf) - _HISTORY) // SAMPLES_PER_FRAME
        out = _frames_from_padded(self._buf, n_frames)
        if n_frames:
            self._buf = self._buf[n_frames * SAMPLES_PER_FRAME :]
            self.frames_emitted += n_frames
        return out


# --- voice activity -----------------------------------------------------------------------------------
VAD_CHUNK = 512
"""silero-vad's window at 16 kHz (32 ms). Does not divide the 640-sample frame, hence the mapping below."""

ENERGY_THRESHOLD_DBFS = -45.0
ENERGY_SLOPE_DB = 4.0


@lru_cache(maxsize=1)
def _load_silero():
    """silero-vad's bundled TorchScript model, or None when it cannot load (the energy fallback runs then)."""
    try:
        import torch
    except ImportError as exc:
        log.warning("silero-vad unavailable (%s); voice activity falls back to frame energy", exc)
        return None
    threads = torch.get_num_threads()
    try:
        from silero_vad import load_silero_vad  # importing it calls torch.set_num_threads(1); undone below

        return load_silero_vad(onnx=False)
    except Exception as exc:  # noqa: BLE001 - any failure means "use the fallback", and we say so
        log.warning("silero-vad unavailable (%s); voice activity falls back to frame energy", exc)
        return None
    finally:
        torch.set_num_threads(threads)


def energy_activity(frame_samples: np.ndarray) -> np.ndarray:
    """Energy fallback: (n, 640) frames → (n,) in 0..1, a logistic curve of the frame level in dBFS."""
    rms = np.sqrt(np.mean(np.square(frame_samples, dtype=np.float64), axis=-1))
    db = 20.0 * np.log10(np.maximum(rms, 1e-10))
    return 1.0 / (1.0 + np.exp(-(db - ENERGY_THRESHOLD_DBFS) / ENERGY_SLOPE_DB))


class VoiceActivity:
    """Streaming per-frame voice activity (0..1). Frame t depends only on samples < (t+1)*640.

    silero-vad scores 512-sample chunks; frame t gets the overlap-weighted mean of the chunks that end
    in (t*640, (t+1)*640] (there is always at least one, since 640 > 512).
    """

    def __init__(self, backend: str = "auto") -> None:
        if backend not in ("auto", "silero", "energy"):
            raise ValueError(f"backend must be 'auto', 'silero' or 'energy'; got {backend!r}")
        self._model = None if backend == "energy" else _load_silero()
        if backend == "silero" and self._model is None:
            raise RuntimeError("silero-vad could not be loaded (see the log); use backend='energy'")
        self.backend = "silero" if self._model is not None else "energy"
        self.reset()

    def reset(self) -> None:
        if self._model is not None:
            self._model.reset_states()
        self._pending = np.zeros(0, np.float32)  # samples not yet in a complete VAD chunk
        self._frame_buf = np.zeros(0, np.float32)  # samples not yet in a complete frame
        self._chunks_done = 0
        self._chunk_probs: list[tuple[int, float]] = []  # (chunk index, prob), not yet assigned to a frame
        self.frames_emitted = 0

    def push(self, chunk: np.ndarray) -> np.ndarray:
        """Append mono 16 kHz samples; returns the activity of each frame completed by them."""
        x = _as_signal(np.asarray(chunk).reshape(-1)).astype(np.float32)
        if self._model is None:
            self._frame_buf = np.concatenate([self._frame_buf, x])
            n = len(self._frame_buf) // SAMPLES_PER_FRAME
            out = energy_activity(self._frame_buf[: n * SAMPLES_PER_FRAME].reshape(n, SAMPLES_PER_FRAME))
            self._frame_buf = self._frame_buf[n * SAMPLES_PER_FRAME :]
            self.frames_emitted += n
            return out.astype(np.float32)
        import torch

        self._pending = np.concatenate([self._pending, x])
        n_chunks = len(self._pending) // VAD_CHUNK
        # The profiling executor re-optimises this tiny graph now and then; plain execution is steadier and
        # about 2x faster here. (It only affects TorchScript, i.e. this model.)
        with torch.inference_mode(), torch.jit.optimized_execution(False):
            for i in range(n_chunks):
                piece = torch.from_numpy(self._pending[i * VAD_CHUNK : (i + 1) * VAD_CHUNK].copy())
                prob = float(self._model(piece, SAMPLE_RATE))
                self._chunk_probs.append((self._chunks_done, prob))
                self._chunks_done += 1
        self._pending = self._pending[n_chunks * VAD_CHUNK :]
        # A frame is complete once every sample before its end has been scored: chunks ending in it are known
        # when the sample count reaches its end, i.e. when total samples >= (t+1)*640.
        total = self._chunks_done * VAD_CHUNK + len(self._pending)
        out = []
        while (self.frames_emitted + 1) * SAMPLES_PER_FRAME <= total:
            t = self.frames_emitted
            lo, hi = t * SAMPLES_PER_FRAME, (t + 1) * SAMPLES_PER_FRAME
            weights, probs = [], []
            for k, p in self._chunk_probs:
                end = (k + 1) * VAD_CHUNK
                if lo < end <= hi:
                    weights.append(min(end, hi) - max(k * VAD_CHUNK, lo))
                    probs.append(p)
            out.append(float(np.average(probs, weights=weights)))
            self._chunk_probs = [(k, p) for k, p in self._chunk_probs if (k + 1) * VAD_CHUNK > hi]
            self.frames_emitted += 1
        return np.asarray(out, dtype=np.float32)


def voice_activity(samples16k: np.ndarray, backend: str = "auto") -> np.ndarray:
    """Per-frame voice activity (len // 640,) in 0..1 of a whole mono 16 kHz signal (silero-vad, energy fallback)."""
    x = _as_signal(samples16k).astype(np.float32)
    if x.ndim != 1:
        raise ValueError(f"expected 1-D mono 16 kHz samples, got shape {x.shape}")
    vad = VoiceActivity(backend)
    return vad.push(x[: (len(x) // SAMPLES_PER_FRAME) * SAMPLES_PER_FRAME])
