"""Training loop for the three stages: motion auto-encoder, diffusion-forcing generator, DPO.

    af train --stage autoencoder --data DIR --out ae.safetensors
    af train --stage generator   --data DIR --init ae.safetensors  --out gen.safetensors
    af train --stage dpo         --data DIR --init gen.safetensors --out dpo.safetensors

Every stage writes a full-model checkpoint (safetensors + JSON metadata) and, beside it, a
``<out>.train.safetensors`` sidecar with the optimiser state and step, so ``--resume`` continues exactly.

Diffusion forcing (generator stage): every frame gets its own noise level. Half of the batch draws levels
independently per frame (the DF objective); the other half uses the pattern streaming inference sees — a
clean prefix, then one shared level — so few training steps go a long way. Conditions are dropped per
sample (user dropped / avatar audio dropped / both / user motion alone) so the three CFG branches exist.
"""

from __future__ import annotations

import copy
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from tqdm import tqdm

from af_plugin.errors import CheckpointError, ConfigError
from af_plugin.model.checkpoint import load_checkpoint, load_tensors, read_header, save_checkpoint
from af_plugin.model.flow import FlowMatchScheduler, add_noise, velocity_target
from af_plugin.model.network import AvatarForcingNet, NetworkConfig
from af_plugin.motion.contract import CHANNELS
from af_plugin.training.dataset import WindowSampler, describe, load_split

STAGES = ("autoencoder", "generator", "dpo")


@dataclass
class TrainOptions:
    stage: str
    data: Path
    out: Path
    init: Path | None = None
    steps: int = 1000
    batch: int = 32
    lr: float = 3e-4
    device: str = "cpu"
    resume: bool = False
    seed: int = 0
    window: int = 64
    preset: str = "default"
    overrides: dict = field(default_factory=dict)
    save_every: int = 500
    limit_conversations: int | None = None
    dpo_beta: float = 1000.0
    dpo_lambda: float = 0.1
    dpo_pool: int = 256
    progress: bool = True
    max_minutes: float | None = None
    ema: float = 0.995
    """Decay of the exponential moving average of the weights that checkpoints store (0 disables)."""
    """Wall-clock budget: the LR schedule runs on max(step/steps, elapsed/budget) and training stops at 1."""


# --- the network -------------------------------------------------------------------------------------
PRESETS = {
    "default": NetworkConfig,
    "tiny": NetworkConfig.tiny,
}


def build_config(preset: str, overrides: dict) -> NetworkConfig:
    """A preset plus dotted overrides such as {"dfot.d_model": 160}."""
    if preset not in PRESETS:
        raise ConfigError("preset", f"{preset!r} is not allowed; allowed values: {', '.join(PRESETS)}")
    d = PRESETS[preset]().to_dict()
    for key, value in overrides.items():
        section, _, name = key.partition(".")
        if section not in d or name not in d[section]:
            raise ConfigError(key, f"unknown model setting; sections: {', '.join(d)}")
        d[section][name] = type(d[section][name])(value)
    return NetworkConfig.from_dict(d)


