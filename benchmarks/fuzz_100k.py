"""Send 100,000 seeded fuzz messages to a real ``af run`` and check every reply (outside the test suite).

    .venv/bin/python benchmarks/fuzz_100k.py                    # 100,000 messages, seed 0
    .venv/bin/python benchmarks/fuzz_100k.py --messages 5000    # a quick run

Messages come from the mutation fuzzer in tests/test_fuzz_mutations.py (valid messages of every type, and
ones broken at the JSON, text and frame level). Each is followed by a ping; the replies up to its pong must
be exactly the error the sans-I/O parser predicts (or at most one state-dependent error for a valid one).
Workers rotate connections every 150 messages, below the server's abuse limit (200 errors in 10 s), so a
close would be a finding. Meanwhile a watcher client on the default session must see every frame.
Prints a summary and writes benchmarks/results/fuzz_100k.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import signal
import struct
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import websockets

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from test_fuzz_mutations import mutated_message, outcome  # noqa: E402 - the shared seeded fuzzer

from af_plugin.protocol.messages import ERROR_CODES  # noqa: E402

PER_CONNECTION = 150


def rss_mb(pid: int) -> float:
    return int(re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{pid}/status").read_text()).group(1)) / 1024


async def worker(url: str, rng: random.Random, count: int, stats: Counter, findings: list) -> None:
    sent = 0
    while sent < count:
        async with websockets.connect(url, max_size=None) as ws:
            await ws.recv()  # hello
            for _ in range(min(PER_CONNECTION, count - sent)):
                message = mutated_message(rng)
                expected = outcome(message)
                try:
                    await ws.send(message)
                    ping_id = f"p{sent}"
                    await ws.send(json.dumps({"type": "ping", "id": ping_id}))
                    errors = []
                    while True:
                        reply = await ws.recv()
                        if isinstance(reply, bytes):
                            continue
                        msg = json.loads(reply)
                        if msg["type"] == "pong" and msg.get("id") == ping_id:
                            break
                        if msg["type"] == "error":
                            errors.append(msg["code"])
                except websockets.ConnectionClosed as e:
                    findings.append({"message": str(message)[:200], "closed": str(e)})
                    stats["unexpected_close"] += 1
                    sent += 1
                    break
                sent += 1
                stats[expected] += 1
                bad_code = any(code not in ERROR_CODES for code in errors)
                if expected.startswith("ok:"):
                    wrong = len(errors) > 1 or bad_code
                    stats["ok_refused_by_state"] += bool(errors)
                else:
                    wrong = errors != [expected]
                if wrong:
                    stats["mismatch"] += 1
                    findings.append({"message": str(message)[:200], "expected": expected, "got": errors})


async def watcher(url: str, stop: asyncio.Event, out: dict) -> None:
    async with websockets.connect(url, max_size=None) as ws:
        await ws.recv()
        await ws.send(json.dumps({"type": "subscribe", "streams": ["motion"], "format": "binary",
                                  "session": "watch"}))  # fmt: skip
        indices = []
        while not stop.is_set():
            msg = await ws.recv()
            if isinstance(msg, bytes):
                indices.append(struct.unpack_from("<I", msg)[0])
        out["frames"] = len(indices)
        out["gaps"] = sum(max(0, b - a - 1) for a, b in zip(indices, indices[1:]))


async def main_async(args) -> dict:
    cmd = [sys.executable, "-m", "af_plugin", "run", "--ws", "127.0.0.1:0", "--set", "model.steps=1",
           "--set", "server.max_sessions=16"]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=dict(os.environ, PYTHONUNBUFFERED="1"))  # fmt: skip
    url = None
    for line in proc.stdout:
        m = re.search(r"websocket: (ws://\S+)", line)
        url = m.group(1) if m else url
        if line.startswith("running"):
            break
    rss_start = rss_mb(proc.pid)
    stats: Counter = Counter()
    findings: list = []
    stop = asyncio.Event()
    watch: dict = {}
    watch_task = asyncio.create_task(watcher(url, stop, watch))
    t0 = time.perf_counter()
    share = args.messages // args.workers
    counts = [share + (1 if i < args.messages % args.workers else 0) for i in range(args.workers)]
    await asyncio.gather(*(worker(url, random.Random(args.seed * 1000 + i), n, stats, findings)
                           for i, n in enumerate(counts)))  # fmt: skip
    wall = time.perf_counter() - t0
    alive = proc.poll() is None
    rss_end = rss_mb(proc.pid) if alive else float("nan")
    stop.set()
    await asyncio.sleep(0.2)
    watch_task.cancel()
    await asyncio.gather(watch_task, return_exceptions=True)
    proc.send_signal(signal.SIGINT)
    tail = proc.communicate(timeout=120)[0]
    total = sum(v for k, v in stats.items() if ":" in k or k in ERROR_CODES)
    return {
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(), "note": args.note},
        "messages": total, "seed": args.seed, "workers": args.workers, "wall_s": round(wall, 1),
        "messages_per_s": round(total / wall, 1), "outcomes": dict(sorted(stats.items())),
        "mismatches": stats["mismatch"], "unexpected_closes": stats["unexpected_close"],
        "server_alive_after": alive, "server_exit_code": proc.returncode,
        "server_rss_mb": {"start": round(rss_start, 1), "end": round(rss_end, 1)},
        "watcher": watch, "findings": findings[:50], "server_tail": tail.strip().splitlines()[-3:],
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--messages", type=int, default=100_000)
    p.add_argument("--workers", type=int, default=8, help="concurrent fuzzing connections")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--note", default="")
    p.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "fuzz_100k.json")
    args = p.parse_args(argv)
    result = asyncio.run(main_async(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(json.dumps({k: v for k, v in result.items() if k not in ("findings",)}, indent=1))
    ok = (result["mismatches"] == 0 and result["unexpected_closes"] == 0 and result["server_alive_after"]
          and result["watcher"].get("gaps") == 0)  # fmt: skip
    print("verdict:", "PASS" if ok else "FAIL", f"-> {args.out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
