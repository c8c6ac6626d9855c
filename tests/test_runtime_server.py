"""The real runtime (engine + model + websocket server) against real websocket clients on real sockets.

The generator is the project's StreamingGenerator (the shipped model if present, else random-init) with one
denoising step to keep CPU use low; these tests check plumbing, ordering and robustness, not motion quality
(the lip test below does that when the shipped model exists). No test has a wall-clock limit: waits are
generous timeouts that only catch hangs.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import random
import socket
from pathlib import Path

import numpy as np
import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from af_plugin.config import load_config
from af_plugin.constants import FPS, SAMPLE_RATE, SAMPLES_PER_FRAME
from af_plugin.errors import ConfigError
from af_plugin.motion.codecs.afm import FRAME_BYTES, decode_frame
from af_plugin.motion.contract import CHANNEL_INDEX, NUM_CHANNELS
from af_plugin.runtime.app import build_app, run_app

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data"
HANG = 60.0  # seconds: only to turn a hang into a failure, never a performance limit


def config(**overrides):
    base = {"server.port": 0, "model.steps": 1, "sources.realtime": True}
    return load_config(overrides=base | overrides)


@contextlib.asynccontextmanager
async def serving(cfg=None):
    app = build_app(cfg or config())
    started = asyncio.Event()
    task = asyncio.create_task(run_app(app, stop_when_finished=False, handle_signals=False,
                                       on_ready=lambda _: started.set()))  # fmt: skip
    waiter = asyncio.create_task(started.wait())
    await asyncio.wait({waiter, task}, timeout=HANG, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        waiter.cancel()
        task.result()  # raises what stopped the runtime from starting
    try:
        yield app
    finally:
        app.engine.request_stop()
        await asyncio.wait_for(task, HANG)


def url(app, query: str = "") -> str:
    return f"ws://127.0.0.1:{app.server.port}/{query}"


def pcm16_b64(samples: np.ndarray) -> str:
    return base64.b64encode((np.clip(samples, -1, 1) * 32767).round().astype("<i2").tobytes()).decode()


def speechlike(seconds: float, rate: int = SAMPLE_RATE, seed: int = 0) -> np.ndarray:
    """Bursts of a buzzy vowel-like tone with pauses: loud/quiet structure without a TTS engine."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    voice = np.sign(np.sin(2 * np.pi * 140 * t)) * 0.3 + 0.05 * rng.standard_normal(len(t))
    envelope = (np.sin(2 * np.pi * 1.5 * t) > 0).astype(np.float32)
    return (voice * envelope).astype(np.float32)


async def recv_json(ws, kind: str, timeout: float = HANG) -> dict:
    async def loop():
        while True:
            msg = await ws.recv()
            if isinstance(msg, str):
                d = json.loads(msg)
                if d["type"] == kind:
                    return d

    return await asyncio.wait_for(loop(), timeout)


def run(coro):
    return asyncio.run(coro)


# --- streaming -------------------------------------------------------------------------------------------


