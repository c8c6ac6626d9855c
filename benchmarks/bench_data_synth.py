"""Synthetic corpus speed: seconds of wall time per hour of corpus, 1 worker vs N workers, in one run.

    .venv/bin/python benchmarks/bench_data_synth.py [--hours 0.25] [--workers 2] [--out benchmarks/results/data_synth.json]

Both runs make the same corpus (same seed) into fresh temporary folders, so they do identical work; the
second line is the speed-up from multiprocessing. Also reports the share of time spent inside espeak-ng.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from af_plugin.evaluation.machine import machine_info  # noqa: E402
from af_plugin.training import synth_speech  # noqa: E402
from af_plugin.training.synth import synth_corpus  # noqa: E402


def run(hours: float, workers: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="af_bench_synth_") as tmp:
        t0 = time.perf_counter()
        manifest = synth_corpus(Path(tmp) / "c", hours, seed=0, workers=workers)
        wall = time.perf_counter() - t0
        size = sum(p.stat().st_size for p in Path(tmp).rglob("*") if p.is_file())
    return {
        "workers": workers,
        "corpus_hours": manifest["hours"],
        "conversations": len(manifest["conversations"]),
        "wall_s": round(wall, 2),
        "wall_s_per_corpus_hour": round(wall / manifest["hours"], 1),
        "megabytes_per_corpus_hour": round(size / 1e6 / manifest["hours"], 1),
    }


def espeak_share(n: int = 20) -> float:
    """Seconds of the espeak-ng command (incl. process start-up) per second of speech it produced."""
    import numpy as np

    rng = np.random.default_rng(0)
    voice = synth_speech.random_voice("en", rng)
    t0, audio_s = time.perf_counter(), 0.0
    for _ in range(n):
        audio_s += synth_speech.synthesize("I think the movie was really strange last week.", voice).duration
    return (time.perf_counter() - t0) / audio_s


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=0.25)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "data_synth.json")
    args = parser.parse_args()
    one = run(args.hours, 1)
    many = run(args.hours, args.workers)
    espeak = espeak_share()
    for r in (one, many):
        print(f"workers={r['workers']}: {r['corpus_hours']:.3f} h in {r['wall_s']:.1f} s "
              f"→ {r['wall_s_per_corpus_hour']:.0f} s per corpus hour, {r['megabytes_per_corpus_hour']:.0f} MB/h")  # fmt: skip
    print(f"speed-up with {args.workers} workers: {one['wall_s'] / many['wall_s']:.2f}x (same corpus, same run)")
    print(f"espeak-ng command: {espeak:.3f} s per second of speech")
    result = {"benchmark": "data_synth", "runs": [one, many], "speedup": round(one["wall_s"] / many["wall_s"], 2),
              "espeak_s_per_speech_s": round(espeak, 4), "machine": machine_info()}  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"recorded in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
