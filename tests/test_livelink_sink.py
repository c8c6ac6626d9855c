"""Live Link Face output: real UDP packets, decoded by a parser written here from the published layout."""

from __future__ import annotations

import logging
import math
import socket
import struct

import numpy as np
import pytest

from af_plugin.constants import FPS, LIVELINK_PORT
from af_plugin.motion.contract import ARKIT_BLENDSHAPES, CHANNELS, NUM_CHANNELS
from af_plugin.sinks.base import MotionFrame, SinkError, create_sink
from af_plugin.sinks.livelink import LiveLinkSink

# Unreal's EARFaceBlendShape after the 52 ARKit shapes (Apple's order), written independently of the encoder.
TAIL_NAMES = ["HeadYaw", "HeadPitch", "HeadRoll", "LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll",
              "RightEyeYaw", "RightEyePitch", "RightEyeRoll"]  # fmt: skip


def decode(packet: bytes) -> dict:
    """Parse a version-6 Live Link Face packet byte by byte (independent of the encoder)."""
    pos = 0

    def take(fmt: str):
        nonlocal pos
        size = struct.calcsize(fmt)
        out = struct.unpack_from(fmt, packet, pos)
        pos += size
        return out

    (version,) = take(">B")
    (n_dev,) = take(">i")
    device = packet[pos : pos + n_dev].decode()
    pos += n_dev
    (n_subj,) = take(">i")
    subject = packet[pos : pos + n_subj].decode()
    pos += n_subj
    frame_number, sub_frame = take(">if")
    rate_num, rate_den = take(">ii")
    (count,) = take(">B")
    values = take(f">{count}f")
    assert pos == len(packet), "trailing bytes after the values"
    return dict(version=version, device=device, subject=subject, frame=frame_number, sub=sub_frame,
                rate=(rate_num, rate_den), count=count, values=values)  # fmt: skip


@pytest.fixture()
def receiver():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    yield sock
    sock.close()


def distinct_frame(index: int) -> MotionFrame:
    """Every channel gets its own value so a swapped or misplaced channel shows."""
    values = np.zeros(NUM_CHANNELS, dtype=np.float32)
    for i, name in enumerate(CHANNELS):
        values[i] = (i + 1) / 100.0 if name in ARKIT_BLENDSHAPES else 0.01 * (i - 50)  # angles: small, signed
    return MotionFrame(index=index, t=index / FPS, values=values)


def test_packets_decode_with_names_order_units_and_frame_numbers(receiver):
    port = receiver.getsockname()[1]
    with LiveLinkSink(f"127.0.0.1:{port}", subject="Avatar") as sink:
        for i in range(5):
            sink.send(distinct_frame(i))
    packets = [receiver.recv(2048) for _ in range(5)]
    decoded = [decode(p) for p in packets]
    for p, d in zip(packets, decoded):
        assert d["version"] == 6
        assert d["subject"] == "Avatar"
        assert len(d["device"]) == 36
        assert d["rate"] == (25, 1)
        assert d["count"] == 61
        assert len(p) == 306 + len("Avatar") == 312
    assert [d["frame"] for d in decoded] == [0, 1, 2, 3, 4]
    values = decoded[0]["values"]
    frame = distinct_frame(0).values
    # 0..51: ARKit names in Apple order, matched by name.
    for i, name in enumerate(ARKIT_BLENDSHAPES):
        assert values[i] == pytest.approx(frame[CHANNELS.index(name)], abs=1e-6), name
    # 52..60: head yaw/pitch/roll, eye yaw/pitch/roll; radians by default, contract signs; eye roll 0.
    expect = {"HeadYaw": "headYaw", "HeadPitch": "headPitch", "HeadRoll": "headRoll",
              "LeftEyeYaw": "leftEyeYaw", "LeftEyePitch": "leftEyePitch",
              "RightEyeYaw": "rightEyeYaw", "RightEyePitch": "rightEyePitch"}  # fmt: skip
    for k, name in enumerate(TAIL_NAMES):
        got = values[52 + k]
        if name in expect:
            assert got == pytest.approx(frame[CHANNELS.index(expect[name])], abs=1e-6), name
            assert got != 0.0
        else:
            assert got == 0.0, name