def test_hello_subscribe_frames_at_25fps_with_aligned_avatar_audio():
    async def main():
        async with serving() as app, websockets.connect(url(app)) as ws:
            hello = json.loads(await ws.recv())
            assert hello["type"] == "hello" and hello["protocol"] == 1 and hello["fps"] == FPS
            assert len(hello["channels"]) == NUM_CHANNELS and hello["binary_frame_bytes"] == FRAME_BYTES
            assert hello["model"]["kind"] in ("dfot", "stand-in")
            await ws.send(json.dumps({"type": "subscribe", "streams": ["motion", "audio", "latent"]}))
            sub = await recv_json(ws, "subscribed")
            assert sub["streams"] == ["motion", "audio", "latent"]
            voice = speechlike(1.2)
            await ws.send(
                json.dumps({"type": "audio", "role": "avatar", "rate": SAMPLE_RATE, "data": pcm16_b64(voice)})
            )
            motion, audio, latent = {}, {}, {}
            while len(motion) < 60 or len(audio) < 40:  # the voice lags the first frames by the latency
                d = json.loads(await asyncio.wait_for(ws.recv(), HANG))
                {"motion": motion, "audio": audio, "latent": latent}.get(d["type"], {})[d.get("frame")] = d
            frames = sorted(motion)
            assert frames == list(range(frames[0], frames[0] + len(frames)))  # every index, in order
            for i in frames:
                assert motion[i]["t"] == pytest.approx(i / FPS)
                assert len(motion[i]["values"]) == NUM_CHANNELS and np.isfinite(motion[i]["values"]).all()
            assert set(audio) <= set(motion) | set(range(frames[-1] + 1, frames[-1] + 10))
            assert set(latent) >= set(frames[:-5])
            # The voice comes back frame by frame, stamped with its motion frame, sample-exact (PCM16).
            got = np.concatenate([np.frombuffer(base64.b64decode(audio[i]["data"]), "<i2") for i in sorted(audio)])
            sent = (np.clip(voice, -1, 1) * 32767).round().astype("<i2")
            assert all(audio[i]["t"] == pytest.approx(i / FPS) for i in audio)
            assert len(got) >= 40 * SAMPLES_PER_FRAME
            assert np.array_equal(got[: len(sent)], sent[: len(got)])

    run(main())


def test_binary_format_is_one_afm_record_per_frame():
    async def main():
        async with serving() as app, websockets.connect(url(app)) as ws:
            await recv_json(ws, "hello")
            await ws.send(json.dumps({"type": "subscribe", "streams": ["motion"], "format": "binary"}))
            await recv_json(ws, "subscribed")
            indices = []
            while len(indices) < 30:
                msg = await asyncio.wait_for(ws.recv(), HANG)
                if isinstance(msg, bytes):
                    assert len(msg) == FRAME_BYTES
                    index, t, _, values = decode_frame(msg)
                    assert t == pytest.approx(index / FPS) and values.shape == (NUM_CHANNELS,)
                    indices.append(index)
            assert indices == list(range(indices[0], indices[0] + 30))

    run(main())


def test_pushed_audio_at_48k_is_resampled():
    async def main():
        async with serving() as app, websockets.connect(url(app)) as ws:
            await recv_json(ws, "hello")
            await ws.send(json.dumps({"type": "subscribe", "streams": ["audio"]}))
            t = np.arange(48000) / 48000
            tone = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            await ws.send(json.dumps({"type": "audio", "role": "avatar", "rate": 48000, "data": pcm16_b64(tone)}))
            chunks = []
            while len(chunks) < 20:
                d = await recv_json(ws, "audio")
                chunks.append(np.frombuffer(base64.b64decode(d["data"]), "<i2") / 32767.0)
            x = np.concatenate(chunks[2:])
            spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
            peak_hz = np.argmax(spectrum) * SAMPLE_RATE / len(x)
            assert abs(peak_hz - 440) < 10 and 0.3 < np.abs(x).max() < 0.55

    run(main())


# --- robustness ------------------------------------------------------------------------------------------


def test_stalled_client_does_not_delay_another_clients_frames():
    cfg = config(**{"server.queue_messages": 16, "server.slow_client_s": 0.5, "server.send_buffer_bytes": 8192})

    async def main():
        async with serving(cfg) as app:
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.connect(("127.0.0.1", app.server.port))
            stalled = await websockets.connect(url(app), sock=sock, max_queue=1)
            await stalled.send(json.dumps({"type": "subscribe", "streams": ["motion", "latent", "audio", "status"]}))
            async with websockets.connect(url(app)) as good:
                await recv_json(good, "hello")
                await good.send(json.dumps({"type": "subscribe", "streams": ["motion", "audio"]}))
                await good.send(json.dumps({"type": "audio", "role": "avatar", "data": pcm16_b64(speechlike(6.0))}))
                frames = []
                while app.server.disconnected_slow == 0 or len(frames) < 25:
                    d = await recv_json(good, "motion")
                    frames.append(d["frame"])
                # the good client saw every frame, in order, before, during and after the stall
                assert frames == list(range(frames[0], frames[0] + len(frames)))
                assert app.server.disconnected_slow == 1
            with pytest.raises(ConnectionClosed):
                while True:  # the stalled client finds its connection closed once it reads again
                    await asyncio.wait_for(stalled.recv(), HANG)

    run(main())


