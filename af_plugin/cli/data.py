"""`af data`: make training corpora in the shard format (docs/data.md).

af data synth --out DIR --hours H --seed S [--heldout-fraction F] [--workers N]
af data build --out DIR (--video-a V --video-b V | --side-by-side V --split left-right|top-bottom |
                         --livelink-a CSV --livelink-b CSV) [--audio-a WAV --audio-b WAV | --stereo-audio F]
af data sample --out DIR [--seed S] [--seconds T]     (the small demo conversation shipped with af)
af data info DIR                                       (summary of a dataset)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("data", help="make training data (synthetic corpus or from recordings)")
    sub = parser.add_subparsers(dest="data_command", metavar="ACTION")

    synth = sub.add_parser("synth", help="synthetic two-party conversations (espeak-ng speech + rule motion)")
    synth.add_argument("--out", required=True, type=Path, help="dataset directory (created; resumable)")
    synth.add_argument("--hours", required=True, type=float, help="total length of the corpus in hours")
    synth.add_argument("--seed", type=int, default=0, help="same seed → byte-identical corpus (default 0)")
    synth.add_argument("--heldout-fraction", type=float, default=0.1, help="conversations held out (0.1)")
    synth.add_argument("--workers", type=int, default=1, help="processes (default 1)")
    synth.set_defaults(func=_synth)

    build = sub.add_parser("build", help="a dataset from real recordings of two parties")
    build.add_argument("--out", required=True, type=Path, help="dataset directory (created; resumable)")
    build.add_argument("--id", default=None, help="conversation id (default: derived from the inputs)")
    build.add_argument("--video-a", type=Path, help="video of party a")
    build.add_argument("--video-b", type=Path, help="video of party b")
    build.add_argument("--side-by-side", type=Path, help="one video showing both parties")
    build.add_argument(
        "--split",
        choices=("left-right", "top-bottom"),
        default="left-right",
        help="how --side-by-side is divided: a is left/top, b is right/bottom",
    )
    build.add_argument("--livelink-a", type=Path, help="Live Link Face CSV of party a")
    build.add_argument("--livelink-b", type=Path, help="Live Link Face CSV of party b")
    build.add_argument("--audio-a", type=Path, help="audio of party a (any format ffmpeg/soundfile reads)")
    build.add_argument("--audio-b", type=Path, help="audio of party b")
    build.add_argument("--stereo-audio", type=Path, help="one stereo file: channel 0 = a, channel 1 = b")
    build.add_argument(
        "--split-name",
        choices=("train", "heldout"),
        default="train",
        help="which split this conversation goes to (default train)",
    )
    build.add_argument("--batch", type=Path, help="JSON-lines file, one conversation per line (see docs/data.md)")
    build.add_argument("--min-seconds", type=float, default=2.0, help="skip conversations shorter than this")
    build.set_defaults(func=_build)

    sample = sub.add_parser("sample", help="write the small sample conversation used by `af demo`")
    sample.add_argument("--out", required=True, type=Path)
    sample.add_argument("--seed", type=int, default=8)
    sample.add_argument("--seconds", type=float, default=25.0)
    sample.set_defaults(func=_sample)

    info = sub.add_parser("info", help="summarise a dataset directory")
    info.add_argument("dir", type=Path)
    info.set_defaults(func=_info)

    parser.set_defaults(func=lambda args: (parser.print_help(), 0)[1])


def _synth(args: argparse.Namespace) -> int:
    import time

    from af_plugin.training.synth import synth_corpus

    t0 = time.perf_counter()
    manifest = synth_corpus(args.out, args.hours, seed=args.seed, heldout_fraction=args.heldout_fraction,
                            workers=args.workers, progress=sys.stderr.isatty())  # fmt: skip
    convs = manifest["conversations"]
    held = sum(c["split"] == "heldout" for c in convs)
    print(f"wrote {len(convs)} conversations ({manifest['hours']:.3f} h; {held} heldout) to {args.out} "
          f"in {time.perf_counter() - t0:.1f} s")  # fmt: skip
    return 0


def _build(args: argparse.Namespace) -> int:
    from af_plugin.training.build import build_from_args

    report = build_from_args(args)
    for line in report.lines():
        print(line)
    return 0 if report.written or report.already_done else 1


def _sample(args: argparse.Namespace) -> int:
    from af_plugin.training.synth import write_sample

    path = write_sample(args.out, seed=args.seed, seconds=args.seconds)
    print(f"wrote sample conversation to {path}")
    return 0


def _info(args: argparse.Namespace) -> int:
    from af_plugin.training.shards import read_manifest

    m = read_manifest(args.dir)
    convs = m["conversations"]
    frames = sum(c["frames"] for c in convs)
    by_split: dict[str, int] = {}
    for c in convs:
        by_split[c["split"]] = by_split.get(c["split"], 0) + 1
    print(f"{args.dir}: {len(convs)} conversations, {frames / m['fps'] / 3600:.3f} h, splits {by_split}, "
          f"seed {m.get('seed')}")  # fmt: skip
    return 0
