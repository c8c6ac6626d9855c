"""VMC output: a real python-osc server receives our frames, bundled and unbundled."""

from __future__ import annotations

import math
import socket
import threading
import time
from collections import defaultdict

import numpy as np
import pytest
from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_bundle import OscBundle
from pythonosc.osc_message import OscMessage
from pythonosc.osc_server import ThreadingOSCUDPServer

from af_plugin.constants import FPS, VMC_PORT
from af_plugin.motion.codecs.afm import FLAG_NO_FACE
from af_plugin.motion.contract import ARKIT_BLENDSHAPES, CHANNEL_INDEX, NUM_CHANNELS
from af_plugin.sinks.base import MotionFrame, SinkError, create_sink
from af_plugin.sinks.vmc import VRM0_PRESETS, VmcSink, vrm_presets


class Collector:
    """Records every message a real OSC server dispatches, grouped per address."""

    def __init__(self):
        self.lock = threading.Lock()
        self.by_address: dict[str, list[tuple]] = defaultdict(list)
        dispatcher = Dispatcher()
        dispatcher.map("/VMC/*", self.on_message)
        self.server = ThreadingOSCUDPServer(("127.0.0.1", 0), dispatcher)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def on_message(self, address: str, *args):
        with self.lock:
            self.by_address[address].append(args)

    def wait_for(self, address: str, count: int, timeout: float = 5.0) -> list[tuple]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.by_address[address]) >= count:
                    return list(self.by_address[address])
            time.sleep(0.01)
        raise AssertionError(f"only {len(self.by_address[address])} of {count} {address} messages arrived")


@pytest.fixture()
def collector():
    c = Collector()
    c.thread.start()
    yield c
    c.server.shutdown()
    c.server.server_close()


def frame_with(index: int = 0, flags: int = 0, **channels: float) -> MotionFrame:
    values = np.zeros(NUM_CHANNELS, dtype=np.float32)
    for name, value in channels.items():
        values[CHANNEL_INDEX[name]] = value
    return MotionFrame(index=index, t=index / FPS, values=values, flags=flags)


def distinct_blendshapes(index: int = 0) -> MotionFrame:
    values = np.zeros(NUM_CHANNELS, dtype=np.float32)
    for i, name in enumerate(ARKIT_BLENDSHAPES):
        values[CHANNEL_INDEX[name]] = (i + 1) / 64.0
    return MotionFrame(index=index, t=index / FPS, values=values)


def rotate(q, v):
    """Rotate vector v by quaternion q = (x, y, z, w) (standard formula; Unity uses the same numbers)."""
    x, y, z, w = q
    u = np.array([x, y, z])
    v = np.asarray(v, dtype=float)
    return 2 * np.dot(u, v) * u + (w * w - np.dot(u, u)) * v + 2 * w * np.cross(u, v)


@pytest.mark.parametrize("bundle", [True, False])
def test_server_receives_all_messages_in_both_modes(collector, bundle):
    n = 3
    with VmcSink(f"127.0.0.1:{collector.port}", bundle=bundle) as sink:
        for i in range(n):
            sink.send(distinct_blendshapes(i))
    n_blends = 52 + len(VRM0_PRESETS)
    vals = collector.wait_for("/VMC/Ext/Blend/Val", n * n_blends)
    collector.wait_for("/VMC/Ext/Blend/Apply", n)
    oks = collector.wait_for("/VMC/Ext/OK", n)
    times = collector.wait_for("/VMC/Ext/T", n)
    bones = collector.wait_for("/VMC/Ext/Bone/Pos", 4 * n)
    assert all(ok == (1, 3, 0, 1) for ok in oks)
    assert sorted(t[0] for t in times) == pytest.approx([0.0, 0.04, 0.08])
    assert {b[0] for b in bones} == {"Neck", "Head", "LeftEye", "RightEye"}
    assert all(len(b) == 8 for b in bones)
    got = {name: value for name, value in vals}
    for i, name in enumerate(ARKIT_BLENDSHAPES):  # camel case by default, values by name
        assert got[name] == pytest.approx((i + 1) / 64.0, abs=1e-6), name
    assert set(VRM0_PRESETS) <= set(got)
    assert sink.frames_sent == n and sink.errors == 0


