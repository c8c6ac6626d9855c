"""Bench building blocks with known answers: the engine's playout rule, machine info, batched step timing."""

from __future__ import annotations

import pytest

from af_plugin.constants import FPS
from af_plugin.evaluation import bench as B
from af_plugin.evaluation.machine import describe, machine_info

TICK = 1.0 / FPS


def test_paced_playout_one_frame_per_tick():
    # a 2-frame block done at 90 ms: first frame at the 120 ms tick, the second one tick later
    out = B.paced_playout([(0.09, 0), (0.09, 1), (0.17, 2), (0.17, 3)], block_size=2)
    assert [i for _, i in out] == [0, 1, 2, 3]
    assert [t for t, _ in out] == pytest.approx([3 * TICK, 4 * TICK, 5 * TICK, 6 * TICK])


def test_paced_playout_catches_up_a_backlog_at_once():
    # 8 frames ready together, block 2: the engine emits all but one block's worth at once, then paces
    out = B.paced_playout([(0.5, i) for i in range(8)], block_size=2)
    times = [t for t, _ in out]
    assert times[:7] == pytest.approx([13 * TICK] * 7) and times[7] == pytest.approx(14 * TICK)


@pytest.fixture(scope="module")
def tiny_generator():
    import torch

    from af_plugin.model.network import AvatarForcingNet, NetworkConfig
    from af_plugin.model.streaming import StreamingGenerator

    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny ops on a shared CPU: threads only add synchronisation
    try:
        yield StreamingGenerator(AvatarForcingNet(NetworkConfig.tiny()), block_size=2, lookahead=1, steps=2)
    finally:
        torch.set_num_threads(threads)


def test_simulated_latency_respects_the_algorithmic_floor(tiny_generator):
    r = B.simulated_latency(tiny_generator, seconds=2.0)
    assert r["algorithmic_ms"] == pytest.approx(2 * 1000 / FPS)  # (block 2 − 1 + lookahead 1) frames
    assert r["latency_ms"]["n"] > 0
    # every frame waits at least for the rest of its block and the lookahead, then for the next tick
    assert r["latency_ms"]["p50"] >= r["algorithmic_ms"] + 1000 / FPS - 1e-6


def test_step_times_and_sessions_fps(tiny_generator):
    times = B.step_times(tiny_generator, sessions=3, blocks=2, warmup=1)
    assert len(times) == 2 and all(t > 0 for t in times)
    fps = B.sessions_fps(tiny_generator, (1, 4), blocks=1, warmup=1)
    assert set(fps) == {"1", "4"} and all(v > 0 for v in fps.values())
    assert not tiny_generator.sessions  # every benchmark session was closed


def test_kv_cache_speedup_restores_the_cache_flag(tiny_generator):
    def switch(gen, enabled):
        gen.kv_cache = enabled

    r = B.kv_cache_speedup(tiny_generator, switch, blocks=2, history_blocks=3)
    assert r["speedup"] > 0 and r["history_frames"] == 6
    assert tiny_generator.kv_cache is True


def test_machine_info():
    info = machine_info()
    assert info["cpu_cores"] >= 1 and info["torch"] and info["cuda"] in (True, False)
    assert info["cpu"] in describe(info)
