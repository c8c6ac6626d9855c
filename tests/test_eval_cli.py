"""`af eval` and `af bench` end to end on a tiny random-init model and a tiny corpus; held-out reading;
the mirroring baseline; drift windows."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from af_plugin.cli import main
from af_plugin.constants import FPS, SAMPLE_RATE, SAMPLES_PER_FRAME
from af_plugin.evaluation.baselines import DelayedMirror
from af_plugin.evaluation.heldout import HeldoutDataError, load_heldout
from af_plugin.motion.contract import CHANNEL_INDEX, NUM_CHANNELS
from af_plugin.training.shards import DatasetFormatError

EVAL_KEYS = ("rpcc_exp", "rpcc_pose", "sid", "var", "fd", "lipsync_r")
BENCH_KEYS = (
    "latency_ms_p50",
    "latency_ms_p95",
    "generator_ms_per_block",
    "rtf",
    "kv_cache_speedup",
    "sessions_fps",
    "render_fps",
    "tracker_fps",
    "machine",
)


def write_corpus(root: Path, conversations: int = 3, seconds: float = 3.0, seed: int = 0) -> Path:
    """A tiny corpus in the shared shard format (written by the data part's own writer): talk turns
    (a, then b) with a jaw that follows the voice and a swaying head."""
    from af_plugin.training import shards

    rng = np.random.default_rng(seed)
    n = int(seconds * FPS)
    t = np.arange(n * SAMPLES_PER_FRAME) / SAMPLE_RATE
    entries = []
    for k in range(conversations):
        audio, motion = {}, {}
        for party, phase in (("a", 0.0), ("b", math.pi)):
            talking = (np.sin(2 * np.pi * 0.5 * t + phase) > 0) * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t))
            audio[party] = 0.3 * talking * np.sin(2 * np.pi * 180 * t) + 0.002 * rng.normal(size=len(t))
            v = 0.02 * rng.random((n, NUM_CHANNELS)).astype(np.float32)
            v[:, CHANNEL_INDEX["jawOpen"]] = 0.6 * talking.reshape(n, SAMPLES_PER_FRAME).mean(axis=1)
            v[:, CHANNEL_INDEX["headPitch"]] = 0.05 * np.sin(np.arange(n) / FPS * 2 + phase)
            motion[party] = v
        entry = {"split": "train" if k == 0 else "heldout"}
        cid = f"conv_{k:05d}"
        shards.write_conversation(root, cid, audio, motion, {"turns": []}, entry)
        entries.append({**entry, "id": cid, "frames": n})
    shards.write_manifest(root, seed, {}, entries)
    return root


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return write_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory) -> Path:
    import torch

    from af_plugin.model.checkpoint import save_checkpoint
    from af_plugin.model.network import AvatarForcingNet, NetworkConfig

    torch.manual_seed(0)
    return save_checkpoint(
        tmp_path_factory.mktemp("ckpt") / "tiny.safetensors",
        AvatarForcingNet(NetworkConfig.tiny()),
        stage="random-init",
    )


def _run_json(capsys, argv: list[str]) -> dict:
    """Run `af` with one torch thread (tiny ops on a shared CPU), restoring the thread count after."""
    import torch

    threads = torch.get_num_threads()
    try:
        assert main([*argv, "--threads", "1"]) == 0
    finally:
        torch.set_num_threads(threads)
    return json.loads(capsys.readouterr().out)


def test_load_heldout_reads_the_heldout_split_in_both_roles(corpus):
    convs = load_heldout(corpus, roles="ab")
    assert [c.id for c in convs] == ["conv_00001:a", "conv_00001:b", "conv_00002:a", "conv_00002:b"]
    a, b = convs[0], convs[1]
    assert np.array_equal(a.avatar_motion, b.user_motion) and np.array_equal(a.user_audio, b.avatar_audio)
    assert a.frames == 75 and len(a.avatar_audio) == 75 * SAMPLES_PER_FRAME
    assert load_heldout(corpus, max_conversations=1, max_seconds=1.0)[0].frames == FPS


def test_load_heldout_errors(tmp_path, corpus):
    with pytest.raises(DatasetFormatError, match="no manifest.json"):
        load_heldout(tmp_path)
    with pytest.raises(HeldoutDataError, match="no conversations with split 'test'"):
        load_heldout(corpus, split="test")
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(DatasetFormatError, match="not valid JSON"):
        load_heldout(tmp_path)


def test_delayed_mirror_copies_the_user_late(corpus):
    conv = load_heldout(corpus, max_conversations=1)[0]
    out = DelayedMirror(0.5).generate(conv)
    d = round(0.5 * FPS)
    assert out.shape == conv.user_motion.shape
    assert np.array_equal(out[d:], conv.user_motion[:-d])
    assert np.array_equal(out[:d], np.repeat(conv.user_motion[:1], d, axis=0))


def test_af_eval_json_quick_end_to_end(capsys, tmp_path, corpus, tiny_checkpoint):
    out = _run_json(
        capsys,
        [
            "eval",
            "--data",
            str(corpus),
            "--checkpoint",
            str(tiny_checkpoint),
            "--quick",
            "--json",
            "--hdtf",
            "",
            "--out",
            str(tmp_path),
            "--max-seconds",
            "2",
            "--block-sizes",
            "2,10",
            "--drift-minutes",
            "0.05",
        ],
    )
    for key in EVAL_KEYS:
        assert isinstance(out[key], float) and math.isfinite(out[key]), key
    expected = {"mirror_0.5s", "model_no_user", "model_block2", "model_block10"}
    assert expected <= set(out["baselines"])
    for name in expected:
        assert all(math.isfinite(out["baselines"][name][k]) for k in EVAL_KEYS), name
    real = out["real"]
    assert real["rpcc_exp"] == 0.0 and real["fd"] == pytest.approx(0.0, abs=1e-9) and real["sid"] > 0
    drift = out["drift"]
    assert drift["first"]["start_s"] == 0.0 and drift["last"]["end_s"] == pytest.approx(3.0)
    # the block-2 baseline is the default model (block 2): same generator, same seed → same scores
    assert all(out["baselines"]["model_block2"][k] == out[k] for k in EVAL_KEYS)
    files = out["files"]
    assert json.loads(Path(files["json"]).read_text())["rpcc_exp"] == out["rpcc_exp"]
    assert "| model" in Path(files["markdown"]).read_text()
    for key in ("curves_0", "scores", "drift", "drift_curves"):
        assert Path(files[key]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", key


def test_af_bench_json_quick_end_to_end(capsys, tmp_path, tiny_checkpoint):
    out = _run_json(
        capsys,
        [
            "bench",
            "--checkpoint",
            str(tiny_checkpoint),
            "--quick",
            "--json",
            "--out",
            str(tmp_path),
            "--video",
            "",
            "--seconds",
            "2",
        ],
    )
    for key in BENCH_KEYS:
        assert key in out, key
    for key in ("latency_ms_p50", "latency_ms_p95", "generator_ms_per_block", "rtf", "kv_cache_speedup", "render_fps"):
        assert out[key] > 0, key
    assert out["latency_ms_p95"] >= out["latency_ms_p50"]
    # on the simulated clock no frame can come out before the rest of its block and the lookahead are heard
    sim = out["latency_simulated"]
    assert sim["algorithmic_ms"] == (out["model"]["block_size"] - 1 + out["model"]["lookahead"]) * 1000 / FPS
    assert sim["latency_ms"]["p50"] >= sim["algorithmic_ms"] - 1e-6
    assert set(out["sessions_fps"]) == {"1", "8", "64"} and all(v > 0 for v in out["sessions_fps"].values())
    assert out["tracker_fps"] is None and "tracker" in out["skipped"]  # --video '' skips it, with the reason
    assert out["machine"]["cpu_cores"] >= 1 and out["machine"]["torch"]
    assert json.loads((tmp_path / "bench_quick.json").read_text())["rtf"] == out["rtf"]


def test_af_eval_rejects_a_missing_data_dir(capsys, tmp_path):
    assert main(["eval", "--data", str(tmp_path / "nope"), "--quick"]) == 2
    assert "is not a directory" in capsys.readouterr().err