# --- losses ------------------------------------------------------------------------------------------
def drop_masks(batch: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-sample keep flags (user audio, user motion, avatar audio): full 45 %, avatar only 20 %,
    user only 20 %, nothing 10 %, and within kept users the motion alone is dropped 20 % of the time."""
    u = torch.rand(batch, generator=gen)
    keep_user = (u < 0.45) | ((u >= 0.65) & (u < 0.85)) | (u >= 0.95)
    keep_avatar = (u < 0.65) | (u >= 0.95)
    keep_motion = keep_user & (torch.rand(batch, generator=gen) >= 0.2)
    keep_user_audio = keep_user & (torch.rand(batch, generator=gen) >= 0.05)
    return keep_user_audio, keep_motion, keep_avatar


def conditions(net: AvatarForcingNet, b: dict, keep: tuple[torch.Tensor, ...] | None) -> torch.Tensor:
    """Conditions (B, w+T+A, C) of frames [s-w, s+T+A) from a window batch (inputs span [s-P, s+T+A))."""
    ua, aa, um = b["user_audio"], b["avatar_audio"], b["user_motion"]
    B, N = ua.shape[:2]
    ones = torch.ones(B, N, dtype=torch.bool, device=ua.device)
    ua_p, aa_p, um_p = ones, ones.clone(), b["user_motion_present"].clone()
    if keep is not None:
        k_ua, k_um, k_aa = (k.to(ua.device)[:, None] for k in keep)
        ua_p, um_p, aa_p = ua_p & k_ua, um_p & k_um, aa_p & k_aa
    c = net.cond(ua, ua_p, aa, aa_p, um, um_p, ones)
    T = b["motion"].shape[1]
    w, A = net.cfg.dfot.cond_window, net.cfg.dfot.max_lookahead
    return c[:, -(w + T + A) :]


def noise_levels(B: int, T: int, gen: torch.Generator) -> torch.Tensor:
    """(B, T) per-frame noise: half independent per frame, half clean-prefix + one shared level."""
    indep = torch.rand(B, T, generator=gen)
    shared = torch.rand(B, 1, generator=gen).expand(B, T)
    prefix = torch.randint(0, T, (B, 1), generator=gen)
    streaming = torch.where(torch.arange(T)[None] < prefix, torch.zeros(()), shared)
    pick = torch.rand(B, 1, generator=gen) < 0.5
    return torch.where(pick, indep, streaming)


def velocity_error(net, x0, noise, sigma, cond, la, kind: str = "mse") -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample mean velocity error over noisy frames → (B,), and the noisy-frame mask (B, T)."""
    xt = add_noise(x0, noise, sigma)
    valid = torch.ones(cond.shape[:2], dtype=torch.bool, device=cond.device)
    v, _ = net.dfot(xt, sigma, cond, valid, la)
    diff = v - velocity_target(x0, noise)
    err = diff.pow(2).mean(-1) if kind == "mse" else diff.abs().mean(-1)  # (B, T)
    noisy = (sigma > 1e-4).float()
    return (err * noisy).sum(1) / noisy.sum(1).clamp_min(1), noisy


def df_loss(net: AvatarForcingNet, b: dict, gen: torch.Generator, drop: bool = True) -> torch.Tensor:
    with torch.no_grad():
        x0 = net.ae.encode(b["motion"])  # (B, T, D)
    B, T, _ = x0.shape
    keep = drop_masks(B, gen) if drop else None
    cond = conditions(net, b, keep)
    sigma = noise_levels(B, T, gen).to(x0.device)
    noise = torch.randn(x0.shape, generator=gen).to(x0.device)
    la = torch.randint(0, net.cfg.dfot.max_lookahead + 1, (B,), generator=gen).to(x0.device)
    err, _ = velocity_error(net, x0, noise, sigma, cond, la)
    return err.mean()


# --- checkpoint + optimiser state ----------------------------------------------------------------------
def sidecar(out: Path) -> Path:
    return out.with_name(out.name + ".train.safetensors")


def save_training_state(out: Path, opt: torch.optim.Optimizer, step: int, stage: str) -> None:
    tensors: dict[str, torch.Tensor] = {"rng": torch.get_rng_state()}
    for i, st in opt.state_dict()["state"].items():
        for k, v in st.items():
            tensors[f"optim.{i}.{k}"] = (
                torch.as_tensor(v).detach().cpu().reshape(-1) if k == "step" else v.detach().cpu()
            )
    tmp = sidecar(out).with_suffix(".tmp")
    save_file(tensors, str(tmp), metadata={"step": str(step), "stage": stage})
    tmp.replace(sidecar(out))


def load_training_state(out: Path, opt: torch.optim.Optimizer, stage: str) -> int:
    path = sidecar(out)
    meta = read_header(path).get("__metadata__") or {}
    if meta.get("stage") != stage:
        raise CheckpointError(f"{path}: training state is for stage {meta.get('stage')!r}, not {stage!r}")
    tensors = load_tensors(path)
    sd = opt.state_dict()
    state: dict[int, dict] = {}
    for key, v in tensors.items():
        if key.startswith("optim."):
            _, i, k = key.split(".", 2)
            state.setdefault(int(i), {})[k] = v.reshape(()) if k == "step" else v
    sd["state"] = state
    opt.load_state_dict(sd)
    torch.set_rng_state(tensors["rng"])
    return int(meta["step"])


def lr_at(step: int, progress: float, base: float, warmup: int = 50) -> float:
    """Linear warm-up, then cosine from base to base/10 over training progress (0..1)."""
    if step < warmup:
        return base * (step + 1) / warmup
    p = min(1.0, max(0.0, progress))
    return base * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * p)))


class EMA:
    """Exponential moving average of the trainable weights (the averaged model samples better)."""

    def __init__(self, net: torch.nn.Module, decay: float):
        self.decay = decay
        self.params = [p for p in net.parameters() if p.requires_grad]
        self.shadow = [p.detach().clone() for p in self.params]

    @torch.no_grad()
    def update(self, step: int) -> None:
        d = min(self.decay, (1 + step) / (10 + step))
        for s, p in zip(self.shadow, self.params):
            s.lerp_(p, 1 - d)

    @torch.no_grad()
    def swap(self) -> None:
        for s, p in zip(self.shadow, self.params):
            tmp = p.detach().clone()
            p.copy_(s)
            s.copy_(tmp)


