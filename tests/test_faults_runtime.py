"""Fault injection on the running runtime: a client that stops reading, a microphone that disappears and comes
back, a video source that ends, unreachable Live Link / VMC targets, a virtual camera that fails mid-stream.
In every case a healthy client watching the same server keeps receiving every frame, in order.

(A client disconnecting mid-message: test_fuzz_server.py; disk full and signals: test_faults_shutdown.py.)
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time

import numpy as np
import pytest
from test_samples_support import LiveServer, MotionWatcher, free_port
from websockets.sync.client import connect

from af_plugin.runtime.sources import MicAudioInput
from af_plugin.runtime.threaded import ThreadedSink


def status_of(url: str, session: str = "default") -> dict:
    with connect(url) as ws:
        ws.recv()
        ws.send(json.dumps({"type": "control", "action": "status", "session": session}))
        while True:
            msg = json.loads(ws.recv(timeout=120))
            if msg["type"] == "status":
                return msg


def test_client_that_stops_reading_is_cut_off_and_others_are_untouched(caplog):
    caplog.set_level(logging.INFO, logger="af_plugin.sinks.websocket")
    with LiveServer(queue_messages=16, slow_client_s=0.3, send_buffer_bytes=4096) as live:
        watcher = MotionWatcher(live.url)
        # The stalled client: a tiny receive buffer, and it never calls recv after subscribing to everything.
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
        sock.connect(("127.0.0.1", live.server.port))
        with connect(live.url, sock=sock, max_queue=1, max_size=None, close_timeout=0.5) as stalled:
            stalled.send(json.dumps({"type": "subscribe", "streams": ["motion", "latent", "audio", "status"]}))
            while live.server.disconnected_slow == 0:  # the bound: its queue stayed full for slow_client_s
                watcher.wait_frames(1)
            while len(live.server.clients) > 1:
                watcher.wait_frames(1)
            watcher.wait_frames(10)
        watcher.close()
    assert watcher.gaps == 0, "the healthy client lost frames to the stalled one"
    reasons = [r.getMessage() for r in caplog.records if "client too slow" in r.getMessage()]
    assert len(reasons) == 1 and "messages dropped" in reasons[0]


class FakeMicrophone:
    """A sounddevice-like backend for MicAudioInput: a device thread delivering 48 kHz blocks in real time.

    ``unplug()`` makes the running stream stop delivering (as a vanished USB device does) and every reopen
    fail; ``plug()`` brings it back.
    """

    def __init__(self) -> None:
        self.present = True
        self.opens = 0

    def __call__(self, device, callback):
        if not self.present:
            raise OSError(f"device {device!r} not found")
        self.opens += 1
        return _FakeStream(self, callback)

    def unplug(self) -> None:
        self.present = False

    def plug(self) -> None:
        self.present = True


class _FakeStream:
    samplerate = 48_000

    def __init__(self, mic: FakeMicrophone, callback) -> None:
        self.mic, self.callback = mic, callback
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def active(self) -> bool:
        return self._thread.is_alive()

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        block = 960  # 20 ms at 48 kHz
        tone = (0.3 * np.sin(np.arange(block) / self.samplerate * 2 * np.pi * 220)).astype(np.float32)[:, None]
        next_t = time.perf_counter()
        while not self._stop.is_set() and self.mic.present:
            self.callback(tone, block, None, None)
            next_t += block / self.samplerate
            self._stop.wait(max(0.0, next_t - time.perf_counter()))

    def close(self) -> None:
        self._stop.set()


def wait_until(predicate, watcher: MotionWatcher, max_frames: int = 6000) -> None:
    """Wait, measured in frames the healthy watcher receives (a hang guard, not a performance limit)."""
    for _ in range(max_frames):
        if predicate():
            return
        watcher.wait_frames(1)
    raise AssertionError("the condition never came true")


def test_microphone_disappears_and_returns():
    fake = FakeMicrophone()
    mic = MicAudioInput("Fake USB Mic", retry_s=0.2, stall_s=0.5, backend=fake)
    with LiveServer(sessions={"default": {"user_audio": mic}}) as live:
        watcher = MotionWatcher(live.url)
        wait_until(lambda: mic.alive and mic.buffered_seconds > 0, watcher)
        assert (mic.reopens, fake.opens) == (0, 1), "no spurious reopen at start"
        reopens, opens = mic.reopens, fake.opens
        assert status_of(live.url)["inputs_alive"]["user"] is True
        fake.unplug()
        wait_until(lambda: not mic.alive, watcher)
        assert status_of(live.url)["inputs_alive"]["user"] is False
        before = len(watcher.indices)
        watcher.wait_frames(10)  # the avatar idles on without the microphone
        assert len(watcher.indices) >= before + 10
        fake.plug()
        wait_until(lambda: mic.alive and mic.reopens == reopens + 1, watcher)
        assert status_of(live.url)["inputs_alive"]["user"] is True
        watcher.wait_frames(5)
        watcher.close()
    assert fake.opens == opens + 1, "one successful reopen; the failed attempts while unplugged do not count"
    assert watcher.gaps == 0


def test_video_source_ending_leaves_the_avatar_running(tmp_path, shared_data):
    pytest.importorskip("mediapipe")
    import av

    from af_plugin.runtime.video import VideoFileInput

    short = tmp_path / "short.mp4"  # the first 12 frames of a real talking-head clip
    with av.open(str(shared_data / "hdtf_katiehill_25fps.mp4")) as src, av.open(str(short), "w") as dst:
        stream = dst.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 256, 256, "yuv420p"
        for i, frame in enumerate(src.decode(video=0)):
            if i == 12:
                break
            dst.mux(stream.encode(frame.reformat(256, 256, "yuv420p")))
        dst.mux(stream.encode(None))
    video = VideoFileInput(short, loop=False, realtime=True)
    with LiveServer(sessions={"default": {"user_video": video}}) as live:
        watcher = MotionWatcher(live.url)
        wait_until(lambda: video.finished, watcher)
        before = len(watcher.indices)
        watcher.wait_frames(15)  # the session carries on without the user-motion condition
        status = status_of(live.url)
        watcher.close()
    assert len(watcher.indices) >= before + 15 and watcher.gaps == 0
    assert "short.mp4" in status["inputs"]["user_motion"]


def test_unreachable_live_link_and_vmc_targets(caplog):
    from af_plugin.sinks.livelink import LiveLinkSink
    from af_plugin.sinks.vmc import VmcSink

    caplog.set_level(logging.WARNING)
    closed = free_port()  # nothing listens there
    sinks = [
        ThreadedSink(LiveLinkSink(f"127.0.0.1:{closed}")),
        ThreadedSink(VmcSink(f"127.0.0.1:{closed}")),
        ThreadedSink(LiveLinkSink("255.255.255.255:11111")),  # refused by the kernel (EACCES: no SO_BROADCAST)
    ]
    with LiveServer() as live:
        for s in sinks:
            s.open()
            live.call(live.engine.add_sink, s)
        watcher = MotionWatcher(live.url)
        watcher.wait_frames(25)
        for s in sinks:
            s.close()
        watcher.close()
    assert watcher.gaps == 0
    for s in sinks:
        assert s.inner.udp.packets_sent + s.inner.errors >= 25, "every frame was offered to every output"
    # UDP to a closed port is fire-and-forget (unconnected socket: no ICMP error surfaces), never a stall.
    assert sinks[0].inner.udp.packets_sent >= 25
    assert sinks[2].inner.errors >= 25 and sinks[2].inner.udp.packets_sent == 0
    warnings = [r.getMessage() for r in caplog.records if "cannot send" in r.getMessage()]
    assert len(warnings) == 1 and "255.255.255.255" in warnings[0], "one warning per output, not one per frame"


def test_virtual_camera_backend_failing_mid_stream(caplog):
    import pyvirtualcam

    from af_plugin.config import RenderConfig
    from af_plugin.sinks.vcam import VirtualCameraSink

    class FailingCamera:
        """A pyvirtualcam backend whose device vanishes after 5 frames (a driver crash, OBS closed)."""

        sent = 0

        def __init__(self, *, width, height, fps, fourcc, device, **kw) -> None:
            self.width, self.height = width, height

        def device(self) -> str:
            return "Failing Test Camera"

        def send(self, frame) -> None:
            FailingCamera.sent += 1
            if FailingCamera.sent > 5:
                raise RuntimeError("virtual camera device disappeared")

        def close(self) -> None:
            pass

    pyvirtualcam.register_backend("af_test_failing", FailingCamera)
    caplog.set_level(logging.WARNING)
    cam = ThreadedSink(VirtualCameraSink(RenderConfig(width=64, height=64), backend="af_test_failing"))
    with LiveServer() as live:
        cam.open()
        assert cam.inner.camera_name == "Failing Test Camera"
        live.call(live.engine.add_sink, cam)
        watcher = MotionWatcher(live.url)
        wait_until(lambda: cam.errors >= 10, watcher)
        watcher.wait_frames(10)
        cam.close()
        watcher.close()
    assert watcher.gaps == 0
    assert FailingCamera.sent > 15, "the camera sink keeps getting frames (it may come back)"
    failures = [r.getMessage() for r in caplog.records if "disappeared" in r.getMessage()]
    assert len(failures) == 1, "reported once, not per frame"
