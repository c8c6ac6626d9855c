"""The Unity bridge's engine-free C# core, compiled with Mono's mcs and driven through pythonnet against
a real Python websockets server speaking protocol v1.

The CLR is loaded in a child process (this file run as a script) so the pytest process never hosts Mono;
the child returns what the C# side observed as JSON and the assertions live here.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import os
import shutil
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "unity_bridge" / "Runtime" / "Core"
EDITOR_TESTS = ROOT / "unity_bridge" / "Tests" / "Editor"
NUNIT_CANDIDATES = [
    Path("/usr/lib/cli/nunit.framework-2.6.3/nunit.framework.dll"),
    *sorted(Path("/usr/lib/mono/gac/nunit.framework").glob("*/nunit.framework.dll")),
]
N_FRAMES = 12


def sent_frames(n: int = N_FRAMES, start: int = 0) -> list[tuple[int, float, int, np.ndarray]]:
    """Deterministic frames the fixture server sends; every channel differs so order errors show."""
    from af_plugin.motion.contract import NUM_CHANNELS

    out = []
    for i in range(start, start + n):
        values = (np.sin(np.arange(NUM_CHANNELS) * 0.37 + i * 0.21) * 0.5 + 0.5).astype(np.float32)
        flags = 1 if i == start + 3 else 0
        out.append((i, i / 25.0, flags, values))
    return out


# --------------------------------------------------------------------------------------------------
# Parent side: compile, run the child, assert.
# --------------------------------------------------------------------------------------------------


def compile_core(out_dir: Path) -> Path:
    mcs = shutil.which("mcs")
    if mcs is None:
        pytest.skip("Mono's mcs is not installed (apt install mono-devel)")
    dll = out_dir / "AvatarForcing.Core.dll"
    sources = sorted(str(p) for p in CORE.glob("*.cs"))
    cmd = [mcs, "-target:library", "-langversion:7.2", "-warnaserror", f"-out:{dll}", "-r:System.dll", *sources]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return dll


def compile_editor_tests(out_dir: Path, core_dll: Path) -> Path | None:
    """The Unity EditMode tests of the core (Tests/Editor/*.cs), compiled against NUnit 2.6 here."""
    nunit = next((p for p in NUNIT_CANDIDATES if p.exists()), None)
    if nunit is None:
        return None
    dll = out_dir / "AvatarForcing.Editor.Tests.dll"
    sources = sorted(str(p) for p in EDITOR_TESTS.glob("*.cs"))
    cmd = ["mcs", "-target:library", "-langversion:7.2", f"-out:{dll}", f"-r:{core_dll}", f"-r:{nunit}",
           "-r:System.dll", *sources]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    shutil.copy(nunit, out_dir / nunit.name)
    return dll


def run_child(args: list[str]) -> dict:
    """Run this file as the CLR-hosting child; its last stdout line is the JSON of what it observed.

    Mono 6.8 hosted by pythonnet can, rarely, die of a signal on its own (clr_loader warns that Mono
    before 6.12 is "known to be problematic"); such a crash is retried once, with a warning. Any other
    failure (an exception, a non-zero exit) fails at once with the child's output.
    """
    env = {**os.environ, "MONO_THREADS_SUSPEND": "preemptive", "PYTHONPATH": str(ROOT)}
    for attempt in (1, 2):
        proc = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, env=env,
                              timeout=600, cwd=ROOT)  # fmt: skip
        if proc.returncode < 0 and attempt == 1:
            warnings.warn(
                f"the Mono child died of signal {-proc.returncode}; retrying once:\n{proc.stderr[-2000:]}", stacklevel=2
            )
            continue
        break
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    assert proc.returncode == 0 and lines, f"child failed (rc {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return json.loads(lines[-1])


@pytest.fixture(scope="module")
def observed(tmp_path_factory) -> dict:
    try:
        import pythonnet  # noqa: F401
    except ImportError:
        pytest.skip("pythonnet is not installed")
    out_dir = tmp_path_factory.mktemp("unity_core")
    core = compile_core(out_dir)
    tests_dll = compile_editor_tests(out_dir, core)
    return run_child([str(core), str(tests_dll or "")])


@pytest.fixture(scope="module")
def observed_runtime(tmp_path_factory) -> dict:
    """The C# client against the real runtime (af_plugin.runtime: build_app + run_app, port 0)."""
    try:
        import pythonnet  # noqa: F401
    except ImportError:
        pytest.skip("pythonnet is not installed")
    core = compile_core(tmp_path_factory.mktemp("unity_core_runtime"))
    return run_child([str(core), "", "runtime"])


def scenario(observed: dict, name: str):
    """One scenario's observations; fails with the child's traceback when that scenario raised."""
    run = observed[name]
    if isinstance(run, dict) and "child_error" in run:
        pytest.fail(f"scenario {name!r} failed in the child process:\n{run['child_error']}")
    return run


def assert_frames_equal(received: list, expected: list) -> None:
    assert [f[0] for f in received] == [e[0] for e in expected]
    for (idx, t, flags, values), (_eidx, et, eflags, evalues) in zip(received, expected):
        assert t == pytest.approx(et, abs=1e-12) and flags == eflags, idx
        assert np.array_equal(np.asarray(values, dtype=np.float32), evalues), idx


def test_binary_frames_decode_to_what_was_sent(observed):
    run = scenario(observed, "stream")
    assert run["hello_protocol"] == 1 and run["hello_channels"] == 62
    assert_frames_equal(run["frames"], sent_frames())
    assert run["malformed"] == 0
    sub = run["subscribe"]
    assert sub["type"] == "subscribe" and sub["format"] == "binary" and "motion" in sub["streams"]
    assert sub["session"] == "default"


def test_malformed_messages_are_rejected_with_an_error_not_a_crash(observed):
    run = scenario(observed, "malformed")
    assert run["malformed"] == 5
    codes = sorted(run["error_codes"])
    assert codes == sorted(["bad_frame", "bad_frame", "bad_json", "bad_message", "too_big"])
    assert run["state_after"] == "Streaming"
    # the frames after the bad ones still arrive, intact
    assert_frames_equal(run["frames"], sent_frames(2) + sent_frames(2, start=100))


def test_channels_are_mapped_by_name_from_the_hello(observed):
    from af_plugin.motion.contract import CHANNELS

    run = scenario(observed, "reordered")
    expected = sent_frames(2)
    for (_, _, _, values), (_, _, _, evalues) in zip(run["frames"], expected):
        assert np.array_equal(np.asarray(values, dtype=np.float32), evalues)
    assert len(run["frames"]) == 2 and len(CHANNELS) == 62


def test_client_reconnects_after_the_server_restarts(observed):
    run = scenario(observed, "reconnect")
    assert run["states_seen"][0] == "Streaming"
    assert "WaitingToReconnect" in run["states_seen"] or "Connecting" in run["states_seen"]
    assert run["connections"] == 2 and run["reconnects"] >= 1
    assert_frames_equal(run["frames_after"], sent_frames(3, start=500))


def test_token_is_sent_and_a_refusal_keeps_retrying(observed):
    run = scenario(observed, "token")
    assert run["authorized_frames"] == 2
    assert run["refused_state"] in ("WaitingToReconnect", "Connecting")
    assert run["refused_connections"] == 0
    assert "cannot reach the runtime" in run["refused_error"] and "token" in run["refused_error"]


def test_audio_push_and_avatar_voice(observed):
    run = scenario(observed, "audio")
    sent = np.asarray(run["pushed"], dtype=np.float32)
    got = run["server_received"]
    assert got["type"] == "audio" and got["role"] == "user" and got["rate"] == 16000
    pcm = np.frombuffer(base64.b64decode(got["data"]), dtype="<i2").astype(np.float32) / 32767.0
    assert pcm.shape == sent.shape and np.abs(pcm - sent).max() < 1.0 / 16000
    voice = run["avatar_voice"]
    assert voice["role"] == "avatar" and voice["t"] == pytest.approx(0.48) and voice["rate"] == 16000
    expect = np.round(np.sin(np.arange(320) / 10.0) * 0.5 * 32767) / 32768.0
    assert np.abs(np.asarray(voice["samples"]) - expect).max() < 1e-6


def test_jitter_buffer_interpolates_between_frames(observed):
    run = scenario(observed, "interpolation")
    frames = sent_frames(4)
    checked = 0
    for query in run["samples"]:
        t = query["play"]  # the buffer's play time: the requested time shifted by its clock-offset estimate
        assert abs(t - query["t"]) < 1e-3
        k = max(0, min(int(math.floor(t * 25 + 1e-9)), 2))
        a, b = frames[k][3], frames[k + 1][3]
        if frames[k][2] or frames[k + 1][2]:  # a no-face frame is held, not blended
            continue
        alpha = min(1.0, max(0.0, (t - frames[k][1]) / (frames[k + 1][1] - frames[k][1])))
        expected = a + (b - a) * alpha
        assert np.allclose(query["values"], expected, atol=1e-6), t
        checked += 1
    assert checked >= 5
    assert run["held_after_end"] == pytest.approx(frames[-1][3].tolist(), abs=1e-7)
    assert run["starved"] is True
    # end-to-end: live frames through the client into the buffer, sampled between two of them
    live = run["live"]
    assert live["ok"] and np.isfinite(live["values"]).all()


def test_nunit_editor_tests_pass_outside_unity(observed):
    run = scenario(observed, "nunit")
    if run is None:
        pytest.skip("NUnit 2.6 (mono) not found; the Unity EditMode tests were not run here")
    assert run["failed"] == [], run["failed"]
    assert run["passed"] >= 10


def test_against_the_real_runtime(observed_runtime):
    """Binary frames the C# client decodes equal the JSON frames a Python client gets from `af run`'s server;
    pushed avatar audio comes back as voice chunks on the motion clock."""
    run = observed_runtime
    assert run["hello"]["protocol"] == 1 and run["hello"]["channels"] == 62
    assert "subscribed" in run["message_types"]
    frames = run["csharp_frames"]
    indices = [f[0] for f in frames]
    assert len(frames) >= 25 and indices == list(range(indices[0], indices[0] + len(indices)))
    assert all(abs(t - i / 25.0) < 1e-9 for i, t, _, _ in frames)
    reference = {int(k): v for k, v in run["json_frames"].items()}
    common = [f for f in frames if f[0] in reference]
    assert len(common) >= 10, "the two clients saw overlapping frames"
    for index, _, _, values in common:  # the server's JSON rounds values to 5 decimals; binary is exact float32
        assert np.allclose(values, reference[index], rtol=0, atol=5.1e-6), index
    voice = run["voice"]
    assert voice["chunks"] >= 10 and voice["rate"] == 16000 and voice["samples_per_chunk"] == 640
    assert voice["correlation"] > 0.99, "the voice that comes back is the voice that was pushed"
    assert run["malformed"] == 0


# --------------------------------------------------------------------------------------------------
# Child side: the real websockets server and the C# client in one process.
# --------------------------------------------------------------------------------------------------


class FixtureServer:
    """A protocol-v1 websockets server on 127.0.0.1 running in its own thread and event loop."""

    def __init__(self, script, port: int = 0, token: str | None = None, channels=None):
        self.script, self.port, self.token, self.channels = script, port, token, channels
        self.received: list = []
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.server = None

    def hello(self) -> str:
        from af_plugin.constants import FPS, SAMPLE_RATE
        from af_plugin.motion.codecs.afm import FRAME_BYTES
        from af_plugin.motion.contract import CHANNELS, LAYOUT_VERSION

        channels = list(self.channels or CHANNELS)
        return json.dumps({"type": "hello", "protocol": 1, "fps": FPS, "layout_version": LAYOUT_VERSION,
                           "channels": channels, "sample_rate": SAMPLE_RATE, "binary_frame_bytes": FRAME_BYTES,
                           "session": "default"})  # fmt: skip

    def _process_request(self, connection, request):
        import http

        if self.token is not None and request.headers.get("Authorization") != f"Bearer {self.token}":
            return connection.respond(http.HTTPStatus.UNAUTHORIZED, "token required\n")
        return None

    async def _handler(self, ws):
        await ws.send(self.hello())
        self.received.append(json.loads(await ws.recv()))
        await self.script(self, ws)
        try:
            async for message in ws:
                self.received.append(json.loads(message))
        except Exception:
            pass

    def _run(self):
        from websockets.asyncio.server import serve

        async def main():
            self.server = await serve(self._handler, "127.0.0.1", self.port, process_request=self._process_request)
            self.port = self.server.sockets[0].getsockname()[1]
            self.ready.set()
            await self.server.wait_closed()

        self.loop.run_until_complete(main())

    def start(self) -> FixtureServer:
        self.thread.start()
        assert self.ready.wait(60)
        return self

    def stop(self) -> None:
        async def close():
            self.server.close()
            await self.server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(60)
        self.thread.join(60)


def _wait(cond, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return False


def _child(core_dll: str, tests_dll: str) -> dict:
    from pythonnet import load

    load("mono")
    import clr  # noqa: F401  (pythonnet's import hook)

    sys.path.append(str(Path(core_dll).parent))
    clr.AddReference(str(Path(core_dll)))
    import System
    from AvatarForcing.Core import JitterBuffer, MotionClient, MotionClientOptions, MotionFrame

    from af_plugin.motion.codecs.afm import encode_frame
    from af_plugin.motion.contract import CHANNELS

    def frames_bytes(frames):
        return [encode_frame(i, t, v, f) for i, t, f, v in frames]

    def drain(client, into: list, errors: list | None = None):
        ok, frame = client.TryGetFrame(None)
        while ok:
            into.append([int(frame.Index), float(frame.Time), int(frame.Flags), [float(x) for x in frame.Values]])
            ok, frame = client.TryGetFrame(None)
        ok, msg = client.TryGetMessage(None)
        while ok:
            if errors is not None and msg.Type == "error":
                errors.append(str(msg.ErrorCode))
            ok, msg = client.TryGetMessage(None)

    def client_for(port: int, token: str | None = None, streams=("motion",), max_bytes: int = 0) -> MotionClient:
        opts = MotionClientOptions()
        if max_bytes:
            opts.MaxMessageBytes = max_bytes
        opts.Url = f"ws://127.0.0.1:{port}/"
        opts.Token = token
        opts.InitialBackoff = 0.2
        opts.MaxBackoff = 0.5
        opts.Streams.Clear()
        for s in streams:
            opts.Streams.Add(s)
        c = MotionClient(opts)
        c.Start()
        return c

    results: dict = {}

    async def stream_script(server, ws):
        for data in frames_bytes(sent_frames()):
            await ws.send(data)

    async def first_script(server, ws):
        for data in frames_bytes(sent_frames(2)):
            await ws.send(data)

    def scenario_stream():
        """A stream of valid binary frames."""
        server = FixtureServer(stream_script).start()
        client = client_for(server.port)
        got: list = []
        _wait(lambda: (drain(client, got), len(got) >= N_FRAMES)[1])
        results["stream"] = {
            "frames": got, "malformed": int(client.MalformedMessages), "subscribe": server.received[0],
            "hello_protocol": int(client.Hello.Protocol), "hello_channels": len(client.Hello.Channels),
        }  # fmt: skip
        client.Stop(5.0)
        server.stop()

    def scenario_malformed():
        """Malformed messages between valid ones."""

        async def malformed_script(server, ws):
            good = frames_bytes(sent_frames(2))
            await ws.send(good[0])
            await ws.send(good[1][:-1])  # one byte short
            nan = bytearray(frames_bytes(sent_frames(1, start=50))[0])
            nan[16:20] = np.float32(np.nan).tobytes()
            await ws.send(bytes(nan))
            await ws.send("{not json")
            await ws.send(json.dumps({"type": "motion", "frame": "x"}))
            await ws.send(json.dumps({"type": "status", "pad": "x" * 10000}))  # over the client's 4 KiB limit
            await ws.send(good[1])
            for data in frames_bytes(sent_frames(2, start=100)):
                await ws.send(data)

        server = FixtureServer(malformed_script).start()
        client = client_for(server.port, max_bytes=4096)
        got, errors = [], []
        _wait(lambda: (drain(client, got, errors), len(got) >= 4)[1])
        _wait(lambda: (drain(client, got, errors), len(errors) >= 5)[1], 5)
        results["malformed"] = {"frames": got, "malformed": int(client.MalformedMessages), "error_codes": errors,
                                "state_after": str(client.State)}  # fmt: skip
        client.Stop(5.0)
        server.stop()

    def scenario_reordered():
        """Channels in another order: the client maps them by name."""
        reordered = list(reversed(CHANNELS))

        async def reorder_script(server, ws):
            for i, t, f, v in sent_frames(2):
                server_order = np.array([v[CHANNELS.index(n)] for n in reordered], dtype=np.float32)
                await ws.send(encode_frame(i, t, server_order, f))

        server = FixtureServer(reorder_script, channels=reordered).start()
        client = client_for(server.port)
        got = []
        _wait(lambda: (drain(client, got), len(got) >= 2)[1])
        results["reordered"] = {"frames": got}
        client.Stop(5.0)
        server.stop()

    def scenario_reconnect():
        """Reconnect after a server restart on the same port."""

        async def second_script(server, ws):
            for data in frames_bytes(sent_frames(3, start=500)):
                await ws.send(data)

        server = FixtureServer(first_script).start()
        port = server.port
        client = client_for(port)
        states = []
        got = []
        _wait(lambda: (drain(client, got), len(got) >= 2)[1])
        states.append(str(client.State))
        server.stop()
        _wait(lambda: str(client.State) != "Streaming", 10)
        states.append(str(client.State))
        server = FixtureServer(second_script, port=port).start()
        after: list = []
        _wait(lambda: (drain(client, after), len(after) >= 3)[1])
        results["reconnect"] = {"states_seen": states, "connections": int(client.Connections),
                                "reconnects": int(client.Reconnects), "frames_after": after}  # fmt: skip
        client.Stop(5.0)
        server.stop()

    def scenario_token():
        """Token: accepted with the right Bearer header, refused (and retried) without."""
        server = FixtureServer(first_script, token="s3cret").start()
        client = client_for(server.port, token="s3cret")
        got = []
        _wait(lambda: (drain(client, got), len(got) >= 2)[1])
        authorized = len(got)
        client.Stop(5.0)
        refused = client_for(server.port)
        _wait(lambda: refused.Reconnects >= 1, 10)
        results["token"] = {"authorized_frames": authorized, "refused_state": str(refused.State),
                            "refused_connections": int(refused.Connections), "refused_error": str(refused.LastError)}  # fmt: skip
        refused.Stop(5.0)
        server.stop()

    def scenario_audio():
        """Audio both ways: the client pushes user audio; the server sends avatar voice."""
        pushed = (np.sin(np.arange(640) / 7.0) * 0.8).astype(np.float32)

        async def audio_script(server, ws):
            pcm = np.round(np.sin(np.arange(320) / 10.0) * 0.5 * 32767).astype("<i2").tobytes()
            await ws.send(json.dumps({"type": "audio", "role": "avatar", "t": 0.48, "rate": 16000,
                                      "data": base64.b64encode(pcm).decode()}))  # fmt: skip

        server = FixtureServer(audio_script).start()
        client = client_for(server.port, streams=("motion", "audio"))
        _wait(lambda: str(client.State) == "Streaming")
        voice = {}

        def take_voice():
            ok, msg = client.TryGetMessage(None)
            while ok:
                if msg.Type == "audio":
                    a = msg.Audio
                    voice.update(
                        role=str(a.Role), t=float(a.Time), rate=int(a.Rate), samples=[float(x) for x in a.Samples]
                    )
                ok, msg = client.TryGetMessage(None)
            return bool(voice)

        _wait(take_voice)
        client.SendAudio("user", System.Array[System.Single](pushed.tolist()), 16000)
        _wait(lambda: len(server.received) >= 2)
        results["audio"] = {"pushed": pushed.tolist(), "server_received": server.received[1] if len(server.received) > 1 else {},
                            "avatar_voice": voice, "subscribe": server.received[0]}  # fmt: skip
        client.Stop(5.0)
        server.stop()

    def scenario_interpolation():
        """Jitter buffer: synthetic arrival times, then live frames through the client."""
        jb = JitterBuffer(0.1)
        frames = sent_frames(4)
        for i, t, f, v in frames:
            mf = MotionFrame(i, t, f, System.Array[System.Single](v.tolist()))
            mf.ArrivalTime = 10.0 + t + (0.013 if i % 2 else 0.0)  # jitter on odd frames
            jb.Add(mf)
        out = System.Array.CreateInstance(System.Single, len(CHANNELS))
        samples = []
        for t in (0.0, 0.01, 0.02, 0.05, 0.06, 0.071, 0.09, 0.1, 0.113):
            jb.Sample(10.0 + t + 0.1, out)  # offset = 10.0 (the un-jittered arrivals), delay 0.1
            samples.append({"t": t, "values": [float(x) for x in out], "play": float(jb.LastPlayTime)})
        jb.Sample(10.0 + 0.5 + 0.1, out)
        held = [float(x) for x in out]
        starved = bool(jb.LastSampleStarved)

        server = FixtureServer(stream_script).start()
        client = client_for(server.port)
        live_jb = JitterBuffer(0.05)
        count = [0]

        def feed():
            ok, fr = client.TryGetFrame(None)
            while ok:
                live_jb.Add(fr)
                count[0] += 1
                ok, fr = client.TryGetFrame(None)
            return count[0] >= N_FRAMES

        _wait(feed)
        live_out = System.Array.CreateInstance(System.Single, len(CHANNELS))
        live_ok = bool(live_jb.Sample(client.Now, live_out))
        results["interpolation"] = {"samples": samples, "held_after_end": held, "starved": starved,
                                    "live": {"ok": live_ok, "values": [float(x) for x in live_out]}}  # fmt: skip
        client.Stop(5.0)
        server.stop()

    for name, scenario in [("stream", scenario_stream), ("malformed", scenario_malformed),
                           ("reordered", scenario_reordered), ("reconnect", scenario_reconnect),
                           ("token", scenario_token), ("audio", scenario_audio),
                           ("interpolation", scenario_interpolation)]:  # fmt: skip
        try:  # one failing scenario must not hide the others: its traceback goes to its test
            scenario()
        except Exception:
            import traceback

            results[name] = {"child_error": traceback.format_exc()}

    # 8. the Unity EditMode tests of the core, run by a minimal NUnit runner (reflection)
    try:
        results["nunit"] = _run_nunit(tests_dll) if tests_dll else None
    except Exception:
        import traceback

        results["nunit"] = {"child_error": traceback.format_exc()}
    return results


def _child_runtime(core_dll: str) -> dict:
    """Start the real runtime in this process (port 0), connect the C# client and a Python JSON client."""
    from pythonnet import load

    load("mono")
    import clr

    clr.AddReference(str(Path(core_dll)))
    import System
    import websockets
    from AvatarForcing.Core import MotionClient, MotionClientOptions

    from af_plugin.config import load_config
    from af_plugin.runtime.app import build_app, run_app

    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: dict = {}

    async def serve():
        cfg = load_config(overrides={"server.port": 0, "model.steps": 1, "sources.realtime": True})
        app = build_app(cfg)
        holder["app"] = app
        await run_app(app, stop_when_finished=False, handle_signals=False, on_ready=lambda _: ready.set())

    thread = threading.Thread(target=lambda: loop.run_until_complete(serve()), daemon=True)
    thread.start()
    assert ready.wait(120), "the runtime did not start"
    port = holder["app"].server.port

    json_frames: dict = {}

    async def json_client(stop: asyncio.Event):
        async with websockets.connect(f"ws://127.0.0.1:{port}/") as ws:
            await ws.recv()  # hello
            await ws.send(json.dumps({"type": "subscribe", "streams": ["motion"], "format": "json"}))
            while not stop.is_set():
                try:
                    msg = json.loads(await asyncio.wait_for(ws.recv(), 1.0))
                except TimeoutError:
                    continue
                if msg.get("type") == "motion":
                    json_frames[msg["frame"]] = msg["values"]

    stop = asyncio.Event()
    json_task = asyncio.run_coroutine_threadsafe(json_client(stop), loop)

    opts = MotionClientOptions()
    opts.Url = f"ws://127.0.0.1:{port}/"
    opts.Streams.Add("audio")
    client = MotionClient(opts)
    client.Start()
    _wait(lambda: str(client.State) == "Streaming", 60)
    rate = 16000
    t = np.arange(rate) / rate
    pushed = (0.5 * np.sin(2 * np.pi * 220 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))).astype(np.float32)
    client.SendAudio("avatar", System.Array[System.Single](pushed.tolist()), rate)

    frames, types, chunks = [], set(), []

    def pump():
        ok, fr = client.TryGetFrame(None)
        while ok:
            frames.append([int(fr.Index), float(fr.Time), int(fr.Flags), [float(x) for x in fr.Values]])
            ok, fr = client.TryGetFrame(None)
        ok, msg = client.TryGetMessage(None)
        while ok:
            types.add(str(msg.Type))
            if msg.Type == "audio" and msg.Audio is not None:
                chunks.append((float(msg.Audio.Time), int(msg.Audio.Rate), [float(x) for x in msg.Audio.Samples]))
            ok, msg = client.TryGetMessage(None)
        voiced = sum(1 for c in chunks if max(abs(x) for x in c[2]) > 0.01)
        return len(frames) >= 50 and voiced >= 25

    _wait(pump, 120)
    hello = client.Hello
    chunks.sort()
    voice = np.concatenate([np.asarray(c[2], dtype=np.float32) for c in chunks]) if chunks else np.zeros(1, np.float32)
    nz = np.flatnonzero(np.abs(voice) > 1e-3)
    segment = voice[nz[0] : nz[0] + 8000] if len(nz) else voice[:1]
    best = 0.0
    if len(segment) > 100:  # normalised correlation of the returned voice against the pushed signal
        for lag in range(0, len(pushed) - len(segment) + 1, 1):
            ref = pushed[lag : lag + len(segment)]
            c = float(np.dot(ref, segment) / (np.linalg.norm(ref) * np.linalg.norm(segment) + 1e-12))
            if c > best:
                best = c
            if best > 0.999:
                break
    client.Stop(5.0)
    loop.call_soon_threadsafe(stop.set)
    try:
        json_task.result(10)
    except Exception:
        pass
    loop.call_soon_threadsafe(holder["app"].engine.request_stop)
    thread.join(60)
    return {
        "hello": {"protocol": int(hello.Protocol), "channels": len(hello.Channels)},
        "message_types": sorted(types),
        "csharp_frames": frames,
        "json_frames": {str(k): v for k, v in json_frames.items()},
        "voice": {
            "chunks": len(chunks),
            "rate": chunks[0][1] if chunks else 0,
            "samples_per_chunk": len(chunks[0][2]) if chunks else 0,
            "correlation": best,
        },
        "malformed": int(client.MalformedMessages),
    }


def _run_nunit(tests_dll: str) -> dict:
    import clr

    clr.AddReference(str(Path(tests_dll).parent / "nunit.framework.dll"))
    assembly = clr.AddReference(str(Path(tests_dll)))
    import System

    passed, failed = 0, []
    for t in assembly.GetTypes():
        if not any(a.GetType().Name == "TestFixtureAttribute" for a in t.GetCustomAttributes(True)):
            continue
        for m in t.GetMethods():
            if not any(a.GetType().Name == "TestAttribute" for a in m.GetCustomAttributes(True)):
                continue
            instance = System.Activator.CreateInstance(t)
            try:
                m.Invoke(instance, None)
                passed += 1
            except Exception as exc:  # TargetInvocationException wraps the NUnit AssertionException
                inner = getattr(exc, "InnerException", None)
                failed.append(f"{t.Name}.{m.Name}: {inner.Message if inner is not None else exc}")
    return {"passed": passed, "failed": failed}


if __name__ == "__main__":
    if len(sys.argv) > 3 and sys.argv[3] == "runtime":
        result = _child_runtime(sys.argv[1])
    else:
        result = _child(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "")
    print(json.dumps(result), flush=True)
    sys.stdout.flush()
    os._exit(0)  # skip Mono's shutdown, which can hang on leftover thread-pool threads
