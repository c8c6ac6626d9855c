"""`af bench`: latency, generator cost, KV-cache speed-up, batched sessions, renderer and tracker speed."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

DEFAULT_VIDEO = "../shared/data/hdtf_katiehill_25fps.mp4"
DEFAULT_VOICE = "../shared/data/hdtf_radio31_16k.wav"
DEFAULT_USER_VOICE = DEFAULT_VIDEO  # its audio track
DEFAULT_PORTRAIT = "../shared/data/astronaut.png"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "bench",
        help="measure latency, generator speed, KV-cache speed-up, batched sessions, renderer and tracker fps",
        description="Measure the runtime's speed on this machine and write <out>/<tag>.json with the machine. "
        "Definitions: docs/evaluation.md.",
    )
    p.add_argument("--checkpoint", help="model checkpoint (.safetensors); default: the shipped model")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--block-size", type=int, help="block size (default: the checkpoint's)")
    p.add_argument("--lookahead", type=int, help="lookahead frames (default: the checkpoint's)")
    p.add_argument("--steps", type=int, help="denoising steps per block (default: the checkpoint's)")
    p.add_argument("--sessions", default="1,8,64", help="batched session counts, comma-separated")
    p.add_argument("--seconds", type=float, help="audio fed through the latency clock (default 20, quick 3)")
    p.add_argument("--threads", type=int, metavar="N", help="torch CPU threads")
    p.add_argument("--video", default=DEFAULT_VIDEO, help="video for the tracker ('' skips it)")
    p.add_argument("--voice", default=DEFAULT_VOICE, help="avatar speech for the latency runs ('' = synthetic)")
    p.add_argument("--user-voice", default=DEFAULT_USER_VOICE, help="user speech (audio or video file)")
    p.add_argument("--portrait", default=DEFAULT_PORTRAIT, help="photo for the portrait renderer ('' skips it)")
    p.add_argument("--out", default="benchmarks/results", metavar="DIR", help="where the JSON goes ('' writes none)")
    p.add_argument("--tag", help="file name stem (default bench, or bench_quick with --quick)")
    p.add_argument("--quick", action="store_true", help="few blocks and frames: a smoke run")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout (progress on stderr)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from af_plugin.cli.eval import load_generator
    from af_plugin.errors import ConfigError
    from af_plugin.evaluation import report
    from af_plugin.evaluation.benchsuite import BenchSettings, run_bench
    from af_plugin.evaluation.machine import describe

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    try:
        counts = tuple(int(x) for x in args.sessions.split(",") if x.strip())
    except ValueError:
        raise ConfigError("--sessions", f"{args.sessions!r} is not a comma-separated list of integers") from None
    settings = BenchSettings(
        checkpoint=args.checkpoint,
        generator_options={
            "device": args.device,
            "block_size": args.block_size,
            "lookahead": args.lookahead,
            "steps": args.steps,
        },
        session_counts=counts,
        seconds=args.seconds or (3.0 if args.quick else 20.0),
        quick=args.quick,
        video=args.video if args.video and Path(args.video).is_file() else None,
        voice=args.voice if args.voice and Path(args.voice).is_file() else None,
        user_voice=args.user_voice if args.user_voice and Path(args.user_voice).is_file() else None,
        portrait=args.portrait if args.portrait and Path(args.portrait).is_file() else None,
    )

    def progress(msg: str) -> None:
        print(f"af bench: {msg}", file=sys.stderr, flush=True)

    result = run_bench(settings, load_generator, progress)
    if args.out:
        tag = args.tag or ("bench_quick" if args.quick else "bench")
        path = report.write_json(result, Path(args.out) / f"{tag}.json")
        progress(f"wrote {path}")
    if args.json:
        print(json.dumps(report.to_jsonable(result)))
    else:
        print(f"machine: {describe(result['machine'])}")
        for line in summary_lines(result):
            print(line)
    return 0


def summary_lines(r: dict) -> list[str]:
    def f(v, unit="", digits=1):
        return "–" if v is None else f"{v:.{digits}f}{unit}"

    lines = [
        f"latency audio→frame: p50 {f(r['latency_ms_p50'], ' ms')}, p95 {f(r['latency_ms_p95'], ' ms')} "
        f"({r.get('latency', {}).get('clock', '')}; block {r['model']['block_size']}, lookahead "
        f"{r['model']['lookahead']}, algorithmic {f(r.get('latency', {}).get('algorithmic_ms'), ' ms', 0)})",
        f"generator: {f(r['generator_ms_per_block'], ' ms')} per block, real-time factor {f(r['rtf'], '', 3)}",
        f"KV cache vs recompute: {f(r['kv_cache_speedup'], '×', 2)}",
        "batched sessions: " + ", ".join(f"{n} → {f(v, ' fps', 0)}" for n, v in (r["sessions_fps"] or {}).items()),
        f"renderer: {f(r['render_fps'], ' fps', 0)} stylized"
        + (
            f", {f(r['render']['portrait_512'], ' fps', 0)} portrait"
            if (r.get("render") or {}).get("portrait_512")
            else ""
        )
        + f"; tracker: {f(r['tracker_fps'], ' fps', 1)}",
    ]
    for b, lat in (r.get("latency_by_block") or {}).items():
        lines.append(f"  block {b}: latency p50 {f(lat['p50'], ' ms')}, p95 {f(lat['p95'], ' ms')}")
    return lines