# --- stages -----------------------------------------------------------------------------------------------
def _init_net(o: TrainOptions) -> tuple[AvatarForcingNet, dict]:
    if o.resume and o.out.exists():
        return load_checkpoint(o.out, o.device)
    if o.stage == "autoencoder":
        if o.init:
            return load_checkpoint(o.init, o.device)
        torch.manual_seed(o.seed)
        return AvatarForcingNet(build_config(o.preset, o.overrides)).to(o.device), {}
    if o.init is None:
        need = "an auto-encoder checkpoint (af train --stage autoencoder)" if o.stage == "generator" else \
            "a generator checkpoint (af train --stage generator)"  # fmt: skip
        raise ConfigError("init", f"stage {o.stage} starts from {need}; pass --init CKPT")
    return load_checkpoint(o.init, o.device)


def _set_input_stats(net: AvatarForcingNet, convs) -> None:
    """Normalisation of the conditioner's inputs from training data (stored in the checkpoint)."""
    feats = torch.from_numpy(np.concatenate([c.audio[p] for c in convs for p in ("a", "b")]))
    mot = torch.from_numpy(np.concatenate([c.motion[p] for c in convs for p in ("a", "b")]))
    with torch.no_grad():
        net.cond.audio.mean.copy_(feats.mean(0))
        net.cond.audio.std.copy_(feats.std(0).clamp_min(1e-2))
        net.cond.motion_mean.copy_(mot.mean(0))
        net.cond.motion_std.copy_(torch.maximum(mot.std(0), net.ae.chan_std * 0.5))


def autoencoder_metrics(net: AvatarForcingNet, values: np.ndarray) -> dict:
    """Per-channel RMSE of encode→decode, in each channel's own unit."""
    with torch.no_grad():
        x = torch.from_numpy(values).to(net.ae.chan_mean.device)
        rec = net.ae.decode(net.ae.encode(x))
        rmse = (rec - x).pow(2).mean(0).sqrt().cpu().numpy()
        std = x.std(0).cpu().numpy()
    per = {c: round(float(r), 5) for c, r in zip(CHANNELS, rmse)}
    rel = float(np.mean(rmse / np.maximum(std, 1e-3)))
    return {"ae_rmse_per_channel": per, "ae_rmse_mean": round(float(rmse.mean()), 5),
            "ae_rmse_over_std_mean": round(rel, 4), "ae_eval_frames": int(len(values))}  # fmt: skip


