"""`af demo` end to end (as a user runs it), and its preview page in headless Chromium."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf

from af_plugin.constants import SAMPLE_RATE, SAMPLES_PER_FRAME
from af_plugin.motion.clip import MotionClip

REPO = Path(__file__).resolve().parent.parent
SHIPPED = REPO / "af_plugin" / "assets" / "sample_conversation"
HANG = 180.0


def make_conversation(folder: Path) -> Path:
    """A short two-party conversation: espeak-ng voices when available, buzzy tones otherwise."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = {"a": "Hello! I am the avatar. Nice to meet you.", "b": "Hi there, how are you?"}
    for party, text in lines.items():
        path = folder / f"{party}.wav"
        if shutil.which("espeak-ng"):
            subprocess.run(["espeak-ng", "-w", str(path), text], check=True, timeout=60)
        else:
            t = np.arange(int(1.5 * SAMPLE_RATE)) / SAMPLE_RATE
            sf.write(path, (0.3 * np.sign(np.sin(2 * np.pi * (120 if party == "a" else 200) * t))).astype(np.float32),
                     SAMPLE_RATE)  # fmt: skip
    # b talks first, then a answers: pad so the turns do not overlap
    a, ra = sf.read(folder / "a.wav", dtype="float32")
    b, rb = sf.read(folder / "b.wav", dtype="float32")
    sf.write(folder / "a.wav", np.concatenate([np.zeros(len(b) * ra // rb, np.float32), a]), ra)
    sf.write(folder / "b.wav", np.concatenate([b, np.zeros(len(a) * rb // ra, np.float32)]), rb)
    return folder


def run_demo(conversation: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "af_plugin", "demo", "--fast", "--ws", "127.0.0.1:0", "--output", str(out), *extra]
    if conversation is not None:
        cmd += ["--conversation", str(conversation)]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=HANG)


def check_outputs(result: subprocess.CompletedProcess, out: Path, avatar_wav: Path) -> None:
    assert result.returncode == 0, result.stderr
    csv, mp4 = out / "motion.csv", out / "avatar.mp4"
    assert f"wrote {csv.resolve()}" in result.stdout and f"wrote {mp4.resolve()}" in result.stdout
    assert "preview" in result.stdout and "http://127.0.0.1:" in result.stdout
    from af_plugin.perception.audio import load_audio

    n = int(np.ceil(len(load_audio(avatar_wav)) / SAMPLES_PER_FRAME))
    clip = MotionClip.read(csv)
    assert len(clip) == n  # the whole conversation, and it ended by itself
    with av.open(str(mp4)) as container:
        assert container.streams.audio and container.streams.video
        frames = sum(1 for _ in container.decode(video=0))
    assert frames == n


def test_af_demo_fast_end_to_end(tmp_path):
    conv = make_conversation(tmp_path / "conv")
    out = tmp_path / "af-demo-output"
    check_outputs(run_demo(conv, out), out, conv / "a.wav")


@pytest.mark.slow
def test_af_demo_fast_with_the_shipped_conversation(tmp_path):
    avatar = next(SHIPPED.glob("a.*"), None) if SHIPPED.is_dir() else None
    if avatar is None:
        pytest.skip("the sample conversation is not shipped yet")
    out = tmp_path / "af-demo-output"
    check_outputs(run_demo(None, out), out, avatar)


def test_missing_conversation_is_one_line(tmp_path):
    result = run_demo(tmp_path / "nowhere", tmp_path / "out")
    assert result.returncode == 2 and "a.wav" in result.stderr and "Traceback" not in result.stderr


def test_preview_page_shows_the_avatar_moving_and_the_latency(tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium not installed")
    playwright = pytest.importorskip("playwright.sync_api")
    conv = make_conversation(tmp_path / "conv")
    proc = subprocess.Popen(
        [sys.executable, "-m", "af_plugin", "demo", "--conversation", str(conv), "--ws", "127.0.0.1:0",
         "--output", str(tmp_path / "out"), "--forever", "--no-video", "--set", "model.steps=1"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )  # fmt: skip
    try:
        page_url = None
        for line in proc.stdout:
            if line.startswith("open http://"):
                page_url = line.split()[1]
                break
        assert page_url, proc.stderr.read() if proc.poll() is not None else "no preview URL printed"
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium,
                                        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])  # fmt: skip
            page = browser.new_page()
            page.goto(page_url)
            page.wait_for_function("window.afPreview && window.afPreview.frames() > 30", timeout=HANG * 1000)
            page.wait_for_function(
                "window.afPreview.status && window.afPreview.status.latency_ms.audio_to_sent", timeout=HANG * 1000
            )
            first = page.evaluate("window.afPreview.latest().frame")
            page.wait_for_function(f"window.afPreview.latest().frame > {first + 10}", timeout=HANG * 1000)
            shown = page.text_content("#frame")
            latency_rows = page.locator("#lat tr").count()
            pixels = page.evaluate(
                "(() => { const c = document.getElementById('face'); const d = c.getContext('2d')"
                ".getImageData(0, 0, c.width, c.height).data; let n = 0; for (let i = 0; i < d.length; i += 4)"
                " if (d[i + 3] > 0) n++; return n; })()"
            )
            browser.close()
        assert int(shown) > first and latency_rows > 2 and pixels > 1000
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
        time.sleep(0)
