"""Model speed: ms per block and real-time factor per block size, KV cache vs recompute, batched sessions.

    .venv/bin/python benchmarks/bench_model.py [--checkpoint CKPT] [--threads 2] [--blocks 30]

Writes benchmarks/results/model.json with the machine it ran on. The measuring functions are
af_plugin.evaluation.bench's, the same ones `af bench` uses. Every ratio is measured side by side in
this one run. RTF = compute time per block / the block's duration (block × 40 ms); < 1 is real time.
The shipped default model is used when present, else a random network of the same configuration
(same arithmetic, so the same speed).
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import torch

from af_plugin.constants import FPS
from af_plugin.evaluation.bench import generator_cost, kv_cache_speedup, sessions_fps
from af_plugin.evaluation.machine import describe, machine_info
from af_plugin.model.streaming import StreamingGenerator

OUT = Path(__file__).resolve().parent / "results" / "model.json"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", default=None)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--blocks", type=int, default=30, help="timed blocks per measurement")
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
        cost = generator_cost(StreamingGenerator(net, block_size=b, lookahead=1), blocks=args.blocks)
        ms, rtf = cost["ms_per_block"]["p50"], cost["rtf"]
        lat = (b + 1) * 1000 / FPS + ms
        res["block_sizes"][str(b)] = {"ms_per_block": round(ms, 2), "rtf": round(rtf, 3), "latency_ms": round(lat, 1)}
        print(f"{b:5d}  {1:9d}  {ms:8.1f}  {rtf:5.2f}  {lat:8.0f}")

    print(f"\nKV cache vs recompute (block 2, steady state: {field} frames of history, interleaved)")
    gen = StreamingGenerator(net, block_size=2, lookahead=1)
    kv = kv_cache_speedup(gen, lambda g, on: setattr(g, "kv_cache", on), blocks=args.blocks // 3,
                          history_blocks=field // 2 + 2)  # fmt: skip
    res["kv_cache"] = {"block_size": 2, **kv}
    print(f"cached {kv['cache_ms_per_block']:.1f} ms   recompute {kv['recompute_ms_per_block']:.1f} ms   "
          f"speed-up x{kv['speedup']:.1f}")  # fmt: skip

    print("\nbatched sessions (block 2): frames per second generated in total")
    fps_by_count = sessions_fps(StreamingGenerator(net, block_size=2, lookahead=1), (1, 8, 64))
    res["sessions"] = {n: {"fps_total": round(fps, 1), "realtime_sessions": round(fps / FPS, 1)}
                       for n, fps in fps_by_count.items()}  # fmt: skip
    for n, fps in fps_by_count.items():
        print(f"{n:>3} sessions: {fps:8.0f} frames/s  = {fps / FPS:5.1f} real-time sessions")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=1) + "\n")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
