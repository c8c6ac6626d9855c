"""`af train`: train the motion auto-encoder, the diffusion-forcing generator, or the DPO stage.

af train --stage autoencoder --data DIR --out ae.safetensors [--preset default|tiny] [--set dfot.d_model=160]
af train --stage generator   --data DIR --init ae.safetensors  --out gen.safetensors
af train --stage dpo         --data DIR --init gen.safetensors --out model.safetensors [--dpo-beta 1000]
common: --steps N --batch B --lr LR --device cpu|cuda --threads N --resume --seed S
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("train", help="train the model (autoencoder, generator, dpo stages)")
    p.add_argument("--stage", required=True, choices=("autoencoder", "generator", "dpo"))
    p.add_argument("--data", required=True, type=Path, help="dataset directory (af data synth/build)")
    p.add_argument("--out", required=True, type=Path, help="checkpoint to write (.safetensors)")
    p.add_argument("--init", type=Path, help="start from this checkpoint (required for generator and dpo)")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=None, help="learning rate (default 3e-4; dpo 5e-5)")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--resume", action="store_true", help="continue --out from its .train.safetensors state")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--window", type=int, default=64, help="training window in frames (default 64)")
    p.add_argument("--preset", default="default", help="network size for a new model: default or tiny")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="model setting for a new model, e.g. dfot.d_model=160 (repeatable)",
    )
    p.add_argument("--save-every", type=int, default=500)
    p.add_argument("--limit-conversations", type=int, default=None)
    p.add_argument("--dpo-beta", type=float, default=1000.0)
    p.add_argument("--dpo-lambda", type=float, default=0.1)
    p.add_argument("--dpo-pool", type=int, default=256, help="loser windows generated up front")
    p.add_argument(
        "--max-minutes",
        type=float,
        default=None,
        help="wall-clock budget; the LR schedule follows elapsed time and training stops when it is spent",
    )
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from af_plugin.config import parse_override
    from af_plugin.errors import DeviceError
    from af_plugin.training.trainer import TrainOptions, train

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        raise DeviceError("--device cuda requested but torch sees no CUDA GPU; use --device cpu")
    lr = args.lr if args.lr is not None else (5e-5 if args.stage == "dpo" else 3e-4)
    o = TrainOptions(
        stage=args.stage, data=args.data, out=args.out, init=args.init, steps=args.steps, batch=args.batch, lr=lr,
        device=args.device, resume=args.resume, seed=args.seed, window=args.window, preset=args.preset,
        overrides=dict(parse_override(s) for s in args.overrides), save_every=args.save_every,
        limit_conversations=args.limit_conversations, dpo_beta=args.dpo_beta, dpo_lambda=args.dpo_lambda,
        dpo_pool=args.dpo_pool, progress=not args.no_progress, max_minutes=args.max_minutes,
    )  # fmt: skip
    metrics = train(o)
    short = {k: v for k, v in metrics.items() if k not in ("ae_rmse_per_channel", "history")}
    print(f"wrote {args.out}")
    print(json.dumps(short, indent=1))
    if "ae_rmse_per_channel" in metrics:
        worst = sorted(metrics["ae_rmse_per_channel"].items(), key=lambda kv: -kv[1])[:5]
        print("largest per-channel reconstruction RMSE: " + ", ".join(f"{k}={v:.4f}" for k, v in worst))
    return 0
