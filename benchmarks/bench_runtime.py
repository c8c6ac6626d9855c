"""Runtime benchmark: end-to-end latency and frame delivery of the real server, measured by real clients.

1. Latency, audio sample in → motion frame out, at default settings: a websocket client pushes avatar
   speech in real time (20 ms chunks) and times the motion frame that contains each chunk's last sample
   (client clock, both ends on this machine). The server's own per-stage breakdown (status message) is
   recorded beside it.
2. Frame delivery with 1 and with 32 connected clients, side by side in one run: frames received, missing
   indices, inter-arrival jitter, and latency seen by one client. The extra clients run in a child process
   (as separate client apps would), so their JSON decoding does not share the server's interpreter.

    .venv/bin/python benchmarks/bench_runtime.py [--seconds 20] [--clients 32] [--out benchmarks/results/runtime.json]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from af_plugin.config import load_config  # noqa: E402
from af_plugin.constants import FPS, SAMPLE_RATE, SAMPLES_PER_FRAME  # noqa: E402
from af_plugin.runtime.app import build_app, run_app  # noqa: E402

CHUNK = SAMPLE_RATE // 50  # 20 ms pushes, like a real-time audio callback
SHARED_SPEECH = Path(__file__).resolve().parents[2] / "shared" / "data" / "hdtf_radio31_16k.wav"


def speech(seconds: float) -> np.ndarray:
    if SHARED_SPEECH.is_file():
        from af_plugin.perception.audio import load_audio

        x = load_audio(SHARED_SPEECH)
        return np.resize(x, int(seconds * SAMPLE_RATE)).astype(np.float32)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (0.3 * np.sign(np.sin(2 * np.pi * 140 * t)) * (np.sin(2 * np.pi * 1.5 * t) > 0)).astype(np.float32)


def pcm(x: np.ndarray) -> str:
    return base64.b64encode((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes()).decode()


def pct(values, q) -> float | None:
    return round(float(np.percentile(values, q)), 2) if len(values) else None


async def push_realtime(ws, voice: np.ndarray, sent_at: list[float]) -> None:
    """Push ``voice`` in 20 ms chunks on a real-time schedule; record when each chunk left."""
    t0 = time.perf_counter()
    for c in range(len(voice) // CHUNK):
        await asyncio.sleep(max(0.0, t0 + c * CHUNK / SAMPLE_RATE - time.perf_counter()))
        await ws.send(json.dumps({"type": "audio", "role": "avatar", "data": pcm(voice[c * CHUNK : (c + 1) * CHUNK])}))
        sent_at.append(time.perf_counter())


async def watcher(url: str, seconds: float, results: dict, ready: asyncio.Event | None = None, *, audio: bool = False):
    """A client recording (frame index, arrival time) of every motion frame (and avatar audio frames)."""
    async with websockets.connect(url, max_queue=None) as ws:
        await ws.recv()  # hello
        streams = ["motion", "audio"] if audio else ["motion"]
        await ws.send(json.dumps({"type": "subscribe", "streams": streams}))
        if ready is not None:
            ready.set()
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            try:
                msg = await asyncio.wait_for(ws.recv(), max(0.01, end - time.perf_counter()))
            except TimeoutError:
                break
            now = time.perf_counter()
            d = json.loads(msg)
            if d["type"] == "motion":
                results.setdefault("motion", {})[d["frame"]] = now
            elif d["type"] == "audio":
                samples = np.frombuffer(base64.b64decode(d["data"]), "<i2")
                results.setdefault("audio", {})[d["frame"]] = int(np.abs(samples).max())
        results["ws"] = None


def delivery(motion: dict[int, float]) -> dict:
    if not motion:
        return {"frames": 0}
    idx = sorted(motion)
    missing = (idx[-1] - idx[0] + 1) - len(idx)
    gaps = np.diff([motion[i] for i in idx]) * 1000
    return {
        "frames": len(idx),
        "missing": int(missing),
        "fps": round((len(idx) - 1) / (motion[idx[-1]] - motion[idx[0]]), 2) if len(idx) > 1 else None,
        "interarrival_ms_p50": pct(gaps, 50),
        "interarrival_ms_p95": pct(gaps, 95),
        "interarrival_ms_max": round(float(gaps.max()), 2) if len(gaps) else None,
    }


def latencies(results: dict, sent_at: list[float], skip_s: float = 2.0) -> list[float]:
    """Client-side e2e: motion arrival of frame F0+j minus the send time of the chunk holding its last sample."""
    audio = results.get("audio", {})
    if not audio:
        return []
    f0 = min(audio)  # frames carry avatar audio only once pushing starts: the first one holds samples 0..639
    per_frame = SAMPLES_PER_FRAME // CHUNK
    out = []
    for f, arrival in results.get("motion", {}).items():
        j = f - f0
        last_chunk = (j + 1) * per_frame - 1
        if j >= int(skip_s * FPS) and 0 <= last_chunk < len(sent_at):
            out.append(1000.0 * (arrival - sent_at[last_chunk]))
    return out


async def scenario(n_clients: int, seconds: float, overrides: dict) -> dict:
    cfg = load_config(overrides={"server.port": 0, "server.max_sessions": 2} | overrides)
    app = build_app(cfg)
    started = asyncio.Event()
    task = asyncio.create_task(run_app(app, stop_when_finished=False, handle_signals=False,
                                       on_ready=lambda _: started.set()))  # fmt: skip
    await started.wait()
    url = app.server.url
    try:
        main_results: dict = {}
        ready = asyncio.Event()
        tasks = [asyncio.create_task(watcher(url, seconds + 1.5, main_results, ready, audio=True))]
        others = None
        if n_clients > 1:  # the other clients live in their own process, as real client apps would
            others = await asyncio.create_subprocess_exec(
                sys.executable, __file__, "--watch", url, "--clients", str(n_clients - 1), "--seconds", str(seconds + 1.5),
                stdout=asyncio.subprocess.PIPE,
            )  # fmt: skip
            assert (await others.stdout.readline()).strip() == b"ready"
        await ready.wait()
        await asyncio.sleep(0.5)
        sent_at: list[float] = []
        async with websockets.connect(url) as pusher:
            await pusher.recv()
            await push_realtime(pusher, speech(seconds), sent_at)
        await asyncio.gather(*tasks)
        other_delivery = json.loads((await others.communicate())[0]) if others is not None else []
        status = app.engine.session_status("default")
    finally:
        app.engine.request_stop()
        await task
    lat = latencies(main_results, sent_at)
    all_delivery = [delivery(main_results.get("motion", {}))] + other_delivery
    return {
        "clients": n_clients,
        "e2e_latency_ms": {
            "p50": pct(lat, 50),
            "p95": pct(lat, 95),
            "max": round(max(lat), 2) if lat else None,
            "n": len(lat),
        },  # fmt: skip
        "server_stages_ms": status["latency_ms"],
        "late_ticks": status["late_ticks"],
        "delivery_first_client": all_delivery[0],
        "delivery_all_clients": {
            "min_frames": min(d["frames"] for d in all_delivery),
            "total_missing": sum(d.get("missing", 0) for d in all_delivery),
            "worst_interarrival_ms_p95": max((d.get("interarrival_ms_p95") or 0) for d in all_delivery),
        },
        "model": status["model"],
    }


def machine() -> dict:
    import torch

    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.is_available(),
        "load_average_at_start": os.getloadavg(),
        "note": "2-core CPU shared with other jobs (contended); client and server on the same machine",
    }


async def watch_many(url: str, n: int, seconds: float) -> None:
    """Child-process mode: n watcher clients; prints "ready" once subscribed, then their delivery as JSON."""
    results = [dict() for _ in range(n)]
    events = [asyncio.Event() for _ in range(n)]
    tasks = [asyncio.create_task(watcher(url, seconds, r, e)) for r, e in zip(results, events)]
    for e in events:
        await e.wait()
    print("ready", flush=True)
    await asyncio.gather(*tasks)
    print(json.dumps([delivery(r.get("motion", {})) for r in results]), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "runtime.json")
    ap.add_argument("--set", action="append", default=[], help="config override for both runs (key=value)")
    ap.add_argument("--watch", metavar="URL", help=argparse.SUPPRESS)  # child-process mode for the extra clients
    args = ap.parse_args()
    if args.watch:
        asyncio.run(watch_many(args.watch, args.clients, args.seconds))
        return
    from af_plugin.config import parse_override

    overrides = dict(parse_override(s) for s in args.set)
    info = machine()
    runs = {}
    for n in (1, args.clients):  # side by side in one run
        print(f"running with {n} client(s) for {args.seconds:.0f} s…", flush=True)
        runs[f"clients_{n}"] = asyncio.run(scenario(n, args.seconds, overrides))
        r = runs[f"clients_{n}"]
        print(f"  e2e latency p50 {r['e2e_latency_ms']['p50']} ms, p95 {r['e2e_latency_ms']['p95']} ms; "
              f"min frames/client {r['delivery_all_clients']['min_frames']}, "
              f"missing {r['delivery_all_clients']['total_missing']}, "
              f"worst inter-arrival p95 {r['delivery_all_clients']['worst_interarrival_ms_p95']} ms", flush=True)  # fmt: skip
    one, many = runs["clients_1"], runs[f"clients_{args.clients}"]
    ratio = None
    if one["e2e_latency_ms"]["p50"] and many["e2e_latency_ms"]["p50"]:
        ratio = round(many["e2e_latency_ms"]["p50"] / one["e2e_latency_ms"]["p50"], 3)
    result = {
        "benchmark": "runtime",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": info,
        "settings": {"seconds": args.seconds, "overrides": overrides, "push_chunk_ms": 1000 * CHUNK / SAMPLE_RATE},
        "runs": runs,
        "latency_p50_ratio_many_vs_one_client": ratio,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"p50 latency with {args.clients} clients / 1 client: {ratio}; wrote {args.out}")


if __name__ == "__main__":
    main()
