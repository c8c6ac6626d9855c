"""Fuzzing the live websocket server over real sockets: every rejected message gets a coded error on an open
connection, and a healthy client watching another session keeps receiving every frame throughout.

Also: oversized, fragmented, interleaved and out-of-order messages, floods, error floods, half-open and
abandoned connections. Counts are bounded and seeded; nothing asserts on time.
"""

from __future__ import annotations

import json
import random
import socket

import pytest
from test_fuzz_mutations import mutated_message, outcome
from test_samples_support import LiveServer, MotionWatcher
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from af_plugin.protocol.messages import ERROR_CODES

FUZZ_MESSAGES = 240  # per run of the default suite; benchmarks/fuzz_100k.py sends 100,000


@pytest.fixture(scope="module")
def live():
    with LiveServer(sessions={"default": {}, "watch": {}}) as server:
        yield server


@pytest.fixture
def watcher(live):
    w = MotionWatcher(live.url, session="watch")
    w.wait_frames(3)
    yield w
    w.close()
    assert w.gaps == 0, "the healthy client lost frames while others misbehaved"


def replies_until_pong(ws, ping_id) -> list[dict]:
    """Send a ping and collect every text reply up to its pong (binary motion frames are skipped)."""
    ws.send(json.dumps({"type": "ping", "id": ping_id}))
    out = []
    while True:
        message = ws.recv(timeout=120)
        if isinstance(message, bytes):
            continue
        msg = json.loads(message)
        if msg["type"] == "pong" and msg["id"] == ping_id:
            return out
        if msg["type"] not in ("motion", "latent", "audio", "frame", "status"):
            out.append(msg)


def fuzz_connection(url: str, rng: random.Random, count: int) -> dict[str, int]:
    """Send ``count`` mutated messages on one connection, each followed by a ping; check every reply."""
    seen: dict[str, int] = {}
    with connect(url, max_size=None) as ws:
        json.loads(ws.recv())  # hello
        for k in range(count):
            message = mutated_message(rng)
            expected = outcome(message)
            ws.send(message)
            replies = replies_until_pong(ws, f"fuzz-{k}")
            errors = [r for r in replies if r["type"] == "error"]
            for e in errors:
                assert e["code"] in ERROR_CODES and e["message"]
            if not expected.startswith("ok:"):
                assert [e["code"] for e in errors] == [expected], (message[:200], replies)
            else:
                # Valid syntax; the server may still refuse it for the state it is in (e.g. a control for a
                # session that does not exist, 'frames' without a renderer, too many sessions).
                assert len(errors) <= 1, replies
            seen[expected] = seen.get(expected, 0) + 1
    return seen


def test_mutation_fuzz_over_real_sockets(live, watcher):
    seen = {}
    for seed in range(2):  # two connections: each stays below the abuse limit (200 errors in 10 s)
        for key, n in fuzz_connection(live.url, random.Random(seed), FUZZ_MESSAGES // 2).items():
            seen[key] = seen.get(key, 0) + n
    assert sum(seen.values()) == FUZZ_MESSAGES
    assert len([k for k in seen if not k.startswith("ok:")]) >= 5, seen
    watcher.wait_frames(5)


def test_oversized_message_closes_only_that_connection(live, watcher):
    with connect(live.url, max_size=None) as ws:
        ws.recv()
        ws.send(json.dumps({"type": "ping", "id": "x" * (live.server.max_message_bytes + 10)}))
        with pytest.raises(ConnectionClosed) as info:
            while True:
                ws.recv(timeout=120)
        assert info.value.rcvd is not None and info.value.rcvd.code == 1009
    watcher.wait_frames(5)
    with connect(live.url) as ws:  # the server still accepts clients
        assert json.loads(ws.recv())["type"] == "hello"


def test_fragmented_and_interleaved_messages(live, watcher):
    with connect(live.url, max_size=None) as ws:
        ws.recv()
        text = json.dumps({"type": "ping", "id": "frag"})
        ws.send([text[:5], text[5:11], text[11:]])  # one message in three websocket frames
        assert json.loads(ws.recv(timeout=120)) == {"type": "pong", "id": "frag"}
        # Out of order: control and audio before any subscribe; unsubscribe what was never subscribed.
        ws.send(json.dumps({"type": "control", "action": "reset", "session": "never-made"}))
        ws.send(json.dumps({"type": "subscribe", "streams": [], "session": "default"}))
        ws.send(b"\x00\x01")
        ws.send(json.dumps({"type": "subscribe", "streams": ["motion"], "session": "default"}))
        replies = replies_until_pong(ws, "order")
        kinds = [(r["type"], r.get("code")) for r in replies]
        assert kinds == [("error", "bad_field"), ("subscribed", None), ("error", "binary_not_accepted"),
                         ("subscribed", None)]  # fmt: skip
    watcher.wait_frames(3)


def test_ping_flood_is_answered_in_order(live, watcher):
    from af_plugin.sinks import websocket as server_module

    n = min(1000, getattr(server_module, "MAX_MESSAGES_PER_S", 1000))  # a burst the rate limit lets through
    with connect(live.url, max_size=None) as ws:
        ws.recv()
        for i in range(n):
            ws.send(json.dumps({"type": "ping", "id": i}))
        ids = []
        while not ids or ids[-1] != n - 1:
            msg = json.loads(ws.recv(timeout=120))
            if msg["type"] == "pong":
                ids.append(msg["id"])
        assert ids == sorted(ids) and len(set(ids)) == len(ids), "never reordered or duplicated"
    watcher.wait_frames(3)


def test_error_flood_closes_the_abuser_not_the_server(live, watcher):
    with connect(live.url, max_size=None) as ws:
        ws.recv()
        with pytest.raises(ConnectionClosed) as info:
            for _ in range(400):
                ws.send("not json")
            while True:
                ws.recv(timeout=120)
        assert info.value.rcvd.code == 1008 and "too many protocol errors" in info.value.rcvd.reason
    watcher.wait_frames(5)


def test_half_open_and_abandoned_connections_do_not_disturb_others(live, watcher):
    host, port = "127.0.0.1", live.server.port
    socks = []
    silent = socket.create_connection((host, port))  # connects, never says anything
    partial_http = socket.create_connection((host, port))  # half an HTTP upgrade request
    partial_http.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n")
    socks += [silent, partial_http]
    # A real websocket client that dies mid-message: a frame header announcing 1000 bytes, 10 sent.
    ws = connect(live.url)
    ws.recv()
    ws.socket.sendall(bytes([0x81, 0xFE, 0x03, 0xE8, 1, 2, 3, 4]) + b"0123456789")
    ws.socket.close()
    watcher.wait_frames(10)
    with connect(live.url) as ok:  # new clients are served while the half-open ones hang
        assert json.loads(ok.recv())["type"] == "hello"
        ok.send(json.dumps({"type": "ping", "id": 1}))
        assert json.loads(ok.recv(timeout=120))["type"] == "pong"
    for s in socks:
        s.close()
    watcher.wait_frames(5)
    while len(live.server.clients) > 1:  # every dead connection is dropped; only the watcher remains
        watcher.wait_frames(1)