def test_protocol_fuzz_leaves_the_server_serving():
    cfg = config(**{"server.max_message_bytes": 65536, "server.max_sessions": 3})
    rng = random.Random(1234)
    fields = ["type", "streams", "format", "session", "role", "rate", "data", "channels", "action", "cfg_avatar", "id"]
    values = [None, True, -1, 0, 1, 3.5, 1e308, -1e308, "", "motion", "avatar", "user", "binary", "json", "pause",
              "resume", "reset", "guidance", "status", "subscribe", "audio", "control", "ping", "default", "x" * 70,
              "s1", "s2", "s3", "s4", "../../etc", "AAAA", "A===", [], ["motion", "frames"], ["nope"], {"a": 1},
              [1] * 50, "\u0000", "\ud7ff" * 3]  # fmt: skip

    OVERSIZED = json.dumps({"type": "audio", "role": "avatar", "data": "A" * 100_000})  # > max message size

    def message() -> str | bytes:
        kind = rng.random()
        if kind < 0.1:
            return bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 300)))
        if kind < 0.2:
            return "".join(chr(rng.randint(1, 0x2FF)) for _ in range(rng.randint(0, 200)))
        if kind < 0.25:
            return json.dumps(rng.choice(values))
        if kind < 0.27:
            return "{" * rng.randint(1, 5000)
        if kind < 0.28:
            return OVERSIZED
        msg = {f: rng.choice(values) for f in rng.sample(fields, rng.randint(0, len(fields)))}
        if rng.random() < 0.7:
            msg["type"] = rng.choice(["subscribe", "audio", "control", "ping", "hello", "motion"])
        if msg.get("type") == "audio" and rng.random() < 0.5:
            n = rng.choice([0, 1, 2, 641, 3200])
            msg["data"] = base64.b64encode(bytes(rng.getrandbits(8) for _ in range(n))).decode()
        return json.dumps(msg)

    async def main():
        async with serving(cfg) as app:
            sent = closed = 0
            while sent < 3000:
                # close_timeout: the server may already have closed this connection (abuse, oversized message)
                async with websockets.connect(url(app), max_size=None, max_queue=None, close_timeout=2) as ws:
                    await recv_json(ws, "hello")
                    try:
                        for _ in range(rng.randint(1, 400)):
                            msg = message()
                            await ws.send(msg)
                            sent += 1
                            if msg is OVERSIZED:  # the server closes with 1009; wait for it
                                with pytest.raises(ConnectionClosed) as e:
                                    while True:
                                        await asyncio.wait_for(ws.recv(), HANG)
                                assert e.value.rcvd is None or e.value.rcvd.code == 1009
                                break
                    except ConnectionClosed:
                        closed += 1
            assert len(app.engine.sessions) <= 3
            # still serving: a well-behaved client gets hello and consecutive frames
            async with websockets.connect(url(app)) as ws:
                await recv_json(ws, "hello")
                await ws.send(json.dumps({"type": "subscribe", "streams": ["motion"]}))
                await ws.send(json.dumps({"type": "ping", "id": "after-fuzz"}))
                assert (await recv_json(ws, "pong"))["id"] == "after-fuzz"
                frames = [(await recv_json(ws, "motion"))["frame"] for _ in range(10)]
                assert frames == list(range(frames[0], frames[0] + 10))
            assert app.engine.error is None

    run(main())


def test_errors_keep_the_connection_open():
    async def main():
        async with serving() as app, websockets.connect(url(app)) as ws:
            await recv_json(ws, "hello")
            for bad, code in [("nope", "bad_json"), (b"\x01", "binary_not_accepted"), ('{"type":"x"}', "unknown_type"),
                              ('{"type":"subscribe","streams":["video"]}', "unknown_stream"),
                              ('{"type":"control","action":"pause","session":"ghost"}', "bad_field"),
                              ('{"type":"audio","role":"user","data":"%%"}', "bad_audio")]:  # fmt: skip
                await ws.send(bad)
                err = await recv_json(ws, "error")
                assert err["code"] == code and err["message"]
            await ws.send('{"type":"ping","id":1}')
            assert (await recv_json(ws, "pong"))["id"] == 1

    run(main())


