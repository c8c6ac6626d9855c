"""Security of what the runtime exposes: loopback by default, a token for anything wider (constant-time, never
logged), the Origin allow-list, size limits, HTTP static files that cannot leave their folders, and client
input that never becomes a file path. All against the real server over real sockets."""

from __future__ import annotations

import json
import logging
import socket
from pathlib import Path

import pytest
from test_samples_support import AfRun, LiveServer, MotionWatcher, child_env
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

SECRET = "s3cr3t-Token_for-tests-9f2c"


def http_get(port: int, raw_path: str, headers: str = "") -> tuple[int, bytes]:
    """Send the request line byte for byte (no client-side normalisation) → (status, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=120) as s:
        s.sendall(f"GET {raw_path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}Connection: close\r\n\r\n".encode("latin-1"))
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


# --- bind address and token -------------------------------------------------------------------------------


def test_default_bind_is_loopback():
    from af_plugin.config import load_config
    from af_plugin.constants import DEFAULT_HOST
    from af_plugin.protocol.access import is_loopback

    assert is_loopback(DEFAULT_HOST) and load_config().server.host == DEFAULT_HOST


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.5"])
def test_non_loopback_bind_without_token_refuses_to_start(host):
    from af_plugin.errors import ConfigError

    with pytest.raises(ConfigError, match="token"):
        LiveServer(host=host)


def test_token_required_never_logged_and_compared_in_constant_time(monkeypatch):
    import af_plugin.protocol.access as access

    calls = []
    real = access.hmac.compare_digest
    monkeypatch.setattr(access.hmac, "compare_digest", lambda a, b: calls.append(1) or real(a, b))
    env = child_env(AF_TOKEN=SECRET)
    # A LAN bind (all interfaces) with the token from the environment, verbose logging on.
    with AfRun("--ws", "0.0.0.0:0", "-v", "--set", "model.steps=1", env=env) as af:
        af.ready()
        port = int(af.url.rsplit(":", 1)[1].strip("/"))
        url = f"ws://127.0.0.1:{port}/"
        for bad in (url, url + "?token=wrong", url + f"?token={SECRET[:-1]}"):
            with pytest.raises(InvalidStatus) as info:
                connect(bad, open_timeout=120)
            assert info.value.response.status_code == 401
        with pytest.raises(InvalidStatus):
            connect(url, additional_headers={"Authorization": "Bearer nope"}, open_timeout=120)
        assert http_get(port, "/")[0] == 401 and http_get(port, "/status.json")[0] == 401
        with connect(url + f"?token={SECRET}") as ws:
            hello = ws.recv()
            ws.send(json.dumps({"type": "subscribe", "streams": ["motion", "status"]}))
            ws.recv(timeout=120)
        with connect(url, additional_headers={"Authorization": f"Bearer {SECRET}"}) as ws:
            ws.recv()
        status, body = http_get(port, f"/status.json?token={SECRET}")
        assert status == 200
        assert af.stop() == 0
    assert SECRET not in af.output and "wrong" not in af.output, "tokens never reach the log"
    assert SECRET not in hello and SECRET.encode() not in body
    assert "websocket: ws://0.0.0.0:" in af.output  # the printed URL carries no token either
    # In-process: the comparison goes through hmac.compare_digest.
    assert access.token_ok(SECRET, SECRET) and not access.token_ok(SECRET, "x") and len(calls) == 2


# --- Origin and size limits -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    root = tmp_path_factory.mktemp("static")
    (root / "site").mkdir()
    (root / "site" / "index.html").write_text("<p>overlay</p>")
    (root / "site" / "style.css").write_text("p{}")
    (root / "secret.txt").write_text("TOP SECRET")
    (root / "site" / "link_out.txt").symlink_to(root / "secret.txt")
    (root / "site" / "dir_out").symlink_to(root, target_is_directory=True)
    static = {"/": root / "site" / "index.html", "/overlay/": root / "site"}
    with LiveServer(static=static, allowed_origins=["https://studio.example.com"]) as server:
        server.root = root
        yield server


@pytest.mark.parametrize("origin,allowed", [
    (None, True), ("null", True), ("http://localhost:3000", True), ("http://127.0.0.1:8080", True),
    ("https://studio.example.com", True), ("https://evil.example.com", False),
    ("http://localhost.evil.com", False), ("http://127.0.0.1.evil.com", False), ("https://studio.example.com.evil.io", False),
])  # fmt: skip
def test_origin_allow_list(live, origin, allowed):
    kw = {"origin": origin} if origin else {}
    if allowed:
        with connect(live.url, open_timeout=120, **kw) as ws:
            assert json.loads(ws.recv())["type"] == "hello"
    else:
        with pytest.raises(InvalidStatus) as info:
            connect(live.url, open_timeout=120, **kw)
        assert info.value.response.status_code == 403


def test_message_size_limit_is_announced_and_enforced(live):
    with connect(live.url, max_size=None) as ws:
        hello = json.loads(ws.recv())
        limit = hello["server"]["max_message_bytes"]
        ws.send(json.dumps({"type": "ping", "id": "a" * (limit - 100)}))  # just under: served
        assert json.loads(ws.recv(timeout=120))["type"] == "pong"
    # Over the limit: test_fuzz_server.py::test_oversized_message_closes_only_that_connection (close 1009).


# --- HTTP static files ------------------------------------------------------------------------------------


def test_static_files_are_served(live):
    assert http_get(live.server.port, "/") == (200, b"<p>overlay</p>")
    assert http_get(live.server.port, "/overlay/style.css") == (200, b"p{}")
    assert http_get(live.server.port, "/overlay/")[0] == 200


@pytest.mark.parametrize("path", [
    "/overlay/../secret.txt", "/overlay/%2e%2e/secret.txt", "/overlay/%2E%2E%2Fsecret.txt",
    "/overlay/..%2fsecret.txt", "/overlay/..%5csecret.txt", "/overlay/..\\secret.txt",
    "/overlay/%252e%252e/secret.txt", "/overlay/./../secret.txt", "/overlay//../secret.txt",
    "/overlay/style.css%00.html", "/overlay/link_out.txt", "/overlay/dir_out/secret.txt",
    "/overlay/%2fetc%2fpasswd", "//etc/passwd", "/overlay//etc/passwd", "/etc/passwd",
    "/overlay/../../../../../../etc/passwd", "/overlay/....//secret.txt", "/overlay/%c0%ae%c0%ae/secret.txt",
    "http://127.0.0.1/overlay/../secret.txt", "/overlay/?../secret.txt", "/secret.txt",
])  # fmt: skip
def test_static_paths_cannot_leave_their_folder(live, path):
    status, body = http_get(live.server.port, path)
    assert b"TOP SECRET" not in body and b"root:" not in body
    assert status in (400, 404) or (status == 200 and body in (b"<p>overlay</p>", b"p{}"))


# --- client input never becomes a path -------------------------------------------------------------------------


def test_session_names_from_clients_stay_inside_the_recording_folder(tmp_path):
    import base64

    import numpy as np

    from af_plugin.runtime.threaded import ThreadedSink
    from af_plugin.sinks.recorder import RecorderSink

    out = tmp_path / "rec"
    recorder = ThreadedSink(RecorderSink(out / "take.csv"), lossless=True)
    names = ["..", ".", "-rf", "a..b", "...", "CON", "x" * 64]
    refused = ["../escape", "/abs", "a/b", "a\\b", "", "x" * 65, "nul\x00"]
    pcm = base64.b64encode((np.ones(3200) * 1000).astype("<i2").tobytes()).decode()
    with LiveServer(max_sessions=16) as live:
        recorder.open()
        live.call(live.engine.add_sink, recorder)
        watcher = MotionWatcher(live.url)
        with connect(live.url) as ws:
            ws.recv()
            for name in names + refused:
                ws.send(json.dumps({"type": "audio", "role": "avatar", "session": name, "data": pcm}))
            ws.send(json.dumps({"type": "ping", "id": 1}))
            codes = []
            while (msg := json.loads(ws.recv(timeout=120)))["type"] != "pong":
                codes.append(msg.get("code"))
        assert codes == ["bad_field"] * len(refused)
        while not all(n in live.engine.sessions and live.engine.sessions[n].emitted for n in names):
            watcher.wait_frames(1)
        live.call(live.engine.sinks.remove, recorder)
        recorder.close()
        watcher.close()
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    expected = sorted([Path("rec"), Path("rec/take.csv")] + [Path(f"rec/take-{n}.csv") for n in names])
    assert written == expected, "every session's file is inside rec/, named after the session"
    assert not (tmp_path / "escape.csv").exists()


def test_checkpoint_header_cannot_exhaust_memory(tmp_path):
    import struct

    from af_plugin.errors import CheckpointError
    from af_plugin.model.checkpoint import load_checkpoint, read_header

    cases = {
        "huge_claim": struct.pack("<Q", 1 << 62) + b"{}",  # header 'size' of 4 EiB
        "claim_past_end": struct.pack("<Q", 10_000) + b"{" + b" " * 100,
        "nested": struct.pack("<Q", 300_000) + b"[" * 300_000,
        "offsets_past_end": struct.pack("<Q", 60) + json.dumps(
            {"w": {"dtype": "F32", "shape": [1 << 20, 1 << 20], "data_offsets": [0, 1 << 42]}}).encode().ljust(60),
        "pickle": b"\x80\x04\x95" + b"\x00" * 64,
        "empty": b"",
    }  # fmt: skip
    for name, data in cases.items():
        path = tmp_path / f"{name}.safetensors"
        path.write_bytes(data)
        with pytest.raises(CheckpointError):
            read_header(path)
        with pytest.raises(CheckpointError):
            load_checkpoint(path)


def test_checkpoint_config_must_match_its_weights_before_anything_is_built(tmp_path):
    import struct

    from af_plugin.errors import CheckpointError
    from af_plugin.model.checkpoint import load_checkpoint, save_checkpoint
    from af_plugin.model.network import AvatarForcingNet, NetworkConfig

    good = save_checkpoint(tmp_path / "tiny.safetensors", AvatarForcingNet(NetworkConfig.tiny()), stage="test")
    data = good.read_bytes()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8 : 8 + n])
    cfg = json.loads(header["__metadata__"]["config"])
    cfg["dfot"]["d_model"] = 1 << 20  # would need terabytes if the network were built from it
    header["__metadata__"]["config"] = json.dumps(cfg)
    raw = json.dumps(header).encode()
    crafted = tmp_path / "crafted.safetensors"
    crafted.write_bytes(struct.pack("<Q", len(raw)) + raw + data[8 + n :])
    with pytest.raises(CheckpointError, match="does not match its weights"):
        load_checkpoint(crafted)
    net, meta = load_checkpoint(good)  # the honest file still loads
    assert meta["stage"] == "test"


def test_af_run_refuses_a_pickle_checkpoint_in_one_line(tmp_path):
    import pickle

    evil = tmp_path / "model.pt"
    evil.write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    with AfRun("--checkpoint", str(evil), "--no-ws") as af:
        rc = af.wait()
    assert rc == 2 and "Traceback" not in af.output
    assert af.output.strip().splitlines()[-1].startswith("af run: error:")


def test_no_message_field_is_a_path():
    """The protocol has no field that names a file: every field parsed is a name, number, flag or PCM."""
    import inspect

    from af_plugin.protocol import messages

    src = inspect.getsource(messages)
    assert "open(" not in src and "Path(" not in src and "pathlib" not in src


def test_logging_never_records_request_tokens(caplog, live):
    caplog.set_level(logging.DEBUG)
    with pytest.raises(InvalidStatus):
        # This server has no token: a client offering one is simply served; the value must not be logged.
        with connect(live.url + f"?token={SECRET}", origin="https://evil.example.com"):
            pass
    server_side = [r.getMessage() for r in caplog.records if not r.name.startswith("websockets.client")]
    assert any("403" in m for m in server_side), "the server did log the refusal"
    assert not any(SECRET in m for m in server_side)


@pytest.mark.parametrize("host,served", [
    ("127.0.0.1", True), ("localhost:8765", True), ("[::1]:8765", True), ("127.1.2.3", True),
    ("evil.example.com", False), ("evil.example.com:8765", False), ("127.0.0.1.evil.com", False), ("", False),
])  # fmt: skip
def test_dns_rebinding_requests_are_refused_without_a_token(live, host, served):
    """A page whose name was re-pointed at 127.0.0.1 sends its own name as Host: refused, HTTP and websocket."""
    for path, upgrade in (("/status.json", ""), ("/", "Upgrade: websocket\r\nConnection: Upgrade\r\n")):
        with socket.create_connection(("127.0.0.1", live.server.port), timeout=120) as s:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{upgrade}Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                      "Sec-WebSocket-Version: 13\r\n\r\n".encode())  # fmt: skip
            status = int(s.recv(65536).split()[1])
        assert (status != 403) == served, (path, host, status)


def test_host_check_is_off_when_a_token_guards_the_server():
    from af_plugin.protocol.access import host_ok

    assert host_ok("192.168.1.5:8765", "secret") and not host_ok("192.168.1.5:8765", None)
