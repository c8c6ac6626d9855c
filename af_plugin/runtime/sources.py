"""Audio inputs the engine reads once per 40 ms tick: files, microphones and audio pushed by clients.

Every input hands out exactly one frame (640 samples at 16 kHz) per tick, or None when it has nothing to
say (no source, device gone, file over). Live inputs (mic, push) sit behind a small jitter buffer: they
start after a short pre-roll, pad an underrun with silence and drop the oldest audio when the buffer grows
(clock drift), so the engine's clock never waits for a device.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from pathlib import Path

import numpy as np

from af_plugin.constants import SAMPLE_RATE, SAMPLES_PER_FRAME
from af_plugin.errors import AudioFormatError, DeviceError

log = logging.getLogger(__name__)


class StreamResampler:
    """Streaming rate conversion to 16 kHz that stays continuous across chunks (no clicks at chunk edges).

    Anti-alias low-pass (Butterworth, stateful) when downsampling, then linear interpolation at exact
    rational positions (output j sits at input j * rate_in / rate_out), so chunking never changes the result.
    Good enough for speech features; whole files use perception's polyphase resampler.
    """

    def __init__(self, rate_in: int, rate_out: int = SAMPLE_RATE) -> None:
        self.rate_in, self.rate_out = int(rate_in), int(rate_out)
        self._sos = None
        if self.rate_in > self.rate_out:
            from scipy.signal import butter, sosfilt_zi  # imported only when needed: it takes a while

            self._sos = butter(8, 0.45 * self.rate_out, fs=self.rate_in, output="sos")
            self._zi = sosfilt_zi(self._sos) * 0.0
        self._prev = np.zeros(0, np.float32)  # the last input sample of the previous chunk
        self._n_in = 0  # input samples seen
        self._n_out = 0  # output samples produced

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32).reshape(-1)
        if self.rate_in == self.rate_out or x.size == 0:
            return x.copy()
        if self._sos is not None:
            from scipy.signal import sosfilt

            x, self._zi = sosfilt(self._sos, x, zi=self._zi)
            x = x.astype(np.float32)
        buf = np.concatenate([self._prev, x])
        base = self._n_in - len(self._prev)  # input index of buf[0]
        self._n_in += len(x)
        end = (self._n_in - 1) * self.rate_out // self.rate_in + 1  # outputs whose position is available
        j = np.arange(self._n_out, end, dtype=np.int64)
        pos = (j * self.rate_in - base * self.rate_out) / self.rate_out
        out = np.interp(pos, np.arange(len(buf)), buf).astype(np.float32)
        self._n_out = end
        self._prev = buf[-1:]
        return out


class AudioInput:
    """One audio stream of a session. ``read_frame`` is called once per tick on the engine's thread."""

    kind = "audio"
    describe = "audio"

    def start(self) -> None:
        """Open devices/files. Raise DeviceError/AudioFormatError with the fix when impossible."""

    def read_frame(self) -> tuple[np.ndarray | None, float]:
        """(640 float32 samples or None, perf_counter time the newest of them arrived)."""
        raise NotImplementedError

    @property
    def finished(self) -> bool:
        """True once a non-looping file has been played out: nothing more will ever come."""
        return False

    @property
    def alive(self) -> bool:
        return True

    def close(self) -> None:
        pass


class FileAudioInput(AudioInput):
    kind = "file"

    def __init__(self, path: str | Path, loop: bool = False) -> None:
        self.path, self.loop = Path(path), loop
        self.describe = f"file {self.path}"
        self._samples: np.ndarray | None = None
        self._pos = 0
        self._done = False

    def start(self) -> None:
        from af_plugin.perception.audio import load_audio

        if not self.path.exists():
            raise AudioFormatError(f"{self.path}: file does not exist")
        self._samples = load_audio(self.path)

    @property
    def samples(self) -> np.ndarray:
        if self._samples is None:
            self.start()
        return self._samples

    def read_frame(self) -> tuple[np.ndarray | None, float]:
        now = time.perf_counter()
        x = self.samples
        if self._done:
            return None, now
        chunk = x[self._pos : self._pos + SAMPLES_PER_FRAME]
        self._pos += SAMPLES_PER_FRAME
        if self._pos >= len(x):
            if self.loop:
                self._pos = 0
            else:
                self._done = True
        if len(chunk) < SAMPLES_PER_FRAME:
            chunk = np.pad(chunk, (0, SAMPLES_PER_FRAME - len(chunk)))
        return chunk, now

    @property
    def finished(self) -> bool:
        return self._done