# --- sessions and control ----------------------------------------------------------------------------------


def test_sessions_are_independent_and_batched_in_one_step():
    async def main():
        async with serving() as app:
            gen = app.engine.gen
            batch_sizes = []
            real_step = gen.step

            def counting_step(sessions):
                batch_sizes.append(len(sessions))
                return real_step(sessions)

            gen.step = counting_step
            async with websockets.connect(url(app)) as a, websockets.connect(url(app)) as b:
                for ws, name, seed in ((a, "npc1", 1), (b, "npc2", 2)):
                    await recv_json(ws, "hello")
                    await ws.send(json.dumps({"type": "subscribe", "session": name, "streams": ["motion"]}))
                    await ws.send(json.dumps({"type": "audio", "role": "avatar", "session": name,
                                              "data": pcm16_b64(speechlike(3.0, seed=seed))}))  # fmt: skip
                got = {"npc1": [], "npc2": []}
                for ws, name in ((a, "npc1"), (b, "npc2")):
                    while len(got[name]) < 20:
                        d = await recv_json(ws, "motion")
                        assert d["session"] == name  # a client only gets the session it subscribed to
                        got[name].append((d["frame"], np.array(d["values"])))
                assert set(app.engine.sessions) >= {"default", "npc1", "npc2"}
                assert max(batch_sizes) >= 2  # several sessions went through the model in one step
                v1 = np.stack([v for _, v in got["npc1"][:10]])
                v2 = np.stack([v for _, v in got["npc2"][:10]])
                assert not np.allclose(v1, v2)  # own inputs and seed: different motion

    run(main())


def test_pause_resume_reset_keep_indices_increasing():
    async def main():
        async with serving() as app, websockets.connect(url(app)) as ws:
            await recv_json(ws, "hello")
            await ws.send(json.dumps({"type": "subscribe", "streams": ["motion"]}))
            first = [(await recv_json(ws, "motion"))["frame"] for _ in range(5)]
            await ws.send(json.dumps({"type": "control", "action": "pause"}))
            ack = await recv_json(ws, "ack")
            assert ack["action"] == "pause" and ack["paused"] is True
            sess = app.engine.sessions["default"]
            pushed, ticks = sess.pushed, app.engine.ticks
            while app.engine.ticks < ticks + 10:
                await asyncio.sleep(0.05)
            assert sess.pushed == pushed  # paused: the clock runs, no conditions are queued
            await ws.send(json.dumps({"type": "control", "action": "resume"}))
            assert (await recv_json(ws, "ack"))["paused"] is False
            await ws.send(json.dumps({"type": "control", "action": "reset"}))
            await recv_json(ws, "ack")
            await ws.send(json.dumps({"type": "control", "action": "guidance", "cfg_avatar": 1.5}))
            g = await recv_json(ws, "ack")
            assert g["guidance"] == {"cfg_avatar": 1.5} and g["scope"] in ("session", "server")
            later = [(await recv_json(ws, "motion"))["frame"] for _ in range(10)]
            everything = first + later
            assert everything == sorted(set(everything))  # strictly increasing across pause and reset
            await ws.send(json.dumps({"type": "control", "action": "status"}))
            status = await recv_json(ws, "status")
            assert (
                status["mode"] in ("idle", "listening", "talking", "both") and "audio_to_sent" in status["latency_ms"]
            )

    run(main())


# --- access ----------------------------------------------------------------------------------------------