def train(o: TrainOptions) -> dict:
    """Run one stage; returns the metrics written into the checkpoint."""
    if o.stage not in STAGES:
        raise ConfigError("stage", f"{o.stage!r} is not allowed; allowed values: {', '.join(STAGES)}")
    o.out = Path(o.out)
    gen = torch.Generator().manual_seed(o.seed)
    net, meta = _init_net(o)
    net.to(o.device)
    convs = load_split(o.data, "train", o.limit_conversations)
    try:
        held = load_split(o.data, "heldout", o.limit_conversations)
    except Exception:  # a dataset without a held-out split evaluates on nothing held out
        held = []
    data_desc = describe(o.data, convs)

    if o.stage == "autoencoder":
        all_vals = np.concatenate([c.motion[p][c.valid[p]] for c in convs for p in ("a", "b")])
        if not (o.resume and o.out.exists()):
            net.ae.set_channel_stats(torch.from_numpy(all_vals).to(o.device))
        params = list(net.ae.parameters())
        sampler = None
    else:
        if o.stage == "generator" and not (o.resume and o.out.exists()):
            _set_input_stats(net, convs)
        for p in net.ae.parameters():
            p.requires_grad_(False)
        params = [p for n, p in net.named_parameters() if not n.startswith("ae.")]
        rf = net.cfg.condition.receptive_field + net.cfg.dfot.cond_window
        sampler = WindowSampler(convs, o.window, rf, net.cfg.dfot.max_lookahead, seed=o.seed)

    opt = torch.optim.AdamW(params, lr=o.lr, weight_decay=0.01, betas=(0.9, 0.99))
    start = 0
    if o.resume and o.out.exists() and sidecar(o.out).exists():
        start = load_training_state(o.out, opt, o.stage)
    dpo = _DPO(net, sampler, o, gen) if o.stage == "dpo" else None

    ema = EMA(net, o.ema) if o.stage != "autoencoder" and o.ema > 0 else None
    net.train()
    bar = tqdm(total=o.steps, initial=start, desc=f"train {o.stage}", disable=not o.progress, unit="step")
    t0, history = time.time(), []
    logs: dict = {}
    budget = o.max_minutes * 60 if o.max_minutes else None
    step = start
    for step in range(start, o.steps):
        progress = step / o.steps
        if budget:
            progress = max(progress, (time.time() - t0) / budget)
            if progress >= 1.0:
                break
        for g in opt.param_groups:
            g["lr"] = lr_at(step, progress, o.lr)
        if o.stage == "autoencoder":
            idx = torch.randint(0, len(all_vals), (o.batch * 64,), generator=gen)
            x = torch.from_numpy(all_vals[idx.numpy()]).to(o.device)
            target = (x - net.ae.chan_mean) / net.ae.chan_std
            loss = F.mse_loss(net.ae.decode_normalised(net.ae.encode_raw(x)), target)
        elif dpo is None:
            loss = df_loss(net, {k: v.to(o.device) for k, v in sampler.sample(o.batch).items()}, gen)
        else:
            loss, logs = dpo.loss(gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if ema is not None:
            ema.update(step)
        history.append(float(loss.detach()))
        rate = (step + 1 - start) / max(1e-9, time.time() - t0)
        bar.set_postfix(
            loss=f"{np.mean(history[-20:]):.4f}", sps=f"{rate:.2f}", **{k: f"{v:.3g}" for k, v in logs.items()}
        )
        if budget:  # under a time budget the ETA is the budget's end: estimate the steps it will allow
            bar.total = max(step + 1, min(o.steps, int(start + rate * budget)))
        bar.update()
        if (step + 1) % o.save_every == 0 and step + 1 < o.steps:
            if ema is not None:
                ema.swap()  # checkpoints hold the averaged weights; the live ones continue training
            _save(o, net, data_desc, {"step": step + 1, "loss": float(np.mean(history[-50:]))}, meta)
            save_training_state(o.out, opt, step + 1, o.stage)
            if ema is not None:
                ema.swap()
    else:
        step = o.steps
    bar.close()
    if ema is not None:
        ema.swap()
    net.eval()
    done_steps = step

    metrics = {"stage": o.stage, "steps": done_steps, "batch": o.batch, "loss_final": float(np.mean(history[-50:])) if history else None,
               "train_seconds": round(time.time() - t0, 1)}  # fmt: skip
    if o.stage == "autoencoder":
        net.ae.set_latent_stats(torch.from_numpy(all_vals).to(o.device))
        ev = np.concatenate([c.motion[p][c.valid[p]] for c in (held or convs) for p in ("a", "b")])
        metrics.update(autoencoder_metrics(net, ev))
        metrics["ae_eval_split"] = "heldout" if held else "train"
    else:
        ev_convs = held or convs
        metrics["eval_split"] = "heldout" if held else "train"
        metrics["df_loss_eval"] = round(evaluate_df(net, ev_convs, o), 5)
        if dpo is not None:
            metrics.update({k: round(float(v), 5) for k, v in dpo.summary().items()})
    _save(o, net, data_desc, metrics, meta)
    save_training_state(o.out, opt, done_steps, o.stage)
    return metrics


def _save(o: TrainOptions, net, data_desc: dict, metrics: dict, prev_meta: dict) -> None:
    history = dict(prev_meta.get("metrics", {}).get("history", {})) if prev_meta else {}
    if prev_meta and prev_meta.get("stage") and prev_meta.get("stage") != o.stage:
        history[prev_meta["stage"]] = {k: v for k, v in prev_meta.get("metrics", {}).items() if k != "history"}
    save_checkpoint(o.out, net, stage=o.stage, data=data_desc, metrics={**metrics, "history": history})


@torch.no_grad()
def evaluate_df(net: AvatarForcingNet, convs, o: TrainOptions, batches: int = 4) -> float:
    """Mean flow-matching error with all conditions present, on fixed-seed windows (lower is better)."""
    rf = net.cfg.condition.receptive_field + net.cfg.dfot.cond_window
    sampler = WindowSampler(convs, o.window, rf, net.cfg.dfot.max_lookahead, seed=1234, gain_db=0.0)
    gen = torch.Generator().manual_seed(1234)
    losses = [float(df_loss(net, {k: v.to(o.device) for k, v in sampler.sample(o.batch).items()}, gen, drop=False))
              for _ in range(batches)]  # fmt: skip
    return float(np.mean(losses))


# --- DPO -----------------------------------------------------------------------------------------------
@torch.no_grad()
def sample_windows(net: AvatarForcingNet, cond: torch.Tensor, T: int, steps: int, gen: torch.Generator) -> torch.Tensor:
    """Latents (B, T, D) sampled with every frame at the same noise level (one causal block of T frames)."""
    B, D = cond.shape[0], net.cfg.autoencoder.latent_dim
    sched = FlowMatchScheduler(net.cfg.sampling.shift)
    sigmas = sched.set_timesteps(steps)
    x = torch.randn(B, T, D, generator=gen).to(cond.device)
    valid = torch.ones(cond.shape[:2], dtype=torch.bool, device=cond.device)
    la = torch.full((B,), net.cfg.sampling.lookahead, dtype=torch.long, device=cond.device)
    for i in range(steps):
        v, _ = net.dfot(x, torch.full((B, T), float(sigmas[i]), device=cond.device), cond, valid, la)
        x = sched.step(v, i, x)
    return x


class _DPO:
    """Diffusion-DPO on flow-matching velocity L1 error against a frozen reference (the stage-1 model).

    Winner: the real avatar motion. Loser: motion the reference generates with the user's audio and motion
    dropped (a talker that ignores its partner). Same noise and levels for both. The logged margin is
    -[(e_w - e_w_ref) - (e_l - e_l_ref)]: how much more than the reference the policy prefers the winner.
    """

    def __init__(self, net: AvatarForcingNet, sampler: WindowSampler, o: TrainOptions, gen: torch.Generator):
        self.net, self.o, self.sampler = net, o, sampler
        self.ref = copy.deepcopy(net).eval()
        for p in self.ref.parameters():
            p.requires_grad_(False)
        pool = {k: [] for k in ("motion", "user_audio", "avatar_audio", "user_motion", "user_motion_present")}
        losers = []
        n = o.dpo_pool
        while n > 0:
            b = {k: v.to(o.device) for k, v in sampler.sample(min(64, n)).items()}
            B = b["motion"].shape[0]
            keep = (torch.zeros(B, dtype=torch.bool), torch.zeros(B, dtype=torch.bool), torch.ones(B, dtype=torch.bool))
            with torch.no_grad():
                cond = conditions(self.ref, b, keep)
            losers.append(sample_windows(self.ref, cond, b["motion"].shape[1], 8, gen))
            for k in pool:
                pool[k].append(b[k])
            n -= B
        self.pool = {k: torch.cat(v) for k, v in pool.items()}
        self.losers = torch.cat(losers)
        self.margins: list[float] = []
        self.accs: list[float] = []

    def loss(self, gen: torch.Generator) -> tuple[torch.Tensor, dict]:
        o, net = self.o, self.net
        idx = torch.randint(0, len(self.losers), (o.batch,), generator=gen)
        b = {k: v[idx] for k, v in self.pool.items()}
        with torch.no_grad():
            xw = net.ae.encode(b["motion"])
        xl = self.losers[idx]
        B, T, _ = xw.shape
        sigma = noise_levels(B, T, gen).to(xw.device)
        noise = torch.randn(xw.shape, generator=gen).to(xw.device)
        la = torch.randint(0, net.cfg.dfot.max_lookahead + 1, (B,), generator=gen).to(xw.device)
        cond = conditions(net, b, None)
        with torch.no_grad():
            cond_ref = conditions(self.ref, b, None)
            ew_ref, _ = velocity_error(self.ref, xw, noise, sigma, cond_ref, la, "l1")
            el_ref, _ = velocity_error(self.ref, xl, noise, sigma, cond_ref, la, "l1")
        ew, _ = velocity_error(net, xw, noise, sigma, cond, la, "l1")
        el, _ = velocity_error(net, xl, noise, sigma, cond, la, "l1")
        inside = (ew - ew_ref) - (el - el_ref)  # (B,) < 0 when the policy moved toward the winner
        dpo = -F.logsigmoid(-o.dpo_beta * inside).mean()
        df = df_loss(net, b, gen)
        margin = float(-inside.detach().mean())
        self.margins.append(margin)
        self.accs.append(float((inside.detach() < 0).float().mean()))
        return df + o.dpo_lambda * dpo, {"margin": margin, "dpo": float(dpo.detach())}

    def summary(self) -> dict:
        m = self.margins
        k = max(1, len(m) // 10)
        return {"dpo_margin_first": float(np.mean(m[:k])), "dpo_margin_last": float(np.mean(m[-k:])),
                "dpo_accuracy_last": float(np.mean(self.accs[-k:]))}  # fmt: skip


def options_from_json(text: str) -> dict:
    try:
        return dict(json.loads(text))
    except (json.JSONDecodeError, TypeError, ValueError) as e:
        raise ConfigError("model-config", f"not a JSON object: {e}") from None
