"""Runtime inputs: streaming resampling, file/push/mic audio, a fake ALSA microphone, video files, and the
engine's clock driven by them (indices, end of conversation, modes following the inputs)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from af_plugin.config import load_config
from af_plugin.constants import SAMPLE_RATE, SAMPLES_PER_FRAME
from af_plugin.errors import DeviceError
from af_plugin.runtime.sources import FileAudioInput, MicAudioInput, PushAudioInput, StreamResampler, parse_device

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data"
HANG = 60.0


def wait_until(predicate, timeout: float = HANG, step: float = 0.01) -> None:
    """Poll until true; the timeout only turns a hang into a failure."""
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError("condition not reached before the hang timeout")
        time.sleep(step)


def tone(rate: int, seconds: float, hz: float = 440.0) -> np.ndarray:
    return (0.5 * np.sin(2 * np.pi * hz * np.arange(int(rate * seconds)) / rate)).astype(np.float32)


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 44100, 48000])
def test_stream_resampler_is_continuous_across_chunks(rate):
    x = tone(rate, 1.0)
    whole = StreamResampler(rate)(x)
    rs = StreamResampler(rate)
    rng = np.random.default_rng(0)
    parts, pos = [], 0
    while pos < len(x):
        n = int(rng.integers(1, 2000))
        parts.append(rs(x[pos : pos + n]))
        pos += n
    chunked = np.concatenate(parts)
    assert abs(len(chunked) - SAMPLE_RATE) <= 2 and len(chunked) == len(whole)
    np.testing.assert_allclose(chunked, whole, atol=1e-5)
    spectrum = np.abs(np.fft.rfft(chunked[1000:] * np.hanning(len(chunked) - 1000)))
    assert abs(np.argmax(spectrum) * SAMPLE_RATE / (len(chunked) - 1000) - 440) < 3


def test_file_input_gives_frames_then_ends_or_loops(tmp_path):
    path = tmp_path / "x.wav"
    x = tone(SAMPLE_RATE, 0.1)  # 1600 samples: 2.5 frames
    sf.write(path, x, SAMPLE_RATE)
    inp = FileAudioInput(path)
    inp.start()
    frames = [inp.read_frame()[0] for _ in range(4)]
    assert [f is None for f in frames] == [False, False, False, True] and inp.finished
    assert all(len(f) == SAMPLES_PER_FRAME for f in frames[:3])
    np.testing.assert_allclose(np.concatenate(frames[:3])[:1600], x, atol=1e-4)
    looping = FileAudioInput(path, loop=True)
    looping.start()
    assert all(looping.read_frame()[0] is not None for _ in range(10)) and not looping.finished


def test_push_input_prerolls_pads_underruns_and_refuses_overflow():
    inp = PushAudioInput(max_seconds=1.0)
    assert inp.read_frame()[0] is None  # nothing pushed yet: the input is absent
    x = tone(SAMPLE_RATE, 0.1)
    inp.push(x, SAMPLE_RATE)
    a, b, c = (inp.read_frame()[0] for _ in range(3))
    np.testing.assert_allclose(np.concatenate([a, b, c])[:1600], x, atol=1e-6)
    assert inp.underruns == 1 and np.all(c[1600 - 1280 :] == 0)  # padded with silence
    with pytest.raises(OverflowError):
        inp.push(np.zeros(2 * SAMPLE_RATE, np.float32), SAMPLE_RATE)


class FakeStream:
    """A sounddevice-like input stream whose device can be unplugged (stops delivering) and plugged back."""

    plugged = True
    opened = 0

    def __init__(self, device, callback, rate: int = 48000):
        if not FakeStream.plugged:
            raise DeviceError("no such device")
        FakeStream.opened += 1
        self.samplerate, self.callback = rate, callback
        self.active = False
        self._stop = threading.Event()

    def start(self):
        self.active = True
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        block = self.samplerate // 50
        x = tone(self.samplerate, 0.02)
        while not self._stop.wait(0.02):
            if not FakeStream.plugged:
                self.active = False
                return
            self.callback(x.reshape(-1, 1), block, None, None)

    def close(self):
        self._stop.set()


def test_mic_that_disappears_idles_and_is_picked_up_again():
    FakeStream.plugged, FakeStream.opened = True, 0
    mic = MicAudioInput("Fake USB Mic", backend=FakeStream, retry_s=0.1, stall_s=0.2)
    mic.start()
    try:
        wait_until(lambda: mic.buffered_seconds > 0.1)
        frame, _ = mic.read_frame()
        assert frame is not None and np.abs(frame).max() > 0.3  # real signal, resampled 48k -> 16k
        FakeStream.plugged = False
        wait_until(lambda: not mic.alive)
        assert mic.read_frame()[0] is None  # condition dropped: the avatar idles
        FakeStream.plugged = True
        wait_until(lambda: mic.alive and mic.reopens == 1)
        wait_until(lambda: mic.buffered_seconds > 0.1)
        frame, _ = mic.read_frame()
        assert frame is not None and np.abs(frame).max() > 0.3
    finally:
        mic.close()


def test_device_specs():
    assert parse_device("mic") is None and parse_device("mic:3") == 3 and parse_device("mic:USB Audio") == "USB Audio"


# --- real PortAudio through ALSA, with a fake microphone --------------------------------------------------


def _portaudio_script(body: str) -> str:
    return textwrap.dedent(body)


def _run_with_alsa(conf: Path, script: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, ALSA_CONFIG_PATH=str(conf))
    return subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120,
                          cwd=REPO)  # fmt: skip


def _needs_portaudio():
    try:
        import sounddevice  # noqa: F401
    except OSError as e:
        pytest.skip(f"PortAudio missing: {e}")


def test_no_sound_card_gives_device_error_with_the_fix(tmp_path):
    _needs_portaudio()
    conf = tmp_path / "asound.conf"
    conf.write_text("pcm.nocard {\n type hw\n card 42\n}\n")  # a valid ALSA config without any usable device
    script = """
