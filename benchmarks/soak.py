"""Soak test: one ``af run`` with looping file sources, 32 websocket clients, Live Link + VMC outputs, for a while.

    .venv/bin/python benchmarks/soak.py --duration 600            # 10 minutes (the default)
    .venv/bin/python benchmarks/soak.py --duration 3600 --clients 32 --out benchmarks/results/soak_1h.json

Not part of the test suite. Every ``--interval`` seconds it records the server process's RSS, open file
descriptors and threads, each client's frame-interval percentiles, index gaps and drops, the UDP packets the
Live Link / VMC receivers got, and the runtime's own per-stage latency (from the ``status`` stream). At the
end it prints a verdict:

* RSS growth after warm-up < 5 %;
* p99 frame interval < 60 ms for clients that keep up;
* zero index gaps for clients that keep up.

A client "keeps up" when the server never had to drop anything for it (no gaps it could have caused: it
reads in its own task and never stalls). Linux only (reads /proc). Results go to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import signal
import socket
import struct
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import websockets

REPO = Path(__file__).resolve().parents[1]
USER_AUDIO = REPO.parent / "shared" / "data" / "hdtf_radio31_16k.wav"
AVATAR_AUDIO = REPO / "af_plugin" / "assets" / "sample_conversation" / "a.flac"


# --- the server process -------------------------------------------------------------------------------------


def proc_stats(pid: int) -> dict:
    status = Path(f"/proc/{pid}/status").read_text()
    rss_kb = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
    threads = int(re.search(r"Threads:\s+(\d+)", status).group(1))
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    return {"rss_mb": round(rss_kb / 1024, 1), "threads": threads, "fds": fds}


def start_server(args, livelink_port: int, vmc_port: int) -> tuple[subprocess.Popen, str]:
    user = args.user_audio or USER_AUDIO
    avatar = args.avatar_audio or AVATAR_AUDIO
    cmd = [sys.executable, "-m", "af_plugin", "run", "--ws", "127.0.0.1:0", "--loop",
           "--user-audio", str(user), "--avatar-audio", str(avatar),
           "--livelink", f"127.0.0.1:{livelink_port}", "--vmc", f"127.0.0.1:{vmc_port}",
           "--set", f"server.max_sessions={max(8, args.sessions)}", *args.af_args]  # fmt: skip
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    url = None
    for line in proc.stdout:
        print("  af:", line.rstrip(), flush=True)
        m = re.search(r"websocket: (ws://\S+)", line)
        if m:
            url = m.group(1)
        if line.startswith("running"):
            break
    if url is None:
        raise SystemExit("af run did not start")
    return proc, url


# --- clients ------------------------------------------------------------------------------------------------


@dataclass
class Client:
    name: str
    fmt: str
    streams: list[str]
    indices: list[int] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)
    jpegs: int = 0
    closed: str | None = None
    window_start: int = 0

    def on_frame(self, index: int) -> None:
        self.indices.append(index)
        self.arrivals.append(time.perf_counter())

    def gaps(self, start: int = 0) -> int:
        idx = np.asarray(self.indices[start:])
        return int(np.sum(np.maximum(np.diff(idx) - 1, 0))) if len(idx) > 1 else 0

    def intervals_ms(self, start: int = 0) -> np.ndarray:
        return np.diff(np.asarray(self.arrivals[start:])) * 1000.0


async def run_client(url: str, c: Client, stop: asyncio.Event, status_log: list) -> None:
    try:
        async with websockets.connect(url, max_size=None, ping_interval=None) as ws:
            await ws.recv()
            await ws.send(json.dumps({"type": "subscribe", "streams": c.streams, "format": c.fmt}))
            while not stop.is_set():
                msg = await ws.recv()
                if isinstance(msg, bytes):
                    c.on_frame(struct.unpack_from("<I", msg)[0])
                    continue
                kind = msg[8:18]  # {"type":"motion",... classified without parsing every message
                if kind.startswith('"motion"'):
                    c.on_frame(int(re.search(r'"frame":(\d+)', msg).group(1)))
                elif kind.startswith('"frame"'):
                    c.jpegs += 1
                elif kind.startswith('"status"'):
                    status_log.append((time.perf_counter(), json.loads(msg)))
    except websockets.ConnectionClosed as e:
        c.closed = f"{e.rcvd.code if e.rcvd else '?'} {e.rcvd.reason if e.rcvd else ''}"


def make_clients(n: int) -> list[Client]:
    """Mixed: JSON and binary motion, some with audio/latent, a few with rendered frames, one with status."""
    out = []
    for i in range(n):
        if i == 0:
            out.append(Client(f"c{i:02d}-status", "json", ["motion", "status"]))
        elif i % 8 == 1:
            out.append(Client(f"c{i:02d}-frames", "json", ["motion", "frames"]))
        elif i % 2 == 0:
            out.append(Client(f"c{i:02d}-binary", "binary", ["motion"] + (["audio"] if i % 4 == 0 else [])))
        else:
            out.append(Client(f"c{i:02d}-json", "json", ["motion"] + (["latent"] if i % 3 == 0 else ["audio"])))
    return out


# --- UDP receivers ------------------------------------------------------------------------------------------


class UdpCounter(asyncio.DatagramProtocol):
    def __init__(self, livelink: bool) -> None:
        self.packets = 0
        self.livelink = livelink
        self.frames: list[int] = []

    def datagram_received(self, data: bytes, addr) -> None:
        self.packets += 1
        if self.livelink:
            n_dev = struct.unpack_from(">i", data, 1)[0]
            n_subj = struct.unpack_from(">i", data, 5 + n_dev)[0]
            self.frames.append(struct.unpack_from(">i", data, 9 + n_dev + n_subj)[0])


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- main ---------------------------------------------------------------------------------------------------


def pct(x: np.ndarray, q: float) -> float:
    return round(float(np.percentile(x, q)), 1) if len(x) else float("nan")


async def soak(args) -> dict:
    livelink_port, vmc_port = free_udp_port(), free_udp_port()
    loop = asyncio.get_running_loop()
    ll_t, ll = await loop.create_datagram_endpoint(lambda: UdpCounter(True), local_addr=("127.0.0.1", livelink_port))
    vmc_t, vmc = await loop.create_datagram_endpoint(lambda: UdpCounter(False), local_addr=("127.0.0.1", vmc_port))
    for t in (ll_t, vmc_t):
        t.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    proc, url = await asyncio.to_thread(start_server, args, livelink_port, vmc_port)
    clients = make_clients(args.clients)
    stop = asyncio.Event()
    status_log: list = []
    tasks = [asyncio.create_task(run_client(url, c, stop, status_log)) for c in clients]
    samples = []
    t0 = time.perf_counter()
    try:
        while time.perf_counter() - t0 < args.duration:
            await asyncio.sleep(args.interval)
            elapsed = time.perf_counter() - t0
            stats = proc_stats(proc.pid)
            window = []
            for c in clients:
                iv = c.intervals_ms(c.window_start)
                window.append({"p50": pct(iv, 50), "p99": pct(iv, 99), "max": pct(iv, 100),
                               "frames": len(c.indices) - c.window_start, "gaps": c.gaps(max(0, c.window_start - 1))})  # fmt: skip
                c.window_start = len(c.indices)
            latest = status_log[-1][1] if status_log else {}
            lat = latest.get("latency_ms", {})
            sample = {
                "t_s": round(elapsed, 1), **stats,
                "clients_open": sum(c.closed is None for c in clients),
                "frames_per_client_min": min(w["frames"] for w in window),
                "interval_p50_ms_median": pct(np.array([w["p50"] for w in window]), 50),
                "interval_p99_ms_worst": max(w["p99"] for w in window),
                "interval_max_ms_worst": max(w["max"] for w in window),
                "gaps_in_window": sum(w["gaps"] for w in window),
                "livelink_packets": ll.packets, "vmc_packets": vmc.packets,
                "generate_ms": lat.get("generate"), "audio_to_sent_ms": lat.get("audio_to_sent"),
                "late_ticks": latest.get("late_ticks"), "backlog_frames": latest.get("backlog_frames"),
            }  # fmt: skip
            samples.append(sample)
            g = sample["generate_ms"] or {}
            print(f"{elapsed:7.0f}s rss {stats['rss_mb']:7.1f} MB fds {stats['fds']:3d} thr {stats['threads']:3d} "
                  f"| open {sample['clients_open']:2d} frames/client >= {sample['frames_per_client_min']:4d} "
                  f"p50 {sample['interval_p50_ms_median']:5.1f} p99(worst) {sample['interval_p99_ms_worst']:6.1f} ms "
                  f"gaps {sample['gaps_in_window']:3d} | gen p50 {g.get('p50', float('nan')):6.1f} ms "
                  f"late ticks {sample['late_ticks']}", flush=True)  # fmt: skip
    finally:
        stop.set()
        proc.send_signal(signal.SIGINT)
        out, _ = await asyncio.to_thread(proc.communicate, timeout=120)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        ll_t.close()
        vmc_t.close()
    return verdict(args, samples, clients, ll, proc.returncode, out)


def verdict(args, samples: list[dict], clients: list[Client], ll: UdpCounter, rc: int, tail: str) -> dict:
    warm = [s for s in samples if s["t_s"] >= args.warmup] or samples
    rss0, rss1 = warm[0]["rss_mb"], samples[-1]["rss_mb"]
    growth = (rss1 - rss0) / rss0 * 100
    skip = int(args.warmup * 25)  # frames of warm-up left out of the client figures
    per_client = []
    for c in clients:
        iv = c.intervals_ms(skip) if len(c.arrivals) > skip + 1 else c.intervals_ms()
        per_client.append({"client": c.name, "frames": len(c.indices), "gaps": c.gaps(skip), "p50_ms": pct(iv, 50),
                           "p99_ms": pct(iv, 99), "max_ms": pct(iv, 100), "closed": c.closed,
                           "jpegs": c.jpegs})  # fmt: skip
    healthy = [p for p in per_client if p["closed"] is None]
    ll_frames = np.asarray(ll.frames)
    result = {
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "note": args.note,
        },  # fmt: skip
        "config": {
            "duration_s": args.duration,
            "clients": args.clients,
            "warmup_s": args.warmup,
            "af_args": args.af_args,
        },  # fmt: skip
        "rss_mb": {"after_warmup": rss0, "end": rss1, "growth_pct": round(growth, 2)},
        "fds": {"after_warmup": warm[0]["fds"], "end": samples[-1]["fds"]},
        "threads": {"after_warmup": warm[0]["threads"], "end": samples[-1]["threads"]},
        "clients": per_client,
        "livelink": {
            "packets": ll.packets,
            "frame_gaps": int(np.sum(np.maximum(np.diff(ll_frames) - 1, 0))) if len(ll_frames) > 1 else 0,
        },  # fmt: skip
        "samples": samples,
        "exit_code": rc,
        "checks": {
            "rss_growth_below_5pct": growth < 5.0,
            "p99_interval_below_60ms": all(p["p99_ms"] < 60 for p in healthy),
            "zero_gaps_for_clients_keeping_up": all(p["gaps"] == 0 for p in healthy),
            "no_client_disconnected": len(healthy) == len(per_client),
            "clean_exit": rc == 0,
        },
    }
    print("\n=== verdict ===")
    print(f"RSS {rss0} -> {rss1} MB after warm-up ({growth:+.2f} %); fds {result['fds']}; threads {result['threads']}")
    p99 = [p["p99_ms"] for p in healthy]
    print(f"clients open {len(healthy)}/{len(per_client)}; p99 frame interval median {np.median(p99):.1f} ms, "
          f"worst {max(p99):.1f} ms; gaps total {sum(p['gaps'] for p in healthy)}")  # fmt: skip
    print(f"Live Link packets {ll.packets} (gaps {result['livelink']['frame_gaps']}); af exit code {rc}")
    for name, ok in result["checks"].items():
        print(f"  {'PASS' if ok else 'FAIL'}  {name}")
    print("af tail:", tail.strip().splitlines()[-1:] if tail else "")
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--duration", type=float, default=600.0, help="seconds (default 600)")
    p.add_argument("--clients", type=int, default=32)
    p.add_argument("--sessions", type=int, default=1, help="(reserved) sessions; clients all watch 'default'")
    p.add_argument("--interval", type=float, default=10.0, help="seconds between samples")
    p.add_argument("--warmup", type=float, default=60.0, help="seconds left out of the RSS growth and client figures")
    p.add_argument("--user-audio", type=Path, help=f"default {USER_AUDIO}")
    p.add_argument("--avatar-audio", type=Path, help=f"default {AVATAR_AUDIO}")
    p.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "soak.json")
    p.add_argument("--note", default="", help="machine note stored with the result (e.g. '2-core shared CPU')")
    p.add_argument("af_args", nargs="*", help="extra `af run` arguments after --, e.g. -- --set model.steps=2")
    args = p.parse_args(argv)
    result = asyncio.run(soak(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(f"wrote {args.out}")
    return 0 if all(result["checks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
