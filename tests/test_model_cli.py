"""`af generate` end to end on a tiny checkpoint: real WAV in, Live Link CSV out, cache == recompute."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from af_plugin.cli import main
from af_plugin.model.checkpoint import save_checkpoint
from af_plugin.model.network import AvatarForcingNet, NetworkConfig
from af_plugin.motion.clip import MotionClip


@pytest.fixture
def files(tmp_path):
    torch.manual_seed(0)
    net = AvatarForcingNet(NetworkConfig.tiny())
    with torch.no_grad():
        for p in net.parameters():
            if p.abs().sum() == 0:
                p.normal_(std=0.1)
    ckpt = save_checkpoint(tmp_path / "tiny.safetensors", net, stage="generator")
    rng = np.random.default_rng(0)
    sf.write(tmp_path / "avatar.wav", (0.1 * rng.normal(size=16000 * 2)).astype(np.float32), 16000)
    sf.write(tmp_path / "user.wav", (0.1 * rng.normal(size=16000)).astype(np.float32), 16000)
    MotionClip(np.zeros((30, 62), np.float32)).write(tmp_path / "user.csv")
    return tmp_path, ckpt


def test_generate_pads_shorter_inputs_and_matches_no_kv_cache(files, capsys):
    d, ckpt = files
    common = ["generate", "--avatar-audio", str(d / "avatar.wav"), "--user-audio", str(d / "user.wav"),
              "--user-motion", str(d / "user.csv"), "--checkpoint", str(ckpt), "--seed", "3", "--block-size", "3"]  # fmt: skip
    assert main([*common, "-o", str(d / "a.csv")]) == 0
    out = capsys.readouterr().out
    assert "user_audio was shorter" in out and "user_motion was shorter" in out
    assert main([*common, "--no-kv-cache", "-o", str(d / "b.csv")]) == 0
    a, b = MotionClip.read(d / "a.csv"), MotionClip.read(d / "b.csv")
    assert len(a) == 50  # the longest input: 2 s of avatar audio
    assert np.abs(a.values - b.values).max() < 1e-3  # CSV rounding; the latents agree to 1e-4 (streaming tests)


def test_generate_bad_settings_are_one_line_errors(files, capsys):
    d, ckpt = files
    rc = main(["generate", "--avatar-audio", str(d / "avatar.wav"), "--checkpoint", str(ckpt), "--lookahead", "5",
               "-o", str(d / "x.csv")])  # fmt: skip
    assert rc == 2 and "model.lookahead" in capsys.readouterr().err
    assert main(["generate", "-o", str(d / "x.csv")]) == 2
