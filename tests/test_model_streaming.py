"""Streaming sampler properties: exact KV cache, causality, batching, determinism, unbounded sessions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from af_plugin.model.network import AvatarForcingNet, NetworkConfig
from af_plugin.model.streaming import StreamingGenerator, generate_offline


@pytest.fixture(scope="module")
def net() -> AvatarForcingNet:
    """A tiny random network whose zero-initialised (adaLN-Zero) layers are randomised, so every path matters."""
    torch.manual_seed(0)
    n = AvatarForcingNet(NetworkConfig.tiny())
    with torch.no_grad():
        for p in n.parameters():
            if p.abs().sum() == 0:
                p.normal_(std=0.1)
    return n.eval()


def inputs(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    ua = rng.normal(size=(n, 320)).astype(np.float32)
    aa = rng.normal(size=(n, 320)).astype(np.float32)
    um = (0.1 * rng.normal(size=(n, 62))).astype(np.float32)
    return ua, aa, um


def run(gen, ua, aa, um, seed=0):
    return generate_offline(gen, avatar_audio=aa, user_audio=ua, user_motion=um, seed=seed).meta["latents"]


@pytest.mark.parametrize("block,lookahead", [(1, 0), (2, 1), (5, 2)])
def test_kv_cache_equals_recompute(net, block, lookahead):
    ua, aa, um = inputs(70)  # longer than the receptive field (2 layers x 12 context): the cache rolls
    cached = run(StreamingGenerator(net, block_size=block, lookahead=lookahead), ua, aa, um)
    recomputed = run(StreamingGenerator(net, block_size=block, lookahead=lookahead, kv_cache=False), ua, aa, um)
    assert cached.shape == (70, 8)
    assert np.abs(cached - recomputed).max() < 1e-4
    assert np.abs(cached).max() > 0.1  # not trivially zero


@pytest.mark.parametrize("block,lookahead", [(2, 1), (3, 0), (1, 2)])
def test_causality(net, block, lookahead):
    """Changing any input later than t + lookahead never changes frames <= t."""
    ua, aa, um = inputs(40)
    gen = StreamingGenerator(net, block_size=block, lookahead=lookahead)
    base = run(gen, ua, aa, um)
    t = 17
    ua2, aa2, um2 = ua.copy(), aa.copy(), um.copy()
    ua2[t + lookahead + 1 :] += 3.0
    aa2[t + lookahead + 1 :] *= -1
    um2[t + lookahead + 1 :] = np.nan  # the face disappears
    changed = run(gen, ua2, aa2, um2)
    np.testing.assert_array_equal(base[: t + 1], changed[: t + 1])
    assert np.abs(base[t + lookahead + 1 :] - changed[t + lookahead + 1 :]).max() > 1e-3  # the inputs matter
    # and one frame earlier is enough to change frame t: the look-ahead is really used
    ua3 = ua.copy()
    ua3[t + lookahead :] += 3.0
    assert np.abs(run(gen, ua3, aa, um)[t] - base[t]).max() > 1e-6


def test_batched_sessions_equal_alone_and_join_leave(net):
    gen = StreamingGenerator(net, block_size=2, lookahead=1)
    data = [inputs(30, seed=i) for i in range(3)]
    alone = [run(gen, *d, seed=10 + i)[:24] for i, d in enumerate(data)]
    sessions = [gen.open_session(seed=10 + i, session_id=f"s{i}") for i in range(3)]
    got = {i: [] for i in range(3)}
    for i, (ua, aa, um) in enumerate(data):
        sessions[i].push(user_audio=ua, avatar_audio=aa, user_motion=um)
    # session 2 joins late, session 0 leaves early
    for step in range(12):
        active = [s for i, s in enumerate(sessions) if not (i == 2 and step < 4) and not (i == 0 and step >= 8)]
        for out in gen.step(active):
            got[int(out.session_id[1])].append(out.latents)
    for i, n in ((0, 16), (1, 24), (2, 16)):
        np.testing.assert_allclose(np.concatenate(got[i])[:n], alone[i][:n], atol=1e-4)


def test_same_seed_same_motion_other_seed_differs(net):
    gen = StreamingGenerator(net)
    ua, aa, um = inputs(20)
    a, b, c = run(gen, ua, aa, um, seed=3), run(gen, ua, aa, um, seed=3), run(gen, ua, aa, um, seed=4)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 1e-3


def test_absent_inputs_differ_from_zeros(net):
    """None means absent (learned null tokens), not zero-filled features."""
    gen = StreamingGenerator(net)
    ua, aa, um = inputs(20)
    absent = generate_offline(gen, avatar_audio=aa, seed=0).meta["latents"]
    zeros = generate_offline(gen, avatar_audio=aa, user_audio=np.zeros_like(ua), user_motion=np.zeros_like(um), seed=0)
    assert np.abs(absent - zeros.meta["latents"]).max() > 1e-3


def test_far_positions_are_exact_and_state_is_bounded(net):
    """A session at frame 10**6 computes exactly what one at frame 0 does, and its state stops growing."""
    gen = StreamingGenerator(net, block_size=2, lookahead=1)
    ua, aa, um = inputs(400)
    near = gen.open_session(seed=5, session_id="near")
    far = gen.open_session(seed=5, session_id="far", first_index=1_000_000)
    sizes, outs_near, outs_far = [], [], []
    for t in range(0, 396, 2):
        for s in (near, far):
            s.push(user_audio=ua[t : t + 2], avatar_audio=aa[t : t + 2], user_motion=um[t : t + 2])
        for out in gen.step([near, far]):
            (outs_near if out.session_id == "near" else outs_far).append(out)
        sizes.append(far.state_elements())
    assert outs_far[-1].first_index > 1_000_000 + 380
    vn = np.concatenate([o.values for o in outs_near])
    vf = np.concatenate([o.values for o in outs_far])
    np.testing.assert_allclose(vn, vf, atol=1e-5)
    assert np.isfinite(vf).all()
    lat = np.concatenate([o.latents for o in outs_far])
    assert lat[-100:].std() < 10 * lat[:100].std() + 1e-3  # well scaled late in the session
    assert max(sizes[100:]) == max(sizes[50:100])  # memory stopped growing once the context filled


def test_ready_and_push_validation(net):
    from af_plugin.errors import AudioFormatError

    gen = StreamingGenerator(net, block_size=2, lookahead=1)
    s = gen.open_session()
    s.push(frames=2)
    assert not s.ready()
    s.push(frames=1)
    assert s.ready()
    assert gen.step([s])[0].values.shape == (2, 62)
    with pytest.raises(AudioFormatError):
        s.push(avatar_audio=np.zeros((3, 80)))
    with pytest.raises(ValueError):
        s.push(avatar_audio=np.zeros((3, 320)), user_audio=np.zeros((2, 320)))


def test_kv_cache_can_be_toggled_mid_session(net):
    """Turning the cache off and on between steps (as benchmarks do) rebuilds it exactly from history."""
    ua, aa, um = inputs(80)
    ref = run(StreamingGenerator(net, block_size=2, lookahead=1), ua, aa, um)
    gen = StreamingGenerator(net, block_size=2, lookahead=1)
    s = gen.open_session(seed=0)
    s.push(user_audio=ua, avatar_audio=aa, user_motion=um)
    got = []
    for i in range(39):
        gen.kv_cache = (i // 7) % 2 == 0
        got.append(gen.step([s])[0].latents)
    np.testing.assert_allclose(np.concatenate(got), ref[:78], atol=1e-4)