def test_bundled_is_one_datagram_per_frame_in_order_and_unbundled_is_one_per_message():
    raw = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    raw.bind(("127.0.0.1", 0))
    raw.settimeout(5)
    port = raw.getsockname()[1]
    try:
        with VmcSink(f"127.0.0.1:{port}", bundle=True, names="arkit") as sink:
            sink.send(distinct_blendshapes(0))
        dgram = raw.recv(65536)
        assert OscBundle.dgram_is_bundle(dgram)
        bundle = OscBundle(dgram)
        addresses = [m.address for m in bundle]
        assert addresses[:2] == ["/VMC/Ext/OK", "/VMC/Ext/T"]
        assert addresses[2:6] == ["/VMC/Ext/Bone/Pos"] * 4
        assert addresses[6:-1] == ["/VMC/Ext/Blend/Val"] * 52
        assert addresses[-1] == "/VMC/Ext/Blend/Apply"

        with VmcSink(f"127.0.0.1:{port}", bundle=False, names="vrm", bones=False) as sink:
            sink.send(distinct_blendshapes(1))
        singles = [raw.recv(65536) for _ in range(2 + len(VRM0_PRESETS) + 1)]
        assert not any(OscBundle.dgram_is_bundle(d) for d in singles)
        msgs = [OscMessage(d) for d in singles]
        assert [m.address for m in msgs][-1] == "/VMC/Ext/Blend/Apply"
        assert [m.params[0] for m in msgs[2:-1]] == list(VRM0_PRESETS)
    finally:
        raw.close()


def test_pascal_case_and_no_face_tracking_flag(collector):
    with VmcSink(f"127.0.0.1:{collector.port}", case="pascal", names="arkit") as sink:
        sink.send(frame_with(0, flags=FLAG_NO_FACE, eyeBlinkLeft=0.75))
    vals = dict(collector.wait_for("/VMC/Ext/Blend/Val", 52))
    assert vals["EyeBlinkLeft"] == pytest.approx(0.75)
    assert "eyeBlinkLeft" not in vals and "TongueOut" in vals
    assert collector.wait_for("/VMC/Ext/OK", 1)[0] == (1, 3, 0, 0)


def test_bone_rotations_follow_unity_axes():
    sink = VmcSink()
    forward, up = (0, 0, 1), (0, 1, 0)

    def head_world(**ch):
        r = sink.bone_rotations(frame_with(**ch).values)
        # Neck then Head (both local; Head's parent is Neck): world = Neck * Head.
        x1, y1, z1, w1 = r["Neck"]
        x2, y2, z2, w2 = r["Head"]
        return np.array([
            w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
            w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
            w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2,
            w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2,
        ]), r  # fmt: skip

    # Unity: +X is the avatar's right, +Y up, +Z the avatar's forward.
    q, r = head_world(headYaw=0.4)  # face turns toward the avatar's left → forward moves to -X
    f = rotate(q, forward)
    assert f[0] == pytest.approx(-math.sin(0.4), abs=1e-6) and abs(f[1]) < 1e-6
    # the neck carries 30 % of the angle, the head the rest
    assert 2 * math.degrees(math.acos(r["Neck"][3])) == pytest.approx(math.degrees(0.4) * 0.3, abs=1e-4)
    q, _ = head_world(headPitch=0.3)  # chin up → forward tilts to +Y
    assert rotate(q, forward)[1] == pytest.approx(math.sin(0.3), abs=1e-6)
    q, _ = head_world(headRoll=0.2)  # top of the head toward the avatar's left shoulder → up moves to -X
    assert rotate(q, up)[0] == pytest.approx(-math.sin(0.2), abs=1e-6)
    q, _ = head_world(headYaw=0.3, headPitch=-0.2, headRoll=0.1)
    assert np.linalg.norm(q) == pytest.approx(1.0, abs=1e-9)
    r = sink.bone_rotations(frame_with(leftEyeYaw=0.2, rightEyePitch=-0.1).values)
    assert rotate(r["LeftEye"], forward)[0] < 0  # looks toward the avatar's left
    assert rotate(r["RightEye"], forward)[1] < 0  # looks down
    assert np.allclose(r["Head"], [0, 0, 0, 1]) and np.allclose(r["Neck"], [0, 0, 0, 1])