from af_plugin.errors import DeviceError
from af_plugin.runtime.sources import make_audio_input
for spec in ("mic", "mic:USB Headset", "mic:7"):
    try:
        make_audio_input(spec).start()
        print("OPENED", spec)
    except DeviceError as e:
        print("DEVICEERROR", e)
"""
    out = _run_with_alsa(conf, script)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith(("DEVICEERROR", "OPENED"))]
    assert len(lines) == 3 and all(ln.startswith("DEVICEERROR") for ln in lines), out.stdout + out.stderr
    assert all("arecord -l" in ln and "mic:NAME" in ln for ln in lines)


def test_fake_alsa_microphone_through_portaudio(tmp_path):
    """A user ALSA config whose default capture device replays a raw file (paced through a FIFO)."""
    _needs_portaudio()
    rate = 48000
    speech = np.concatenate([tone(rate, 0.3, 300), np.zeros(rate // 5, np.float32), tone(rate, 1.5, 700)])
    raw = tmp_path / "mic.raw"
    raw.write_bytes((speech * 32767).astype("<i2").tobytes())
    fifo = tmp_path / "mic.fifo"
    os.mkfifo(fifo)
    conf = tmp_path / "asound.conf"
    conf.write_text(
        textwrap.dedent(f"""
        pcm.!default {{
            type plug
            slave {{ pcm "fakemic"; format S16_LE; rate {rate}; channels 1 }}
        }}
        pcm.fakemic {{
            type file
            slave.pcm "nullsink"
            file "/dev/null"
            infile "{fifo}"
            format "raw"
        }}
        pcm.nullsink {{ type null }}
    """)
    )
    script = f"""
import threading, time, numpy as np
from af_plugin.runtime.sources import make_audio_input

