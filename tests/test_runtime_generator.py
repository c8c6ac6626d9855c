"""The generator contract the engine relies on, held by both StreamingGenerator and the procedural stand-in."""

from __future__ import annotations

import numpy as np
import pytest

from af_plugin.config import ModelConfig
from af_plugin.constants import AUDIO_FEATURE_DIM
from af_plugin.motion.contract import CHANNEL_INDEX, NUM_CHANNELS
from af_plugin.runtime.generator import load_generator
from af_plugin.runtime.standin import StandInGenerator


def generators():
    gen, info = load_generator(ModelConfig(steps=1))
    return [(gen, info.kind), (StandInGenerator.load(block_size=2, lookahead=1), "stand-in")]


@pytest.mark.parametrize("gen, kind", generators(), ids=["model", "stand-in"])
def test_push_ready_step_contract(gen, kind):
    a = gen.open_session(seed=0, session_id=f"contract-{kind}")
    b = gen.open_session(seed=1, session_id=f"contract-{kind}-b")
    need = gen.block_size + gen.lookahead
    a.push(frames=need - 1)  # every input absent
    assert not a.ready()
    a.push(avatar_audio=np.zeros((1, AUDIO_FEATURE_DIM), np.float32), frames=1)
    b.push(
        user_audio=np.zeros((need, AUDIO_FEATURE_DIM), np.float32),
        user_motion=np.zeros((need, NUM_CHANNELS), np.float32),
    )
    assert a.ready() and b.ready()
    outs = gen.step([a, b])  # both in one call
    assert [o.first_index for o in outs] == [0, 0]
    for o in outs:
        assert o.values.shape == (gen.block_size, NUM_CHANNELS) and o.values.dtype == np.float32
        assert o.latents.shape[0] == gen.block_size and np.isfinite(o.values).all()
    assert not a.ready() and gen.step([a]) == []
    a.push(frames=gen.block_size)
    assert gen.step([a])[0].first_index == gen.block_size
    a.reset()
    a.push(frames=need)
    assert gen.step([a])[0].first_index == 0
    gen.close_session(a)
    gen.close_session(b)


def test_stand_in_opens_the_jaw_with_loud_avatar_audio():
    gen = StandInGenerator.load(block_size=2, lookahead=0)
    sess = gen.open_session()
    quiet, loud = np.full((1, AUDIO_FEATURE_DIM), -10.0, np.float32), np.full((1, AUDIO_FEATURE_DIM), 2.0, np.float32)
    jaw = []
    for k in range(200):
        sess.push(avatar_audio=loud if (k // 25) % 2 else quiet)
        for out in gen.step([sess]):
            jaw.extend(out.values[:, CHANNEL_INDEX["jawOpen"]])
    jaw = np.array(jaw)
    talking = np.array([(k // 25) % 2 == 1 for k in range(len(jaw))])
    assert jaw[talking].mean() > jaw[~talking].mean() + 0.2
    assert len(sess.conditions) <= gen.block_size + gen.lookahead  # bounded memory for long sessions
