"""The model shipped in the package: loads by default, is what its metadata says, and talks when spoken for."""

from __future__ import annotations

import numpy as np
import pytest

from af_plugin.model.checkpoint import read_metadata
from af_plugin.model.streaming import DEFAULT_CHECKPOINT, StreamingGenerator, generate_offline
from af_plugin.motion.contract import CHANNEL_INDEX

pytestmark = pytest.mark.skipif(not DEFAULT_CHECKPOINT.is_file(), reason="no shipped default model")


def test_shipped_model_metadata_and_size():
    assert DEFAULT_CHECKPOINT.stat().st_size <= 20 * 1024 * 1024
    meta = read_metadata(DEFAULT_CHECKPOINT)
    assert meta["stage"] in ("generator", "dpo")
    assert meta["data"]["conversations"] > 0
    assert "autoencoder" in meta["metrics"]["history"]
    gen = StreamingGenerator.load()  # no argument: the shipped model, no warning
    assert (gen.block_size, gen.lookahead) == (2, 1)


def test_mouth_opens_for_real_speech_and_rests_in_silence(shared_data):
    from af_plugin.perception.audio import load_audio

    speech = load_audio(shared_data / "hdtf_radio31_16k.wav")[16000 : 16000 * 3]  # 2 s of a radio voice
    audio = np.concatenate([np.zeros(16000 * 2, np.float32), speech])  # 2 s of silence first
    clip = generate_offline(StreamingGenerator.load(device="cpu"), avatar_audio=audio, seed=0)
    jaw = clip.values[:, CHANNEL_INDEX["jawOpen"]]
    silent, talking = jaw[10:45], jaw[55:100]
    assert talking.mean() > silent.mean() + 0.05, (silent.mean(), talking.mean())
    assert talking.std() > silent.std()  # it moves with the syllables, it does not just hold open
