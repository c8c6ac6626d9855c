"""The samples, each run as a user would run it against a REAL ``af run`` subprocess (no devices, free port).

One server (clients push the avatar's voice) is shared by the module's tests; every test checks what the
sample printed or saved, never how long it took.
"""

from __future__ import annotations

import re
import shutil
import struct
import sys
import time

import numpy as np
import pytest
from test_samples_support import SAMPLES, AfRun, UdpReceiver, run_sample

from af_plugin.constants import FPS, SAMPLE_RATE, SAMPLES_PER_FRAME
from af_plugin.motion.clip import MotionClip
from af_plugin.motion.contract import CHANNEL_INDEX

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")


@pytest.fixture(scope="module")
def server():
    # model.steps=1 keeps the shared CPU light; the protocol and the timeline are the same at any step count.
    with AfRun("--set", "model.steps=1") as af:
        af.ready()
        yield af
        assert af.stop() == 0, af.output


@pytest.fixture(scope="module")
def samples_on_path():
    sys.path.insert(0, str(SAMPLES))
    yield
    sys.path.remove(str(SAMPLES))


@pytest.mark.parametrize("fmt", ["json", "binary"])
def test_python_client_prints_consecutive_frames(server, fmt):
    out = run_sample("python_client.py", "--url", server.url, "--frames", "8", "--format", fmt,
                     "--channels", "jawOpen", "headYaw").stdout  # fmt: skip
    rows = [line.split() for line in out.splitlines()[1:]]
    assert out.splitlines()[0].split() == ["frame", "t", "jawOpen", "headYaw"]
    assert len(rows) == 8
    frames = [int(r[0]) for r in rows]
    assert frames == list(range(frames[0], frames[0] + 8)), "a client that keeps up sees every frame"
    for r in rows:
        assert float(r[1]) == pytest.approx(int(r[0]) / FPS, abs=0.006)
        assert 0.0 <= float(r[2]) <= 1.0  # jawOpen is a blendshape weight


def test_python_client_rejects_unknown_channel(server):
    import subprocess

    proc = subprocess.run([sys.executable, str(SAMPLES / "python_client.py"), "--url", server.url,
                           "--channels", "notAChannel"], capture_output=True, text=True)  # fmt: skip
    assert proc.returncode != 0 and "unknown channel" in proc.stderr


def _best_alignment(sent: np.ndarray, got: np.ndarray) -> tuple[int, int]:
    """Lag of ``sent`` inside ``got`` (cross-correlation) and the worst PCM16 step difference there."""
    n = len(got) + len(sent)
    corr = np.fft.irfft(np.fft.rfft(got, n) * np.conj(np.fft.rfft(sent, n)), n)
    lag = int(np.argmax(corr[: len(got)]))
    overlap = min(len(sent), len(got) - lag)
    a = np.round(sent[:overlap] * 32767)
    b = np.round(got[lag : lag + overlap] * 32768)
    return lag, int(np.max(np.abs(a - b)))


@needs_espeak
def test_npc_line_saves_motion_and_the_synced_voice(server, samples_on_path, tmp_path):
    import soundfile as sf
    from npc_line import synthesize

    text = "The bridge is out."
    out = run_sample("npc_line.py", "--url", server.url, "--text", text, "--session", "npc_t", "--out",
                     str(tmp_path / "line")).stdout  # fmt: skip
    assert "saved" in out
    clip = MotionClip.read(tmp_path / "line.csv")
    voice, rate = sf.read(tmp_path / "line.wav", dtype="float32")
    assert rate == SAMPLE_RATE
    # One frame of voice per motion frame: the WAV lines up with the CSV sample for sample.
    assert len(voice) == len(clip) * SAMPLES_PER_FRAME
    line = synthesize(text)
    assert len(clip) >= len(line) / SAMPLES_PER_FRAME, "the whole line came back"
    lag, worst = _best_alignment(line, voice)
    assert worst <= 2, "the returned voice is the pushed line, unaltered (PCM16 rounding only)"
    assert lag < 3 * SAMPLES_PER_FRAME, "the voice starts within the jitter pre-roll of the first frame"
    assert np.isfinite(clip.values).all()
    assert re.search(rf"received {len(clip)} frames", out)


