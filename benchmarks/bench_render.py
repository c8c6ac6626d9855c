"""Render speed at 512x512 on one CPU core: stylized (opaque and transparent) and portrait photo.

    .venv/bin/python benchmarks/bench_render.py [--seconds 3] [--size 512] [--out benchmarks/results/render.json]

Portrait mode runs twice: on the photo as it is (the astronaut's face is small) and on a crop where the face
fills the frame (the worst case). Frames cycle through a real motion pattern (talking jaw, blinks, head turns, smiles) so every code path
runs, including the portrait's lid and mouth painting. Prints frames/s and ms/frame side by side and
records them with the machine description. OpenCV and torch are limited to one thread.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from af_plugin.motion.contract import CHANNEL_INDEX, NUM_CHANNELS  # noqa: E402
from af_plugin.render.portrait import PortraitRenderer  # noqa: E402
from af_plugin.render.stylized import StylizedRenderer  # noqa: E402


def motion(frames: int = 250) -> np.ndarray:
    t = np.arange(frames) / 25.0
    v = np.zeros((frames, NUM_CHANNELS), np.float32)
    v[:, CHANNEL_INDEX["jawOpen"]] = np.clip(np.sin(2 * np.pi * 3.1 * t), 0, 1) * 0.7
    for side in ("Left", "Right"):
        v[:, CHANNEL_INDEX[f"eyeBlink{side}"]] = np.clip(1 - np.abs((t % 3.0) - 1.5) / 0.12, 0, 1)
        v[:, CHANNEL_INDEX[f"mouthSmile{side}"]] = 0.4 + 0.4 * np.sin(2 * np.pi * 0.2 * t)
    v[:, CHANNEL_INDEX["headYaw"]] = 0.3 * np.sin(2 * np.pi * 0.25 * t)
    v[:, CHANNEL_INDEX["headPitch"]] = 0.1 * np.sin(2 * np.pi * 0.4 * t)
    v[:, CHANNEL_INDEX["headRoll"]] = 0.1 * np.sin(2 * np.pi * 0.15 * t)
    v[:, CHANNEL_INDEX["leftEyeYaw"]] = v[:, CHANNEL_INDEX["rightEyeYaw"]] = 0.2 * np.sin(2 * np.pi * 0.5 * t)
    return v


def measure(renderer, values: np.ndarray, seconds: float) -> dict:
    for row in values[:10]:  # warm-up
        renderer.render(row)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        renderer.render(values[n % len(values)])
        n += 1
    dt = time.perf_counter() - t0
    return {"frames": n, "fps": round(n / dt, 1), "ms_per_frame": round(1000 * dt / n, 2)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--photo", type=Path, default=REPO.parent / "shared" / "data" / "astronaut.png")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "render.json")
    args = ap.parse_args()
    cv2.setNumThreads(1)
    import torch

    torch.set_num_threads(1)
    from af_plugin.evaluation.machine import machine_info

    values = motion()
    s = args.size
    results = {
        "stylized": measure(StylizedRenderer(s, s), values, args.seconds),
        "stylized_transparent": measure(StylizedRenderer(s, s, background="transparent"), values, args.seconds),
    }
    if args.photo.is_file():
        t0 = time.perf_counter()
        portrait = PortraitRenderer(args.photo, s, s)
        setup = time.perf_counter() - t0
        results["portrait"] = measure(portrait, values, args.seconds)
        results["portrait"]["setup_s"] = round(setup, 2)
        results["portrait"]["photo"] = args.photo.name
        # The same photo cropped so the face fills the frame: the warped region (and the cost) is largest.
        lm = portrait.landmarks[:, :2]
        centre, half = (lm.min(0) + lm.max(0)) / 2, 0.9 * float((lm.max(0) - lm.min(0)).max())
        x0, y0 = np.maximum(0, np.round(centre - half).astype(int))
        crop = portrait.photo[y0 : y0 + int(2 * half), x0 : x0 + int(2 * half)]
        with tempfile.TemporaryDirectory() as tmp:
            big = Path(tmp) / "face.png"
            cv2.imwrite(
                str(big), cv2.cvtColor(cv2.resize(crop, (s, s), interpolation=cv2.INTER_CUBIC), cv2.COLOR_RGB2BGR)
            )
            large = PortraitRenderer(big, s, s)
        results["portrait_face_fills_frame"] = measure(large, values, args.seconds)
        x0, y0, x1, y1 = large.roi
        results["portrait_face_fills_frame"]["warped_region"] = [int(x1 - x0), int(y1 - y0)]
    else:
        print(f"note: {args.photo} not found; portrait mode skipped")
    print(f"render speed at {s}x{s}, one thread:")
    for name, r in results.items():
        print(f"  {name:26s} {r['fps']:8.1f} frames/s  {r['ms_per_frame']:6.2f} ms/frame")
    if "portrait" in results:
        print(f"  stylized / portrait speed ratio: {results['stylized']['fps'] / results['portrait']['fps']:.2f}")
    record = {"benchmark": "render", "size": [s, s], "threads": 1, "results": results, "machine": machine_info()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
