"""Runtime outputs: recorder files, virtual camera, slow/dead outputs isolated, and `af run` end to end
(UDP Live Link + VMC packets, recordings finalised on SIGTERM/SIGINT)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf

from af_plugin.config import RenderConfig, load_config
from af_plugin.constants import FPS, SAMPLE_RATE, SAMPLES_PER_FRAME
from af_plugin.errors import DeviceError
from af_plugin.motion.clip import MotionClip
from af_plugin.motion.contract import CHANNELS, HEAD_TRANSLATION, NUM_CHANNELS
from af_plugin.runtime.threaded import ThreadedSink
from af_plugin.sinks.base import MotionFrame, Sink
from af_plugin.sinks.recorder import RecorderSink
from af_plugin.sinks.vcam import VirtualCameraSink, setup_hint

REPO = Path(__file__).resolve().parent.parent
HANG = 60.0


def frames(n: int, session: str = "default", start: int = 0) -> list[MotionFrame]:
    rng = np.random.default_rng(0)
    out = []
    for i in range(start, start + n):
        values = np.clip(rng.random(NUM_CHANNELS).astype(np.float32) * 0.2, 0, 1)
        audio = (0.3 * np.sin(np.arange(SAMPLES_PER_FRAME) / 5)).astype(np.float32)
        out.append(MotionFrame(i, i / FPS, values, session=session, flags=int(i == start + 3), audio=audio))
    return out


def test_recorder_writes_readable_motion_files_and_mp4_with_voice(tmp_path):
    paths = [tmp_path / "take.csv", tmp_path / "take.afm", tmp_path / "take.npz", tmp_path / "take.mp4"]
    rec = RecorderSink(paths, RenderConfig(width=128, height=128))
    rec.open()
    sent = frames(30, start=5) + frames(10, session="npc")
    for f in sent:
        rec.send(f)
    rec.close()
    rec.close()  # twice is fine
    expected = np.stack([f.values for f in sent if f.session == "default"])
    for p in paths[:3]:
        clip = MotionClip.read(p)
        assert len(clip) == 30 and clip.first_index == (0 if p.suffix == ".csv" else 5)  # Live Link CSV: take-relative
        if p.suffix == ".csv":  # Live Link Face CSV has no head translation columns
            keep = [i for i, c in enumerate(CHANNELS) if c not in HEAD_TRANSLATION]
            np.testing.assert_allclose(clip.values[:, keep], expected[:, keep], atol=1e-3)
        else:
            np.testing.assert_array_equal(clip.values, expected)
        assert not clip.valid[3] and clip.valid[[0, 1, 2, 4]].all()
    assert len(MotionClip.read(tmp_path / "take-npc.npz")) == 10  # other sessions go beside it
    with av.open(str(paths[3])) as container:
        assert container.streams.audio, "the avatar's voice is muxed in"
        audio_s = sum(f.samples for f in container.decode(audio=0)) / container.streams.audio[0].rate
    with av.open(str(paths[3])) as container:
        n = sum(1 for _ in container.decode(video=0))
    assert n == 30 and abs(audio_s - 30 / FPS) < 0.1
    assert set(rec.written) >= set(paths)


def test_recorder_refuses_unknown_extensions(tmp_path):
    from af_plugin.sinks.base import SinkError

    with pytest.raises(SinkError, match=r"\.csv"):
        RecorderSink(tmp_path / "take.txt")


class CaptureCamera:
    """A pyvirtualcam backend that keeps the frames (registered with pyvirtualcam.register_backend)."""

    frames: list[np.ndarray] = []

    def __init__(self, *, width, height, fps, fourcc, device, **kw):
        self.width, self.height, self._device = width, height, device or "capture0"

    def send(self, frame):
        CaptureCamera.frames.append(frame.copy())

    def close(self):
        pass

    def device(self):
        return self._device

    def native_fourcc(self):
        return None


def test_virtual_camera_sends_rendered_frames_to_the_backend():
    import pyvirtualcam

    pyvirtualcam.register_backend("af-capture", CaptureCamera)
    CaptureCamera.frames = []
    cam = VirtualCameraSink(RenderConfig(width=160, height=120), backend="af-capture")
    cam.open()
    assert cam.camera_name == "capture0"
    for f in frames(5):
        cam.send(f)
    cam.close()
    assert len(CaptureCamera.frames) == 5
    assert CaptureCamera.frames[0].size == 160 * 120 * 3 and CaptureCamera.frames[0].dtype == np.uint8
    assert CaptureCamera.frames[0].std() > 0  # an actual picture, not a blank buffer


def test_missing_virtual_camera_says_how_to_get_one():
    cam = VirtualCameraSink(
        RenderConfig(width=64, height=64), backend="v4l2loopback" if sys.platform.startswith("linux") else None
    )
    try:
        cam.open()
    except DeviceError as e:
        assert "Fix:" in str(e) and setup_hint() in str(e)
        if sys.platform.startswith("linux"):
            assert "modprobe v4l2loopback" in str(e) and "exclusive_caps=1" in str(e)
    else:  # this machine has a loopback device
        cam.close()
    assert "OBS" in setup_hint("win32") and "Unity Capture" in setup_hint("win32") and "OBS" in setup_hint("darwin")


def test_threaded_sink_never_blocks_on_a_stuck_output():
    release = threading.Event()

    class Stuck(Sink):
        name = "stuck"

        def send(self, frame):
            release.wait()

    sink = ThreadedSink(Stuck(), max_queue=8)
    sink.open()
    for f in frames(500):  # returns at once every time although the output never finishes a frame
        sink.send(f)
    assert sink.dropped >= 500 - 8 - 1
    release.set()
    sink.close(timeout=HANG)


def test_slow_and_failing_outputs_do_not_cost_other_outputs_a_frame(tmp_path):
    from af_plugin.runtime.app import build_app, run_app

    sf.write(tmp_path / "a.wav", (0.3 * np.sin(np.arange(3 * SAMPLE_RATE) / 7)).astype(np.float32), SAMPLE_RATE)

    class Slow(Sink):
        name = "slow"

        def send(self, frame):
            time.sleep(0.3)

    class Broken(Sink):
        name = "broken"

        def send(self, frame):
            raise OSError("device unplugged")

    class Capture(Sink):
        name = "capture"
        lossless = True  # sees every frame even if the machine is slow at close

        def __init__(self):
            self.indices = []

        def send(self, frame):
            self.indices.append(frame.index)

    capture = Capture()
    cfg = load_config(
        overrides={"sources.avatar_audio": str(tmp_path / "a.wav"), "model.steps": 1, "outputs.ws": False}
    )
    app = build_app(cfg, extra_sinks=[("slow", Slow()), ("broken", Broken()), ("memory", capture)])
    slow = next(s for _, s in app.outputs if s.name == "slow")
    broken = next(s for _, s in app.outputs if s.name == "broken")
    asyncio.run(run_app(app, handle_signals=False))
    assert capture.indices == list(range(75))  # every frame reached the healthy output, in order
    assert slow.dropped > 0 and broken.errors + broken.dropped == 75  # slow lost frames; broken kept trying


# --- af run end to end ------------------------------------------------------------------------------------------


def udp_listener() -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(HANG)
    return s


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_af_run_feeds_udp_outputs_and_finalises_recordings_on_signal(tmp_path, sig):
    wav = tmp_path / "voice.wav"
    sf.write(wav, (0.3 * np.sin(np.arange(SAMPLE_RATE) / 6)).astype(np.float32), SAMPLE_RATE)
    livelink, vmc = udp_listener(), udp_listener()
    record = tmp_path / "take.csv"
    cmd = [sys.executable, "-m", "af_plugin", "run", "--avatar-audio", str(wav), "--loop", "--no-ws",
           "--livelink", f"127.0.0.1:{livelink.getsockname()[1]}", "--vmc", f"127.0.0.1:{vmc.getsockname()[1]}",
           "--record", str(record), "--set", "model.steps=1"]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONUNBUFFERED="1"))  # fmt: skip
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("running"):
                break
        text = "".join(lines)
        assert f"{livelink.getsockname()[1]}" in text and f"{vmc.getsockname()[1]}" in text and str(record) in text
        assert len(livelink.recv(4096)) > 100  # a Live Link Face packet
        assert vmc.recv(65536)[:1] in (b"#", b"/")  # an OSC bundle or message
        for _ in range(30):
            livelink.recv(4096)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=HANG)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    clip = MotionClip.read(record)
    assert len(clip) >= 25 and np.array_equal(clip.indices, np.arange(clip.first_index, clip.first_index + len(clip)))


def test_af_run_reports_a_busy_port_and_a_missing_file_in_one_line(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        wav = tmp_path / "v.wav"
        sf.write(wav, np.zeros(SAMPLE_RATE, np.float32), SAMPLE_RATE)
        out = subprocess.run([sys.executable, "-m", "af_plugin", "run", "--avatar-audio", str(wav), "--ws",
                              f"127.0.0.1:{port}", "--set", "model.steps=1"], cwd=REPO, capture_output=True,
                             text=True, timeout=HANG * 2)  # fmt: skip
    assert out.returncode == 2 and "--ws" in out.stderr and "Traceback" not in out.stderr
    out = subprocess.run([sys.executable, "-m", "af_plugin", "run", "--avatar-audio", str(tmp_path / "nope.wav")],
                         cwd=REPO, capture_output=True, text=True, timeout=HANG * 2)  # fmt: skip
    assert out.returncode == 2 and "nope.wav" in out.stderr and "Traceback" not in out.stderr