@needs_espeak
def test_many_npcs_each_session_gets_its_own_voice(server, samples_on_path, tmp_path):
    import soundfile as sf
    from many_npcs import LINES
    from npc_line import synthesize

    out = run_sample("many_npcs.py", "--url", server.url, "--npcs", "2", "--out", str(tmp_path)).stdout
    assert re.search(r"^npc1\s+\d+", out, re.M) and re.search(r"^npc2\s+\d+", out, re.M), out
    sent = [synthesize(LINES[i], pitch=20 + 60 * i) for i in range(2)]
    for i, name in enumerate(["npc1", "npc2"]):
        clip = MotionClip.read(tmp_path / f"{name}.csv")
        voice, _ = sf.read(tmp_path / f"{name}.wav", dtype="float32")
        assert len(voice) == len(clip) * SAMPLES_PER_FRAME
        _, own = _best_alignment(sent[i], voice)
        _, other = _best_alignment(sent[1 - i], voice)
        assert own <= 2 < other, f"{name} got back its own line and not the other NPC's"


def test_browser_client_shows_live_frames(server):
    playwright = pytest.importorskip("playwright.sync_api")
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("chromium is not installed")
    page_url = (SAMPLES / "browser_client.html").as_uri() + f"?ws={server.url}&channels=jawOpen,headYaw"
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])  # fmt: skip
        try:
            page = browser.new_page()
            page.goto(page_url)
            page.wait_for_function("window.afClient.frames >= 10", timeout=120_000)
            state = page.evaluate("window.afClient")
            assert state["errors"] == []
            assert page.text_content("#state") == "connected"
            shown = int(page.text_content("#frame"))
            assert shown <= page.evaluate("window.afClient.lastFrame")
            assert shown >= state["lastFrame"]
            assert re.fullmatch(r"-?\d+\.\d{3}", page.text_content("#val-jawOpen"))
        finally:
            browser.close()


def _decode_livelink(packet: bytes) -> tuple[str, int, tuple[float, ...]]:
    """(subject, frame number, 61 values) of a version-6 Live Link Face packet."""
    assert packet[0] == 6
    pos = 1
    (n,) = struct.unpack_from(">i", packet, pos)
    pos += 4 + n
    (n,) = struct.unpack_from(">i", packet, pos)
    subject = packet[pos + 4 : pos + 4 + n].decode()
    pos += 4 + n
    frame, _sub, _num, _den, count = struct.unpack_from(">ifiiB", packet, pos)
    values = struct.unpack_from(f">{count}f", packet, pos + 17)
    return subject, frame, values


def test_record_then_replay_to_live_link_and_vmc_receivers(server, tmp_path):
    from pythonosc.osc_packet import OscPacket

    take = tmp_path / "take.csv"
    out = run_sample("record_and_replay.py", "record", "--url", server.url, "--seconds", "1", "--out",
                     str(take)).stdout  # fmt: skip
    m = re.search(r"recorded (\d+) frames \((\d+)\.\.(\d+), (\d+) missing\)", out)
    assert m and int(m.group(1)) == 25 and m.group(4) == "0", out
    clip = MotionClip.read(take)
    assert len(clip) == 25  # a Live Link Face CSV keeps times within the take, not the server's frame numbers

    with UdpReceiver() as livelink, UdpReceiver() as vmc:
        out = run_sample("record_and_replay.py", "replay", str(take), "--livelink", livelink.target,
                         "--subject", "Take1", "--vmc", vmc.target, "--speed", "4").stdout  # fmt: skip
        assert "replayed 25 frames" in out and "(0 send errors)" in out
        for _ in range(100):  # let the last datagrams land on the receiver threads
            if len(livelink.packets) >= 25 and len(vmc.packets) >= 25:
                break
            time.sleep(0.05)
    assert len(livelink.packets) == 25
    decoded = [_decode_livelink(p) for p in livelink.packets]
    assert {d[0] for d in decoded} == {"Take1"}
    assert [d[1] for d in decoded] == list(clip.indices)
    jaw = CHANNEL_INDEX["jawOpen"]
    np.testing.assert_allclose([d[2][17] for d in decoded], clip.values[:, jaw], atol=1e-4)  # JawOpen = value 17

    assert len(vmc.packets) == 25
    jaw_sent = []
    for dgram in vmc.packets:
        blends = {m.message.params[0]: m.message.params[1] for m in OscPacket(dgram).messages
                  if m.message.address == "/VMC/Ext/Blend/Val"}  # fmt: skip
        jaw_sent.append(blends["jawOpen"])
    np.testing.assert_allclose(jaw_sent, clip.values[:, jaw], atol=1e-4)
