"""Stopping and running out of disk: SIGINT/SIGTERM to ``af run`` shut it down cleanly (clients told, recordings
finalised, exit 0); a recording that hits a full disk keeps every whole frame it managed to write, readable."""

from __future__ import annotations

import re
import resource
import signal
import subprocess
import sys

import numpy as np
import pytest
from test_samples_support import REPO, AfRun, MotionWatcher, child_env

from af_plugin.motion.clip import MotionClip


@pytest.mark.parametrize("sig", [signal.SIGINT], ids=["SIGINT"])  # both signals: test_runtime_outputs.py
def test_signal_stops_cleanly_and_finalises_the_recording(sig, shared_data, tmp_path):
    take = tmp_path / "take.afm"
    with AfRun("--user-audio", str(shared_data / "hdtf_radio31_16k.wav"), "--loop", "--record", str(take),
               "--set", "model.steps=1") as af:  # fmt: skip
        af.ready()
        watcher = MotionWatcher(af.url)
        watcher.wait_frames(30)
        rc = af.stop(sig)
        watcher._thread.join(30)
    assert rc == 0, af.output
    assert "Traceback" not in af.output
    sent = int(re.search(r"frames sent: default=(\d+)", af.output).group(1))
    assert watcher.closed_code == 1001, "clients are told the server is going away"
    clip = MotionClip.read(take)
    assert len(clip) == sent >= 30, "every frame the runtime emitted is in the recording"
    assert np.array_equal(clip.indices, np.arange(clip.first_index, clip.first_index + sent))
    assert set(watcher.indices) <= set(clip.indices.tolist())


def _limit_file_size(limit: int):
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG from write() instead of being killed
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


RECORD_100_FRAMES = """
import sys, numpy as np
from af_plugin.runtime.threaded import ThreadedSink
from af_plugin.sinks.base import MotionFrame
from af_plugin.sinks.recorder import RecorderSink
sink = ThreadedSink(RecorderSink(sys.argv[1]), lossless=True)  # as af run wires it
sink.open()
rng = np.random.default_rng(0)
for i in range(100):
    sink.send(MotionFrame(index=i, t=i / 25, values=rng.random(62).astype(np.float32)))
sink.close()
"""


@pytest.mark.parametrize("ext", ["csv", "afm"])
def test_disk_full_while_recording_keeps_what_was_written_readable(ext, tmp_path):
    take = tmp_path / f"take.{ext}"
    limit = 20_000  # bytes: room for a few dozen of the take's 100 frames
    proc = subprocess.run([sys.executable, "-c", RECORD_100_FRAMES, str(take)], cwd=REPO, env=child_env(),
                          capture_output=True, text=True, preexec_fn=_limit_file_size(limit))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "File too large" in proc.stderr and "whole frames only" in proc.stderr, "the failure is reported"
    assert take.stat().st_size <= limit
    clip = MotionClip.read(take)
    assert 10 <= len(clip) < 100
    assert np.isfinite(clip.values).all()
    assert np.array_equal(clip.indices, np.arange(len(clip))), "the frames kept are the first ones, in order"
