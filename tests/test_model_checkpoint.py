"""Checkpoints: round trip, and every kind of bad file fails with one CheckpointError line."""

from __future__ import annotations

import json
import struct
import subprocess
import sys

import pytest
import torch
from safetensors.torch import save_file

from af_plugin.errors import CheckpointError
from af_plugin.model.checkpoint import load_checkpoint, read_metadata, save_checkpoint
from af_plugin.model.network import AvatarForcingNet, NetworkConfig


@pytest.fixture
def good(tmp_path):
    torch.manual_seed(0)
    net = AvatarForcingNet(NetworkConfig.tiny())
    path = save_checkpoint(tmp_path / "m.safetensors", net, stage="generator", data={"hours": 1.0},
                           metrics={"loss": 0.5})  # fmt: skip
    return net, path


def test_round_trip_keeps_weights_config_and_metadata(good):
    net, path = good
    loaded, meta = load_checkpoint(path)
    assert meta["stage"] == "generator" and meta["data"] == {"hours": 1.0} and meta["metrics"]["loss"] == 0.5
    assert meta["layout_version"] == 1
    assert loaded.cfg.to_dict() == net.cfg.to_dict()
    for (k, a), (_, b) in zip(net.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a, b), k


def expect_error(path, needle):
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(path)
    msg = str(e.value)
    assert "\n" not in msg and needle in msg, msg
    return msg


def test_missing_empty_and_garbage(tmp_path):
    expect_error(tmp_path / "nope.safetensors", "does not exist")
    (tmp_path / "empty.safetensors").write_bytes(b"")
    expect_error(tmp_path / "empty.safetensors", "too short")
    (tmp_path / "junk.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all!")
    expect_error(tmp_path / "junk.safetensors", "not JSON")


def test_truncated(good, tmp_path):
    _, path = good
    data = path.read_bytes()
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(data[: len(data) // 2])
    expect_error(cut, "truncated")


def test_crafted_header_size_is_refused_before_reading(tmp_path):
    p = tmp_path / "huge.safetensors"
    p.write_bytes(struct.pack("<Q", 1 << 62) + b"{}")
    expect_error(p, "header claims")


def test_foreign_safetensors_and_other_layout(good, tmp_path):
    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(2)}, str(foreign))
    expect_error(foreign, "not an Avatar Forcing checkpoint")
    _, path = good
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    header["__metadata__"]["layout_version"] = "2"
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    other = tmp_path / "v2.safetensors"
    other.write_bytes(struct.pack("<Q", len(raw)) + raw + data[8 + n :])
    assert "layout v2" in expect_error(other, "layout v2")
    with pytest.raises(CheckpointError):
        read_metadata(other)


def test_weights_not_matching_config(tmp_path):
    net = AvatarForcingNet(NetworkConfig.tiny())
    path = save_checkpoint(tmp_path / "m.safetensors", net, stage="generator")
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    cfg = json.loads(header["__metadata__"]["config"])
    cfg["dfot"]["d_model"] = 64
    header["__metadata__"]["config"] = json.dumps(cfg)
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(struct.pack("<Q", len(raw)) + raw + data[8 + n :])
    expect_error(bad, "not match")


def test_cli_reports_one_line(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00" * 100)
    r = subprocess.run([sys.executable, "-m", "af_plugin", "generate", "--avatar-audio", "x.wav", "--checkpoint",
                        str(bad), "-o", str(tmp_path / "o.csv")], capture_output=True, text=True)  # fmt: skip
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "af generate: error:" in r.stderr, r.stderr
