"""Model speed: ms per block and real-time factor per block size, KV cache vs recompute, batched sessions.

    .venv/bin/python benchmarks/bench_model.py [--checkpoint CKPT] [--threads 2] [--seconds 3]

Writes benchmarks/results/model.json with the machine it ran on. Every ratio is measured side by side in
this one run. RTF = compute time per block / the block's duration (block × 40 ms); < 1 is real time.
The shipped default model is used when present, else a random network of the same configuration
(same arithmetic, so the same speed).
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from af_plugin.constants import AUDIO_FEATURE_DIM, FPS
from af_plugin.evaluation.machine import describe, machine_info
from af_plugin.model.streaming import StreamingGenerator

OUT = Path(__file__).resolve().parent / "results" / "model.json"


def _inputs(frames: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    feats = lambda: (rng.normal(size=(frames, AUDIO_FEATURE_DIM)) * 0.3 - 0.5).astype(np.float32)  # noqa: E731
    motion = (0.05 * rng.normal(size=(frames, 62))).astype(np.float32)
    return feats(), feats(), motion


def time_blocks(gen: StreamingGenerator, sessions: int, seconds: float, warm_frames: int) -> tuple[float, int]:
    """(ms per step, frames per step) in the steady state: each session's history already fills the context."""
    ss = []
    for i in range(sessions):
        s = gen.open_session(seed=i, session_id=f"b{i}")
        ua, aa, um = _inputs(warm_frames + 4000, seed=i)
        s.push(user_audio=ua, avatar_audio=aa, user_motion=um)
        ss.append(s)
    while ss[0].generated_frames < warm_frames:
        gen.step(ss)
    times = []
    t_end = time.perf_counter() + seconds
    while time.perf_counter() < t_end or len(times) < 3:
        t = time.perf_counter()
        gen.step(ss)
        times.append(time.perf_counter() - t)
    for s in ss:
        gen.close_session(s)
    return 1000 * float(np.median(times)), gen.block_size * sessions


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", default=None)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seconds", type=float, default=3.0, help="timing per measurement")
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        base = StreamingGenerator.load(args.checkpoint, device="cpu")
    net = base.net
    cfg = net.cfg
    field = cfg.dfot.n_layers * cfg.dfot.context  # history frames that fill the receptive field
    info = machine_info()
    print(f"machine: {describe(info)}")
    print(f"model: d={cfg.dfot.d_model} layers={cfg.dfot.n_layers} context={cfg.dfot.context} "
          f"params={sum(p.numel() for p in net.parameters()) / 1e6:.2f}M; steps={base.steps}+1, 3 CFG branches")  # fmt: skip
    res: dict = {"machine": info, "model": {"config": cfg.to_dict(), "checkpoint": str(args.checkpoint or "default"),
                 "params": sum(p.numel() for p in net.parameters())}, "steps": base.steps}  # fmt: skip

    res["block_sizes"] = {}
    print("\nblock  lookahead  ms/block  RTF    latency(ms) = (block+lookahead)*40 + compute")
    for b in (1, 2, 5, 10):
        gen = StreamingGenerator(net, block_size=b, lookahead=1)
        ms, _ = time_blocks(gen, 1, args.seconds, warm_frames=cfg.dfot.context + 10)
        rtf = ms / (b * 1000 / FPS)
        lat = (b + 1) * 1000 / FPS + ms
        res["block_sizes"][str(b)] = {"ms_per_block": round(ms, 2), "rtf": round(rtf, 3), "latency_ms": round(lat, 1)}
        print(f"{b:5d}  {1:9d}  {ms:8.1f}  {rtf:5.2f}  {lat:8.0f}")

    print(f"\nKV cache vs recompute (block 2, steady state: {field} frames of history)")
    kv = {}
    for mode in (True, False):
        gen = StreamingGenerator(net, block_size=2, lookahead=1, kv_cache=mode)
        kv[mode], _ = time_blocks(gen, 1, args.seconds, warm_frames=field + 4)
    res["kv_cache"] = {"block_size": 2, "history_frames": field, "ms_cached": round(kv[True], 2),
                       "ms_recompute": round(kv[False], 2), "speedup": round(kv[False] / kv[True], 2)}  # fmt: skip
    print(f"cached {kv[True]:.1f} ms   recompute {kv[False]:.1f} ms   speed-up x{kv[False] / kv[True]:.1f}")

    print("\nbatched sessions (block 2): frames per second generated in total")
    res["sessions"] = {}
    for n in (1, 8, 64):
        gen = StreamingGenerator(net, block_size=2, lookahead=1)
        ms, frames = time_blocks(gen, n, args.seconds, warm_frames=cfg.dfot.context + 4)
        fps = frames / (ms / 1000)
        res["sessions"][str(n)] = {"ms_per_step": round(ms, 2), "fps_total": round(fps, 1),
                                   "realtime_sessions": round(fps / FPS, 1)}  # fmt: skip
        print(f"{n:3d} sessions: {ms:7.1f} ms/step  {fps:8.0f} frames/s  = {fps / FPS:5.1f} real-time sessions")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=1) + "\n")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
