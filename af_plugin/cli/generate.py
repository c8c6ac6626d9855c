"""`af generate`: motion for whole files through the exact streaming path (same blocks, cache, RNG).

af generate --avatar-audio A.wav [--user-audio U.wav] [--user-motion U.csv|U.mp4] -o OUT.csv
            [--checkpoint CKPT] [--seed S] [--block-size B] [--lookahead L] [--steps N]
            [--cfg-avatar A] [--cfg-user U] [--no-kv-cache] [--device auto|cpu|cuda]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "generate", help="generate avatar motion for audio/motion files (offline, streaming path)"
    )
    p.add_argument("--avatar-audio", type=Path, help="the avatar's own voice (any audio or video file)")
    p.add_argument("--user-audio", type=Path, help="the user's voice")
    p.add_argument("--user-motion", type=Path, help="the user's face motion: a motion file (.csv/.npz/...) or a video")
    p.add_argument("-o", "--out", required=True, type=Path, help="output motion file; extension picks the format")
    p.add_argument("--checkpoint", type=Path, help="model checkpoint (default: the model shipped with af)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--block-size", type=int)
    p.add_argument("--lookahead", type=int)
    p.add_argument("--steps", type=int)
    p.add_argument("--cfg-avatar", type=float)
    p.add_argument("--cfg-user", type=float)
    p.add_argument("--no-kv-cache", action="store_true", help="recompute the history every step (slow; for checks)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from af_plugin.errors import ConfigError
    from af_plugin.model.streaming import StreamingGenerator, generate_offline

    if not (args.avatar_audio or args.user_audio or args.user_motion):
        raise ConfigError("inputs", "give at least one of --avatar-audio, --user-audio, --user-motion")
    gen = StreamingGenerator.load(
        args.checkpoint, device=args.device, block_size=args.block_size, lookahead=args.lookahead, steps=args.steps,
        cfg_avatar=args.cfg_avatar, cfg_user=args.cfg_user, kv_cache=not args.no_kv_cache,
    )  # fmt: skip
    t0 = time.perf_counter()
    clip = generate_offline(gen, avatar_audio=args.avatar_audio, user_audio=args.user_audio,
                            user_motion=args.user_motion, seed=args.seed)  # fmt: skip
    dt = time.perf_counter() - t0
    for name, n in clip.meta["padded"].items():
        print(f"note: {name} was shorter; padded with {n} frames ({'silence' if 'audio' in name else 'absent'})")
    clip.meta.pop("latents", None)
    clip.write(args.out)
    print(f"wrote {args.out}: {len(clip)} frames ({clip.duration:.2f} s) in {dt:.2f} s "
          f"(block {gen.block_size}, lookahead {gen.lookahead}, {gen.steps} steps, "
          f"{'KV cache' if gen.kv_cache else 'no KV cache'}, seed {args.seed})")  # fmt: skip
    return 0