def test_non_loopback_bind_requires_a_token_and_never_logs_it(caplog):
    secret = "tok-3f9a1c77e2"
    with pytest.raises(ConfigError, match="token"):
        build_app(config(**{"server.host": "0.0.0.0"}))

    async def main():
        async with serving(config(**{"server.host": "0.0.0.0", "server.token": secret})) as app:
            for bad in ("", "?token=wrong", f"?token={secret}x"):
                with pytest.raises(InvalidStatus) as e:
                    async with websockets.connect(url(app, bad)):
                        pass
                assert e.value.response.status_code == 401
            async with websockets.connect(url(app, f"?token={secret}")) as ws:
                assert (await recv_json(ws, "hello"))["protocol"] == 1
            async with websockets.connect(url(app), additional_headers={"Authorization": f"Bearer {secret}"}) as ws:
                assert (await recv_json(ws, "hello"))["protocol"] == 1
            status, _ = await http_get(app.server.port, "/")
            assert status == 401
            status, body = await http_get(app.server.port, f"/?token={secret}")
            assert status == 200 and b"<html" in body

    with caplog.at_level(logging.DEBUG):
        run(main())
    server_side = [r for r in caplog.records if not r.name.startswith("websockets.client")]
    assert server_side and not any(secret in r.getMessage() for r in server_side)
    assert any("<redacted>" in r.getMessage() for r in server_side)  # the request lines were logged, redacted


def test_browser_origins_other_than_loopback_are_refused():
    async def main():
        async with serving() as app:
            with pytest.raises(InvalidStatus) as e:
                async with websockets.connect(url(app), origin="https://evil.example"):
                    pass
            assert e.value.response.status_code == 403
            async with websockets.connect(url(app), origin="http://localhost:3000") as ws:
                await recv_json(ws, "hello")

    run(main())