def test_degrees_scale_signs_and_utf8_subject(receiver):
    port = receiver.getsockname()[1]
    values = np.zeros(NUM_CHANNELS, dtype=np.float32)
    values[CHANNELS.index("headYaw")] = 0.5
    values[CHANNELS.index("headPitch")] = -0.25
    values[CHANNELS.index("leftEyePitch")] = 0.1
    subject = "Kopf_Ä"
    with LiveLinkSink(f"127.0.0.1:{port}", subject=subject, device_id="dev", angle_units="deg",
                      angle_signs=(1, -1, 1)) as sink:  # fmt: skip
        sink.send(MotionFrame(index=7, t=7 / FPS, values=values))
    packet = receiver.recv(2048)
    d = decode(packet)
    assert d["subject"] == subject and d["device"] == "dev"
    assert len(packet) == 306 - 36 + 3 + len(subject.encode())
    assert d["values"][52] == pytest.approx(math.degrees(0.5), rel=1e-6)
    assert d["values"][53] == pytest.approx(math.degrees(0.25), rel=1e-6)  # sign flipped
    assert d["values"][56] == pytest.approx(-math.degrees(0.1), rel=1e-5)  # eye pitch shares the sign
    assert d["frame"] == 7


def test_registered_by_name_and_default_port():
    sink = create_sink("livelink")
    assert isinstance(sink, LiveLinkSink)
    assert sink.udp.port == LIVELINK_PORT and sink.udp.host == "127.0.0.1"


def test_bad_targets_raise_sinkerror():
    with pytest.raises(SinkError, match="port"):
        LiveLinkSink("localhost:notaport")
    with pytest.raises(SinkError, match="resolve"):
        LiveLinkSink("no-such-host.invalid:11111").open()


def test_unreachable_target_never_raises_and_warns_once(caplog):
    # Every sendto fails with OSError (deterministically: the socket underneath is closed), as it would
    # for a target on a network with no route.
    sink = LiveLinkSink("127.0.0.1:9")
    sink.open()
    sink.udp.sock.close()
    with caplog.at_level(logging.WARNING):
        for i in range(10):
            sink.send(distinct_frame(i))
    assert sink.errors == 10 and sink.frames_sent == 0
    assert sum("cannot send" in r.getMessage() for r in caplog.records) == 1
    sink.close()
    sink.close()  # safe twice


def test_no_listener_is_not_an_error_per_frame():
    """Unreal not started yet: frames go out into the void without raising."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    free_port = probe.getsockname()[1]
    probe.close()
    with LiveLinkSink(f"127.0.0.1:{free_port}") as sink:
        for i in range(20):
            sink.send(distinct_frame(i))
    assert sink.frames_sent + sink.errors == 20


def test_from_config_reads_the_outputs_section(receiver):
    from af_plugin.config import load_config

    port = receiver.getsockname()[1]
    cfg = load_config(overrides={"outputs.livelink": f"127.0.0.1:{port}", "outputs.livelink_subject": "NPC",
                                 "outputs.livelink_angle_units": "deg"})  # fmt: skip
    values = np.zeros(NUM_CHANNELS, dtype=np.float32)
    values[CHANNELS.index("headRoll")] = 0.1
    with LiveLinkSink.from_config(cfg.outputs) as sink:
        sink.send(MotionFrame(index=0, t=0.0, values=values))
    d = decode(receiver.recv(2048))
    assert d["subject"] == "NPC" and d["values"][54] == pytest.approx(math.degrees(0.1), rel=1e-5)


def test_docs_describe_the_packet_and_every_setting():
    import dataclasses
    import re
    from pathlib import Path

    from af_plugin.config import OutputsConfig
    from af_plugin.sinks.livelink import LIVELINK_VALUE_NAMES, PACKET_VERSION, VALUE_COUNT

    doc = (Path(__file__).resolve().parents[1] / "docs" / "unreal.md").read_text(encoding="utf-8")
    assert all(name in doc for name in LIVELINK_VALUE_NAMES[52:])
    assert f"= {PACKET_VERSION}" in doc and f"= {VALUE_COUNT}" in doc and "306 + len(subject)" in doc
    fields = {f.name for f in dataclasses.fields(OutputsConfig)}
    documented = set(re.findall(r"`outputs\.(livelink\w*)", doc))
    assert documented == {f for f in fields if f.startswith("livelink")}


def test_unresolvable_host_without_open_is_counted_not_raised():
    sink = LiveLinkSink("no-such-host.invalid:11111")  # send() without open(): resolving fails per send
    for i in range(3):
        sink.send(distinct_frame(i))
    assert sink.errors == 3 and sink.frames_sent == 0
    assert "resolve" in sink.udp.last_error  # looked up once, then not again for RESOLVE_RETRY_S