def test_vrm_preset_formulas():
    p = vrm_presets(frame_with(eyeBlinkLeft=1.0, eyeBlinkRight=0.6).values)
    assert (p["Blink"], p["Blink_L"], p["Blink_R"]) == pytest.approx((0.6, 0.4, 0.0))
    p = vrm_presets(frame_with(jawOpen=0.8).values)
    assert p["A"] == pytest.approx(0.8) and p["O"] == p["U"] == p["I"] == p["E"] == 0
    p = vrm_presets(frame_with(jawOpen=0.6, mouthFunnel=0.9).values)
    assert p["O"] > p["A"] and sum(p[k] for k in "AIUEO") <= 0.9 + 1e-6
    p = vrm_presets(frame_with(mouthPucker=1.0).values)
    assert p["U"] == pytest.approx(1.0)
    p = vrm_presets(
        frame_with(mouthSmileLeft=0.8, mouthSmileRight=0.8, cheekSquintLeft=0.5, cheekSquintRight=0.5).values
    )
    assert (p["Joy"], p["Fun"]) == pytest.approx((0.5, 0.3))
    p = vrm_presets(frame_with(browDownLeft=1, browDownRight=1, mouthFrownLeft=0.5, mouthFrownRight=0.5).values)
    assert (p["Angry"], p["Sorrow"]) == pytest.approx((1.0, 0.5))
    half = math.radians(15)
    p = vrm_presets(frame_with(leftEyeYaw=half, rightEyeYaw=half, leftEyePitch=-2, rightEyePitch=-2).values)
    assert (p["LookLeft"], p["LookRight"], p["LookDown"], p["LookUp"]) == pytest.approx((0.5, 0.0, 1.0, 0.0))
    assert all(0.0 <= x <= 1.0 for x in p.values())


def test_registered_default_port_and_bad_options():
    sink = create_sink("vmc")
    assert isinstance(sink, VmcSink) and sink.udp.port == VMC_PORT and sink.udp.host == "127.0.0.1"
    for bad in ({"case": "snake"}, {"names": "all"}, {"neck_share": 2.0}, {"bone_positions": {"Hips": (0, 1, 0)}}):
        with pytest.raises(SinkError):
            VmcSink(**bad)


def test_send_failures_are_counted_not_raised():
    sink = VmcSink("127.0.0.1:9", bundle=False)
    sink.open()
    sink.udp.sock.close()  # every sendto now fails with OSError
    for i in range(5):
        sink.send(distinct_blendshapes(i))
    assert sink.frames_sent == 0 and sink.errors > 0
    sink.close()


def test_from_config_reads_the_outputs_section(collector):
    from af_plugin.config import load_config

    cfg = load_config(overrides={"outputs.vmc": f"127.0.0.1:{collector.port}", "outputs.vmc_bundle": False,
                                 "outputs.vmc_case": "pascal", "outputs.vmc_names": "arkit"})  # fmt: skip
    sink = VmcSink.from_config(cfg.outputs)
    assert (sink.bundle, sink.case, sink.names) == (False, "pascal", "arkit")
    with sink:
        sink.send(frame_with(0, jawOpen=0.5))
    vals = dict(collector.wait_for("/VMC/Ext/Blend/Val", 52))
    assert vals["JawOpen"] == pytest.approx(0.5) and "A" not in vals


def test_docs_list_every_message_preset_and_setting():
    import dataclasses
    import re
    from pathlib import Path

    from af_plugin.config import OutputsConfig

    doc = (Path(__file__).resolve().parents[1] / "docs" / "vmc.md").read_text(encoding="utf-8")
    addresses = {m.address for m in VmcSink().messages(distinct_blendshapes(0))}
    assert all(f"`{a}`" in doc for a in addresses)
    assert all(f"`{p}`" in doc for p in VRM0_PRESETS)
    fields = {f.name for f in dataclasses.fields(OutputsConfig)}
    documented = set(re.findall(r"`outputs\.(vmc\w*)", doc))
    assert documented == {f for f in fields if f.startswith("vmc")}