class BufferedAudioInput(AudioInput):
    """A thread-safe jitter buffer fed at any rate by another thread (device callback, websocket)."""

    def __init__(self, *, preroll_frames: int = 2, max_seconds: float = 1.0, idle_after: float = 0.5) -> None:
        self._lock = threading.Lock()
        self._chunks: deque[tuple[np.ndarray, float]] = deque()
        self._buffered = 0
        self._resamplers: dict[int, StreamResampler] = {}
        self.preroll = preroll_frames * SAMPLES_PER_FRAME
        self.max_samples = int(max_seconds * SAMPLE_RATE)
        self.idle_after = idle_after
        self._playing = False
        self._last_data = -1e9
        self._ever = False
        self.underruns = 0
        self.dropped_samples = 0

    def feed(self, samples: np.ndarray, rate: int = SAMPLE_RATE, *, strict: bool = False) -> int:
        """Add mono samples at ``rate``. Over the cap: drop the oldest (devices) or refuse (``strict``)."""
        resampler = self._resamplers.get(rate)
        if resampler is None:
            resampler = self._resamplers[rate] = StreamResampler(rate)
        x = resampler(samples)
        now = time.perf_counter()
        with self._lock:
            if strict and self._buffered + len(x) > self.max_samples:
                raise OverflowError(
                    f"buffer holds {self._buffered / SAMPLE_RATE:.1f} s; cap is {self.max_samples / SAMPLE_RATE:.1f} s"
                )
            self._chunks.append((x, now))
            self._buffered += len(x)
            self._last_data = now
            self._ever = True
            while self._buffered > self.max_samples:
                old, _ = self._chunks.popleft()
                self._buffered -= len(old)
                self.dropped_samples += len(old)
        return len(x)

    @property
    def buffered_seconds(self) -> float:
        return self._buffered / SAMPLE_RATE

    def _take(self, n: int) -> tuple[np.ndarray, float]:
        parts, got, stamp = [], 0, 0.0
        while got < n and self._chunks:
            x, t = self._chunks[0]
            need = n - got
            if len(x) <= need:
                self._chunks.popleft()
                parts.append(x)
                got += len(x)
            else:
                parts.append(x[:need])
                self._chunks[0] = (x[need:], t)
                got += need
            stamp = t
        self._buffered -= got
        out = np.concatenate(parts) if parts else np.zeros(0, np.float32)
        return out, stamp

    def read_frame(self) -> tuple[np.ndarray | None, float]:
        now = time.perf_counter()
        with self._lock:
            if not self._ever:
                return None, now
            if not self._playing:
                if self._buffered >= self.preroll:
                    self._playing = True
                else:
                    return (np.zeros(SAMPLES_PER_FRAME, np.float32) if self.alive else None), now
            x, stamp = self._take(SAMPLES_PER_FRAME)
            if len(x) < SAMPLES_PER_FRAME:
                if now - self._last_data > self.idle_after:
                    self._playing = False  # the stream paused: pre-roll again when it comes back
                else:
                    self.underruns += 1
                x = np.pad(x, (0, SAMPLES_PER_FRAME - len(x)))
                stamp = stamp or now
        if not self.alive:
            return None, now
        return x, stamp


class PushAudioInput(BufferedAudioInput):
    """Audio a websocket client pushes. A whole file pushed at once plays out in real time (up to ``max_seconds``)."""

    kind = "push"

    def __init__(self, max_seconds: float = 120.0) -> None:
        super().__init__(preroll_frames=1, max_seconds=max_seconds, idle_after=0.2)
        self.describe = "audio pushed by websocket clients"

    def push(self, samples: np.ndarray, rate: int) -> int:
        return self.feed(samples, rate, strict=True)


def parse_device(spec: str) -> str | int | None:
    """``mic`` → None (default device); ``mic:3`` → 3; ``mic:USB Audio`` → 'USB Audio'."""
    _, _, dev = spec.partition(":")
    dev = dev.strip()
    if not dev:
        return None
    return int(dev) if dev.isdigit() else dev


NO_SOUND_FIX = (
    "no usable audio input device. Fixes: plug in or enable a microphone; on Linux check `arecord -l` and "
    "that your user is in the 'audio' group (PulseAudio/PipeWire users: `pactl list short sources`); list "
    "devices with `python -m sounddevice`; pick one with mic:NAME or mic:INDEX; or use an audio file instead"
)