async def http_get(port: int, path: str) -> tuple[int, bytes]:
    """A raw HTTP/1.1 GET with the path sent byte for byte (no client-side normalisation)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode("latin-1"))
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), HANG)
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def test_http_serves_pages_and_refuses_path_traversal():
    async def main():
        async with serving() as app:
            port = app.server.port
            status, body = await http_get(port, "/")
            assert status == 200 and b"Avatar Forcing" in body
            status, body = await http_get(port, "/status.json")
            assert status == 200 and "default" in json.loads(body)["sessions"]
            for bad in ("/overlay/../../pyproject.toml", "/overlay/%2e%2e/%2e%2e/pyproject.toml",
                        "/web/../runtime/engine.py", "/web/%2e%2e%2fruntime%2fengine.py", "/../../etc/passwd",
                        "/web/..%5cruntime%5cengine.py", "/pyproject.toml", "/web/%00"):  # fmt: skip
                status, body = await http_get(port, bad)
                assert status == 404, bad
                assert b"[project]" not in body and b"import" not in body and b"root:" not in body

    run(main())


# --- lip motion with the trained model -----------------------------------------------------------------------


def test_pushed_speech_moves_the_lips_with_the_shipped_model():
    from af_plugin.model.streaming import DEFAULT_CHECKPOINT

    if not DEFAULT_CHECKPOINT.is_file():
        pytest.skip("no shipped model (af_plugin/assets/default_model.safetensors): lip motion needs the trained model")
    wav = SHARED / "hdtf_radio31_16k.wav"
    if not wav.is_file():
        pytest.skip("shared speech sample absent")
    from af_plugin.perception.audio import load_audio
    from af_plugin.perception.features import voice_activity

    speech = load_audio(wav)[: 6 * SAMPLE_RATE]
    silence = np.zeros(2 * SAMPLE_RATE, np.float32)
    voice = np.concatenate([silence, speech, silence])
    activity = voice_activity(voice, backend="energy")

    async def main():
        async with serving(config(**{"model.steps": 4})) as app, websockets.connect(url(app)) as ws:
            await recv_json(ws, "hello")
            await ws.send(json.dumps({"type": "subscribe", "streams": ["motion", "audio"]}))
            await ws.send(json.dumps({"type": "audio", "role": "avatar", "data": pcm16_b64(voice)}))
            jaw, audio_frames = {}, {}
            while len(audio_frames) < len(activity) - 2:
                d = json.loads(await asyncio.wait_for(ws.recv(), HANG))
                if d["type"] == "motion":
                    jaw[d["frame"]] = d["values"][CHANNEL_INDEX["jawOpen"]]
                elif d["type"] == "audio":
                    audio_frames[d["frame"]] = d["frame"]
            start = min(audio_frames)  # the frame carrying the first pushed sample
            idx = [start + k for k in range(len(activity) - 2) if start + k in jaw]
            j = np.array([jaw[i] for i in idx])
            act = activity[[i - start for i in idx]]
            assert j[act > 0.5].mean() > j[act < 0.1].mean() + 0.05

    run(main())


def test_abusive_client_is_closed_with_a_reason_and_others_keep_streaming():
    async def main():
        async with serving() as app, websockets.connect(url(app)) as good:
            await recv_json(good, "hello")
            await good.send(json.dumps({"type": "subscribe", "streams": ["motion"]}))
            async with websockets.connect(url(app), max_queue=None) as bad:
                with pytest.raises(ConnectionClosed) as e:
                    for _ in range(1000):
                        await bad.send("garbage")
                    while True:
                        await asyncio.wait_for(bad.recv(), HANG)
                assert e.value.rcvd.code == 1008 and "protocol errors" in e.value.rcvd.reason
            frames = [(await recv_json(good, "motion"))["frame"] for _ in range(5)]
            assert frames == list(range(frames[0], frames[0] + 5))

    run(main())


def test_frames_stream_carries_rendered_jpegs():
    import cv2

    async def main():
        cfg = config(**{"render.width": 160, "render.height": 128})
        async with serving(cfg) as app, websockets.connect(url(app)) as ws:
            hello = await recv_json(ws, "hello")
            if "frames" not in hello["streams_available"]:
                pytest.skip("no renderer in this install")
            await ws.send(json.dumps({"type": "subscribe", "streams": ["frames"]}))
            got = [await recv_json(ws, "frame") for _ in range(5)]
            assert [g["frame"] for g in got] == sorted({g["frame"] for g in got})
            image = cv2.imdecode(np.frombuffer(base64.b64decode(got[-1]["jpeg"]), np.uint8), cv2.IMREAD_COLOR)
            assert image.shape == (128, 160, 3) and image.std() > 0

    run(main())


def test_client_sessions_are_closed_when_left_idle():
    async def main():
        async with serving(config(**{"server.session_idle_s": 0.3})) as app:
            async with websockets.connect(url(app)) as ws:
                await recv_json(ws, "hello")
                await ws.send(json.dumps({"type": "subscribe", "session": "visitor", "streams": ["motion"]}))
                await recv_json(ws, "motion")
                assert "visitor" in app.engine.sessions
            for _ in range(int(HANG / 0.05)):  # nobody watches it any more: it goes
                if "visitor" not in app.engine.sessions:
                    break
                await asyncio.sleep(0.05)
            assert set(app.engine.sessions) == {"default"}
            async with websockets.connect(url(app)) as ws:  # and can be made again
                await recv_json(ws, "hello")
                await ws.send(json.dumps({"type": "subscribe", "session": "visitor", "streams": ["motion"]}))
                assert (await recv_json(ws, "motion"))["session"] == "visitor"

    run(main())


def test_message_floods_are_rate_limited_without_closing():
    async def main():
        async with serving() as app, websockets.connect(url(app), max_queue=None) as ws:
            await recv_json(ws, "hello")
            errors = []

            async def read_errors():
                while True:
                    d = json.loads(await ws.recv())
                    if d["type"] == "error":
                        errors.append(d)
                        return

            reader = asyncio.create_task(read_errors())
            for i in range(50_000):  # as fast as this client can: the server sees > 1000 in some second
                await ws.send(json.dumps({"type": "ping", "id": i}))
                if i % 500 == 0:
                    await asyncio.sleep(0)
                    if errors:
                        break
            await asyncio.wait_for(reader, HANG)
            assert errors[0]["code"] == "rate_limited"
            await asyncio.sleep(1.1)  # a new second: messages are handled again
            await ws.send(json.dumps({"type": "ping", "id": "later"}))
            while (await recv_json(ws, "pong"))["id"] != "later":
                pass

    run(main())
