"""Trainer: each stage runs, lowers its loss, writes loadable checkpoints and resumes; DPO raises its margin."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from af_plugin.model.checkpoint import load_checkpoint
from af_plugin.model.network import AvatarForcingNet, NetworkConfig
from af_plugin.model.streaming import StreamingGenerator, generate_offline
from af_plugin.training import trainer
from af_plugin.training.trainer import TrainOptions, train


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A tiny real synthetic corpus (espeak-ng speech + rule motion) from the data engineer's generator."""
    from af_plugin.training.synth import synth_corpus

    out = tmp_path_factory.mktemp("corpus")
    try:
        synth_corpus(out, hours=0.01, seed=3)
    except Exception as e:  # pragma: no cover - espeak-ng missing
        pytest.skip(f"cannot synthesise a corpus here: {e}")
    return out


def opts(corpus, tmp_path, stage, **kw):
    base = dict(stage=stage, data=corpus, out=tmp_path / f"{stage}.safetensors", preset="tiny", window=24,
                batch=8, progress=False, save_every=10_000)  # fmt: skip
    base.update(kw)
    return TrainOptions(**base)


def test_three_stages_train_and_load(corpus, tmp_path):
    torch.set_num_threads(1)
    ae = train(opts(corpus, tmp_path, "autoencoder", steps=150, lr=3e-3))
    assert len(ae["ae_rmse_per_channel"]) == 62 and ae["ae_rmse_mean"] < 0.1
    gen = train(opts(corpus, tmp_path, "generator", steps=40, init=tmp_path / "autoencoder.safetensors", lr=2e-3))
    assert np.isfinite(gen["df_loss_eval"])
    net, meta = load_checkpoint(tmp_path / "generator.safetensors")
    assert meta["stage"] == "generator" and meta["data"]["conversations"] >= 1
    assert "autoencoder" in meta["metrics"]["history"]
    clip = generate_offline(StreamingGenerator(net), avatar_audio=np.zeros(16000, np.float32), seed=0)
    assert clip.values.shape == (25, 62) and np.isfinite(clip.values).all()


def test_generator_loss_goes_down(corpus, tmp_path):
    """A tiny model trained for a few seconds lowers its held-out flow-matching loss."""
    torch.set_num_threads(1)
    train(opts(corpus, tmp_path, "autoencoder", steps=100, lr=3e-3))
    o = opts(corpus, tmp_path, "generator", steps=1, init=tmp_path / "autoencoder.safetensors")
    before = train(o)["df_loss_eval"]
    o = opts(corpus, tmp_path, "generator", steps=120, init=tmp_path / "autoencoder.safetensors", lr=2e-3,
             out=tmp_path / "g2.safetensors")  # fmt: skip
    after = train(o)["df_loss_eval"]
    assert after < 0.85 * before, (before, after)


def test_resume_continues_from_saved_step(corpus, tmp_path):
    torch.set_num_threads(1)
    train(opts(corpus, tmp_path, "autoencoder", steps=20))
    first = train(opts(corpus, tmp_path, "generator", steps=6, init=tmp_path / "autoencoder.safetensors"))
    assert first["steps"] == 6
    # asking for more steps with --resume starts at step 6, from the saved weights and optimiser state
    state_step = trainer.load_training_state(
        tmp_path / "generator.safetensors",
        torch.optim.AdamW(
            [
                p
                for n, p in load_checkpoint(tmp_path / "generator.safetensors")[0].named_parameters()
                if not n.startswith("ae.")
            ]
        ),  # fmt: skip
        "generator",
    )
    assert state_step == 6
    more = train(opts(corpus, tmp_path, "generator", steps=10, resume=True))
    assert more["steps"] == 10 and more["train_seconds"] >= 0


def toy_batch(B: int, T: int, rng: np.random.Generator) -> dict:
    """Avatar motion that copies the user's motion: only a model that listens to the user can match it."""
    P, A = 10, 2
    user = np.zeros((B, P + T + A, 62), np.float32)
    user[..., 17] = rng.random((B, 1, 1))[..., 0] * (np.sin(np.linspace(0, 6, P + T + A))[None] + 1) / 2
    motion = user[:, P : P + T].copy()
    return {
        "motion": torch.from_numpy(motion),
        "motion_valid": torch.ones(B, T, dtype=torch.bool),
        "user_audio": torch.zeros(B, P + T + A, 320),
        "avatar_audio": torch.zeros(B, P + T + A, 320),
        "user_motion": torch.from_numpy(user),
        "user_motion_present": torch.ones(B, P + T + A, dtype=torch.bool),
    }


class ToySampler:
    def __init__(self, T):
        self.T, self.rng = T, np.random.default_rng(0)

    def sample(self, B):
        return toy_batch(B, self.T, self.rng)


def test_dpo_raises_preference_margin():
    """On a toy task where the winner follows the user, DPO moves the policy toward the winner."""
    torch.manual_seed(0)
    torch.set_num_threads(1)
    cfg = NetworkConfig.tiny()
    net = AvatarForcingNet(cfg)
    o = TrainOptions(stage="dpo", data=None, out=None, batch=16, dpo_pool=32, dpo_beta=1000.0, window=16,
                     progress=False)  # fmt: skip
    gen = torch.Generator().manual_seed(0)
    dpo = trainer._DPO(net, ToySampler(16), o, gen)
    opt = torch.optim.Adam([p for n, p in net.named_parameters() if not n.startswith("ae.")], lr=1e-3)
    for _ in range(40):
        loss, logs = dpo.loss(gen)
        opt.zero_grad()
        loss.backward()
        opt.step()
    s = dpo.summary()
    assert abs(dpo.margins[0]) < 1e-6  # policy == reference at the start
    assert s["dpo_margin_last"] > 1e-3, s
    assert s["dpo_accuracy_last"] > 0.6, s