class MicAudioInput(BufferedAudioInput):
    """A microphone via sounddevice (PortAudio) at the device's native rate, resampled to 16 kHz.

    A device that fails or stops delivering mid-session turns the input idle (None) and a watchdog
    thread reopens it every ``retry_s`` until it comes back.
    """

    kind = "mic"

    def __init__(self, device: str | int | None = None, *, retry_s: float = 1.0, stall_s: float = 1.0,
                 backend=None) -> None:  # fmt: skip
        super().__init__(preroll_frames=2, max_seconds=0.3, idle_after=stall_s)
        self.device = device
        self.describe = f"microphone {device if device is not None else '(default)'}"
        self.retry_s, self.stall_s = retry_s, stall_s
        self._backend = backend  # callable(device, callback) -> stream with .start/.close and .samplerate
        self._stream = None
        self._rate = SAMPLE_RATE
        self._alive = False
        self._stop = threading.Event()
        self._watchdog: threading.Thread | None = None
        self.reopens = 0

    def _open_stream(self):
        if self._backend is not None:
            stream = self._backend(self.device, self._callback)
            self._rate = int(stream.samplerate)
            self._ready_resampler()
            stream.start()
            return stream
        try:
            import sounddevice as sd
        except OSError as e:  # libportaudio missing
            raise DeviceError(
                f"PortAudio is not installed ({e}); install libportaudio2 (Debian/Ubuntu) or use an audio file"
            ) from None
        try:
            info = sd.query_devices(self.device, kind="input")
            rate = int(info["default_samplerate"])
            # 20 ms blocks: a steady callback cadence at half a frame of delay
            stream = sd.InputStream(device=self.device, channels=1, samplerate=rate, dtype="float32",
                                    blocksize=rate // 50, latency="low", callback=self._callback)  # fmt: skip
        except (sd.PortAudioError, ValueError) as e:
            name = "the default microphone" if self.device is None else f"microphone {self.device!r}"
            raise DeviceError(f"{name} cannot be opened (PortAudio: {e}); {NO_SOUND_FIX}") from None
        self._rate = rate
        self._ready_resampler()
        stream.start()
        return stream

    def _ready_resampler(self) -> None:
        """Build the resampler before audio flows: its first construction imports SciPy (about a second on a busy
        machine), which inside the audio callback stalled the stream long enough for the watchdog to reopen it."""
        if self._rate not in self._resamplers:
            self._resamplers[self._rate] = StreamResampler(self._rate)

    def _callback(self, indata, frames, time_info, status) -> None:  # runs on the audio thread
        data = np.asarray(indata, dtype=np.float32)
        mono = data.mean(axis=1) if data.ndim == 2 else data
        self.feed(mono, self._rate)

    def start(self) -> None:
        self._stream = self._open_stream()  # first open: fail loudly with the fix
        self._alive = True
        self._last_data = time.perf_counter()
        self._watchdog = threading.Thread(target=self._watch, name=f"mic-watchdog-{self.device}", daemon=True)
        self._watchdog.start()

    @property
    def alive(self) -> bool:
        return self._alive

    def _watch(self) -> None:
        while not self._stop.wait(self.retry_s / 2):
            stream = self._stream
            stalled = time.perf_counter() - self._last_data > self.stall_s
            if self._alive and (stalled or (stream is not None and not getattr(stream, "active", True))):
                log.warning("%s stopped delivering audio; the avatar idles until it is back", self.describe)
                self._alive = False
                self._close_stream()
            if not self._alive:
                try:
                    self._stream = self._open_stream()
                except Exception as e:  # noqa: BLE001 - any failure: try again later
                    log.debug("reopen of %s failed: %s", self.describe, e)
                    self._stop.wait(self.retry_s)
                    continue
                self._last_data = time.perf_counter()
                self._alive = True
                self.reopens += 1
                log.warning("%s is back", self.describe)

    def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.close()
            except Exception:  # noqa: BLE001 - a vanished device may fail to close; it is gone anyway
                pass

    def close(self) -> None:
        self._stop.set()
        self._close_stream()


def make_audio_input(spec: str | None, *, loop: bool = False) -> AudioInput | None:
    """``FILE``, ``mic`` or ``mic:DEVICE`` → an input (not yet started); None → no input."""
    if not spec:
        return None
    if spec == "mic" or spec.startswith("mic:"):
        return MicAudioInput(parse_device(spec))
    return FileAudioInput(spec, loop=loop)
