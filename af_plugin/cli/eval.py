"""`af eval`: reactiveness, richness, FD, lip-sync and drift of the model against baselines on held-out data."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from af_plugin.errors import ConfigError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "eval",
        help="score the model and baselines on held-out conversations (rPCC, SID, Var, FD, lip-sync, drift)",
        description="Score the model, its ablations and baselines on the held-out split of corpus directories. "
        "Writes <out>/<tag>.json, <tag>.md and <tag>_plots/*.png. Definitions: docs/evaluation.md.",
    )
    p.add_argument(
        "--data",
        action="append",
        required=True,
        metavar="DIR",
        help="corpus directory (af data synth / af data build); repeat for several sets",
    )
    p.add_argument("--checkpoint", help="model checkpoint (.safetensors); default: the shipped model")
    p.add_argument("--checkpoint-no-dpo", metavar="PATH", help="the same model before DPO, as a baseline")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--steps", type=int, help="denoising steps per block (default: the checkpoint's)")
    p.add_argument("--lookahead", type=int, help="lookahead frames (default: the checkpoint's)")
    p.add_argument("--block-sizes", default="1,2,5,10", help="block-size baselines, comma-separated")
    p.add_argument("--mirror-delay", type=float, default=0.5, metavar="S", help="delay of the mirroring baseline")
    p.add_argument("--roles", default="a", choices=("a", "b", "ab"), help="which party plays the avatar")
    p.add_argument("--max-conversations", type=int, metavar="N")
    p.add_argument("--max-seconds", type=float, metavar="S", help="cut each conversation to S seconds")
    p.add_argument(
        "--drift-minutes", type=float, metavar="MIN", help="length of the one-session drift run (default 2; 0 skips)"
    )
    p.add_argument("--drift-window", type=float, default=60.0, metavar="S", help="drift scoring window")
    p.add_argument(
        "--hdtf",
        default="../shared/data/hdtf_katiehill_25fps.mp4",
        metavar="VIDEO",
        help="talking-head video for the lip-sync check ('' skips it)",
    )
    p.add_argument(
        "--parts", default="methods,hdtf,drift", help="what to run, comma-separated: methods (the table), hdtf, drift"
    )
    p.add_argument("--sid-clusters", type=int, default=40, metavar="K")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, metavar="N", help="torch CPU threads (the shared CPU wants 1)")
    p.add_argument("--out", default="benchmarks/results", metavar="DIR", help="where files go ('' writes none)")
    p.add_argument("--tag", help="file name stem (default eval, or eval_quick with --quick)")
    p.add_argument(
        "--quick", action="store_true", help="2 conversations × 6 s, blocks 1 and 10, 12 s drift, no HDTF: a smoke run"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout (progress on stderr)")
    p.set_defaults(func=run)


def load_generator(checkpoint: str | None, **options):
    """StreamingGenerator.load with the options the user set (None keeps the checkpoint's value)."""
    from af_plugin.model.streaming import StreamingGenerator

    return StreamingGenerator.load(checkpoint=checkpoint, **{k: v for k, v in options.items() if v is not None})


def _block_sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise ConfigError("--block-sizes", f"{text!r} is not a comma-separated list of integers") from None
    if any(b < 1 for b in sizes):
        raise ConfigError("--block-sizes", f"block sizes must be ≥ 1, got {text!r}")
    return sizes


def settings_from_args(args: argparse.Namespace):
    from af_plugin.evaluation.suite import EvalSettings

    for d in args.data:
        if not Path(d).is_dir():
            raise ConfigError("--data", f"{d} is not a directory; build one with `af data synth --out {d}`")
    hdtf = args.hdtf or None
    if hdtf and not Path(hdtf).is_file():
        print(f"af eval: {hdtf} not found; skipping the HDTF lip-sync check", file=sys.stderr)
        hdtf = None
    quick = args.quick
    return EvalSettings(
        data=list(args.data),
        checkpoint=args.checkpoint,
        checkpoint_no_dpo=args.checkpoint_no_dpo,
        block_sizes=_block_sizes("1,10" if quick and args.block_sizes == "1,2,5,10" else args.block_sizes),
        mirror_delay_s=args.mirror_delay,
        roles=args.roles,
        max_conversations=args.max_conversations or (2 if quick else None),
        max_seconds=args.max_seconds or (6.0 if quick else None),
        drift_minutes=args.drift_minutes if args.drift_minutes is not None else (0.2 if quick else 2.0),
        drift_window_s=min(args.drift_window, 6.0) if quick else args.drift_window,
        hdtf_video=None if quick and args.hdtf == "../shared/data/hdtf_katiehill_25fps.mp4" else hdtf,
        sid_clusters=args.sid_clusters,
        seed=args.seed,
        generator_options={"device": args.device, "steps": args.steps, "lookahead": args.lookahead},
        out_dir=args.out or None,
        tag=args.tag or ("eval_quick" if quick else "eval"),
        curve_plots=1 if quick else 2,
        parts=tuple(x.strip() for x in args.parts.split(",") if x.strip()),
    )


def run(args: argparse.Namespace) -> int:
    from af_plugin.evaluation import report
    from af_plugin.evaluation.suite import run_suite

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    settings = settings_from_args(args)

    def progress(msg: str) -> None:
        print(f"af eval: {msg}", file=sys.stderr, flush=True)

    result = run_suite(settings, load_generator, progress)
    if args.json:
        print(json.dumps(report.to_jsonable(result)))
    else:
        print(report.markdown_report(result))
        for name, path in (result.get("files") or {}).items():
            print(f"  {name}: {path}")
    return 0
