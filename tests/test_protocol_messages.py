"""The sans-I/O protocol core: parsing/validation of client messages, server message building, access rules."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest

from af_plugin.errors import ConfigError, ProtocolError
from af_plugin.motion.codecs.afm import FRAME_BYTES, decode_frame
from af_plugin.motion.contract import CHANNELS, NUM_CHANNELS
from af_plugin.protocol import access
from af_plugin.protocol import messages as proto
from af_plugin.protocol.messages import AudioPush, Control, Ping, Subscribe, parse_client_message


def code_of(data) -> str:
    with pytest.raises(ProtocolError) as e:
        parse_client_message(data)
    return e.value.code


def test_protocol_module_has_no_io_imports():
    import ast

    for path in Path(proto.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert not names & {"asyncio", "websockets", "socket"}, path


def test_subscribe_defaults_and_validation():
    sub = parse_client_message('{"type": "subscribe"}')
    assert sub == Subscribe(session="default", streams=("motion",), format="json")
    sub = parse_client_message(json.dumps({"type": "subscribe", "streams": ["audio", "motion", "audio"],
                                           "format": "binary", "session": "npc-2"}))  # fmt: skip
    assert sub.streams == ("audio", "motion") and sub.format == "binary" and sub.session == "npc-2"
    assert parse_client_message('{"type": "subscribe", "streams": []}').streams == ()
    assert code_of('{"type": "subscribe", "streams": ["video"]}') == "unknown_stream"
    assert code_of('{"type": "subscribe", "streams": "motion"}') == "bad_field"
    assert code_of('{"type": "subscribe", "format": "xml"}') == "bad_field"
    assert code_of('{"type": "subscribe", "session": "../etc"}') == "bad_field"
    assert code_of('{"type": "subscribe", "session": 5}') == "bad_field"
    assert code_of('{"type": "subscribe", "streams": [1, 2]}') == "unknown_stream"


def test_audio_push_decodes_pcm16_and_checks_everything():
    pcm = (np.sin(np.arange(480) / 10) * 20000).astype("<i2")
    msg = {"type": "audio", "role": "avatar", "rate": 48000, "data": base64.b64encode(pcm.tobytes()).decode()}
    req = parse_client_message(json.dumps(msg))
    assert isinstance(req, AudioPush) and req.role == "avatar" and req.rate == 48000
    np.testing.assert_allclose(req.samples, pcm / 32768.0, atol=1e-6)
    stereo = np.stack([pcm, -pcm], axis=1).astype("<i2")
    req = parse_client_message(json.dumps(msg | {"channels": 2, "data": base64.b64encode(stereo.tobytes()).decode()}))
    assert np.abs(req.samples).max() < 1e-6  # left and -left average to silence
    assert code_of(json.dumps(msg | {"role": "narrator"})) == "bad_field"
    assert code_of(json.dumps(msg | {"rate": 100})) == "bad_audio"
    assert code_of(json.dumps(msg | {"rate": 16000.5})) == "bad_field"
    assert code_of(json.dumps(msg | {"rate": True})) == "bad_field"
    assert code_of(json.dumps(msg | {"data": "***"})) == "bad_audio"
    assert code_of(json.dumps(msg | {"data": base64.b64encode(b"abc").decode()})) == "bad_audio"
    assert code_of(json.dumps({k: v for k, v in msg.items() if k != "data"})) == "bad_field"


def test_control_and_ping():
    assert parse_client_message('{"type": "control", "action": "pause"}') == Control("default", "pause", {})
    req = parse_client_message('{"type": "control", "action": "guidance", "cfg_avatar": 3}')
    assert req.params == {"cfg_avatar": 3.0}
    assert code_of('{"type": "control", "action": "guidance"}') == "bad_field"
    assert code_of('{"type": "control", "action": "guidance", "cfg_user": 11}') == "bad_field"
    assert code_of('{"type": "control", "action": "explode"}') == "unknown_action"
    assert parse_client_message('{"type": "ping", "id": 7}') == Ping(7)
    assert parse_client_message('{"type": "ping", "id": {"x": 1}}') == Ping(None)


@pytest.mark.parametrize(
    "data, code",
    [(b"\x00\x01", "binary_not_accepted"), ("not json", "bad_json"), ("[1, 2]", "bad_json"), ("null", "bad_json"),
     ('{"type": "dance"}', "unknown_type"), ("{}", "unknown_type"), ('{"type": 3}', "unknown_type"),
     ("[" * 100000, "bad_json")],
)  # fmt: skip
def test_malformed_messages_get_codes(data, code):
    assert code_of(data) == code


def test_server_messages():
    hello = json.loads(proto.hello("default", model={"kind": "x"}, sessions=["default"], streams_available=["motion"],
                                   server={}))  # fmt: skip
    assert hello["type"] == "hello" and hello["protocol"] == 1 and hello["fps"] == 25
    assert hello["channels"] == list(CHANNELS) and hello["binary_frame_bytes"] == FRAME_BYTES == 264
    values = np.linspace(0, 1, NUM_CHANNELS, dtype=np.float32)
    m = json.loads(proto.motion_json(7, 0.28, values, "default"))
    assert m["frame"] == 7 and m["t"] == 0.28 and np.allclose(m["values"], values, atol=1e-5)
    index, t, flags, vals = decode_frame(proto.motion_binary(7, 0.28, values, 1))
    assert (index, t, flags) == (7, 0.28, 1) and np.array_equal(vals, values)
    a = json.loads(proto.audio_json(3, 0.12, np.full(640, 0.5, np.float32), "s"))
    pcm = np.frombuffer(base64.b64decode(a["data"]), "<i2")
    assert a["role"] == "avatar" and len(pcm) == 640 and abs(pcm[0] / 32768 - 0.5) < 1e-4
    f = json.loads(proto.frame_json(1, 0.04, b"\xff\xd8jpeg", "s"))
    assert base64.b64decode(f["jpeg"]) == b"\xff\xd8jpeg"
    e = json.loads(proto.error("bad_json", "nope"))
    assert e == {"type": "error", "code": "bad_json", "message": "nope"}


def test_token_rules():
    assert access.token_ok(None, None) and access.token_ok("", "whatever")
    assert (
        access.token_ok("s3cret", "s3cret")
        and not access.token_ok("s3cret", "s3cre")
        and not access.token_ok("s3cret", None)
    )
    assert access.token_from_request("/?token=abc", {}) == "abc"
    assert access.token_from_request("/?x=1", {"authorization": "Bearer xyz"}) == "xyz"
    assert access.token_from_request("/", {}) is None
    for host in ("127.0.0.1", "127.4.5.6", "::1", "localhost"):
        assert access.is_loopback(host)
        access.check_bind(host, None)
    for host in ("0.0.0.0", "192.168.1.5", "::", "example.com"):
        assert not access.is_loopback(host)
        with pytest.raises(ConfigError, match="token"):
            access.check_bind(host, None)
        access.check_bind(host, "tok")


def test_origin_rules():
    assert access.origin_ok(None, []) and access.origin_ok("null", [])
    assert access.origin_ok("http://localhost:8080", []) and access.origin_ok("http://127.0.0.1", [])
    assert not access.origin_ok("https://evil.example", [])
    assert not access.origin_ok("http://localhost.evil.example", [])
    assert access.origin_ok("https://studio.example", ["https://studio.example/"])
    assert access.origin_ok("https://any.example", ["*"])


def test_static_paths_stay_inside_their_folders(tmp_path):
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "index.html").write_text("overlay")
    (overlay / "js").mkdir()
    (overlay / "js" / "app.js").write_text("js")
    (tmp_path / "secret.txt").write_text("secret")
    (overlay / "link").symlink_to(tmp_path / "secret.txt")
    page = tmp_path / "preview.html"
    page.write_text("preview")
    mounts = {"/": page, "/overlay/": overlay}
    assert access.resolve_static("/", mounts) == page
    assert access.resolve_static("/?token=x", mounts) == page
    assert access.resolve_static("/overlay/", mounts) == overlay / "index.html"
    assert access.resolve_static("/overlay", mounts) == overlay / "index.html"
    assert access.resolve_static("/overlay/js/app.js", mounts) == overlay / "js" / "app.js"
    for bad in ("/overlay/../secret.txt", "/overlay/%2e%2e/secret.txt", "/overlay/..%2fsecret.txt",
                "/overlay/link", "/overlay/js/../../secret.txt", "/overlay/%2E%2E%2Fsecret.txt",
                "/overlay/..\\secret.txt", "/overlay/%00", "/secret.txt", "/preview.html", "//etc/passwd",
                "/overlay//etc/passwd", "/overlay/missing.js"):  # fmt: skip
        assert access.resolve_static(bad, mounts) is None, bad