def replay():  # the "microphone": the raw file at real-time pace
    data = open({str(raw)!r}, "rb").read()
    step = {rate} * 2 // 50
    pos, t0 = 0, None
    while pos < len(data):
        # PortAudio opens and closes the device while probing it: reopen the FIFO for every new reader
        try:
            with open({str(fifo)!r}, "wb", buffering=0) as f:
                t0 = t0 or time.perf_counter()
                while pos < len(data):
                    f.write(data[pos:pos + step])
                    pos += step
                    time.sleep(max(0.0, t0 + pos // step * 0.02 - time.perf_counter()))
        except BrokenPipeError:
            continue

threading.Thread(target=replay, daemon=True).start()
mic = make_audio_input("mic:default")
mic.start()
frames = []
t0 = time.perf_counter()
while len(frames) < 40 and time.perf_counter() - t0 < 30:
    time.sleep(0.04)
    x, _ = mic.read_frame()
    if x is not None:
        frames.append(x)
mic.close()
x = np.concatenate(frames)
spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
print("RESULT", len(x), float(np.abs(x).max()), float(np.argmax(spec) * 16000 / len(x)), mic.alive)
"""
    out = _run_with_alsa(conf, script)
    result = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT")]
    assert result, out.stdout + out.stderr
    _, n, peak, hz, _ = result[0].split()
    assert int(n) >= 30 * SAMPLES_PER_FRAME and 0.3 < float(peak) < 0.6  # the file's signal, at 16 kHz
    assert abs(float(hz) - 700) < 15  # the dominant tone survives the 48 kHz → 16 kHz conversion


# --- video files ----------------------------------------------------------------------------------------------


def test_video_file_input_tracks_the_face():
    video = SHARED / "hdtf_katiehill_25fps.mp4"
    if not video.is_file():
        pytest.skip("shared talking-head video absent")
    from af_plugin.runtime.video import make_video_input

    inp = make_video_input(str(video), realtime=False)
    inp.start()
    try:
        values = [inp.read_frame() for _ in range(20)]
    finally:
        inp.close()
    found = [v for v in values if v is not None]
    assert len(found) >= 18 and all(v.shape == (62,) and np.isfinite(v).all() for v in found)


def test_missing_camera_is_a_device_error_with_the_fix():
    from af_plugin.runtime.video import make_video_input

    cam = make_video_input("cam:57")
    with pytest.raises(DeviceError, match="cam:INDEX"):
        cam.start()
    with pytest.raises(DeviceError):
        make_video_input("cam:front")


# --- the engine driven by file sources ---------------------------------------------------------------------------


def test_engine_runs_file_sources_to_the_end_with_modes_following_the_inputs(tmp_path):
    from af_plugin.runtime.app import build_app, run_app
    from af_plugin.sinks.base import MotionFrame, Sink

    # the user talks first, then the avatar: 1.2 s each, silence around
    gap = np.zeros(int(0.6 * SAMPLE_RATE), np.float32)
    voice = np.sign(tone(SAMPLE_RATE, 1.2, 150)) * 0.3
    silence = np.zeros_like(voice)
    sf.write(tmp_path / "user.wav", np.concatenate([gap, voice, gap, silence, gap]), SAMPLE_RATE)
    sf.write(tmp_path / "avatar.wav", np.concatenate([gap, silence, gap, voice, gap]), SAMPLE_RATE)
    n_frames = int(np.ceil((3 * len(gap) + 2 * len(voice)) / SAMPLES_PER_FRAME))

    class Capture(Sink):
        name = "capture"
        lossless = True

        def __init__(self):
            self.frames: list[MotionFrame] = []
            self.modes: list[str] = []

        def send(self, frame):
            self.frames.append(frame)

    cfg = load_config(overrides={"sources.user_audio": str(tmp_path / "user.wav"), "model.steps": 1,
                                 "sources.avatar_audio": str(tmp_path / "avatar.wav"), "sources.realtime": False,
                                 "outputs.ws": False})  # fmt: skip
    capture = Capture()
    app = build_app(cfg, extra_sinks=[("memory", capture)])
    sess = app.engine.sessions["default"]
    modes = []
    app.engine.sinks.append(
        type("ModeProbe", (Sink,), {"name": "probe", "send": lambda self, f: modes.append(sess.mode)})()
    )
    asyncio.run(run_app(app, handle_signals=False))
    indices = [f.index for f in capture.frames]
    assert indices == list(range(n_frames))  # every frame of the conversation, once, in order
    assert all(abs(f.t - f.index / 25) < 1e-9 for f in capture.frames)
    assert all({"audio_in", "features", "generated", "emitted"} <= set(f.stamps) for f in capture.frames)
    seen = [m for i, m in enumerate(modes) if i == 0 or m != modes[i - 1]]
    assert "listening" in seen and "talking" in seen and seen.index("listening") < seen.index("talking")
    voiced = [f for f in capture.frames if f.audio is not None and np.abs(f.audio).max() > 0.2]
    assert len(voiced) >= 25  # the avatar's voice travels with its frames


def test_camera_that_disappears_runs_without_user_motion_and_comes_back():
    """A webcam stand-in (the shared portrait as every frame) through the real MediaPipe tracker."""
    photo = SHARED / "astronaut.png"
    if not photo.is_file():
        pytest.skip("shared portrait absent")
    import cv2

    from af_plugin.runtime.video import CameraInput

    image = cv2.imread(str(photo))
    state = {"plugged": True}

    class FakeCapture:
        def __init__(self, index):
            if not state["plugged"]:
                raise DeviceError(f"no camera at index {index}")

        def read(self):
            time.sleep(0.02)
            return (True, image.copy()) if state["plugged"] else (False, None)

        def release(self):
            pass

    cam = CameraInput(0, opener=FakeCapture, retry_s=0.1, fresh_s=0.5)
    cam.start()
    try:
        wait_until(lambda: cam.read_frame() is not None)
        values = cam.read_frame()
        assert values.shape == (62,) and np.isfinite(values).all()
        state["plugged"] = False
        wait_until(lambda: not cam.alive and cam.read_frame() is None)
        state["plugged"] = True
        wait_until(lambda: cam.alive and cam.reopens == 1 and cam.read_frame() is not None)
    finally:
        cam.close()
