"""samples/configs/*.toml: each loads through ``af run --config FILE`` and validates; game_npc runs for real
(Live Link to a real UDP receiver); the device-bound ones fail at start with the actionable fix when the
device is missing."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from test_samples_support import REPO, AfRun, UdpReceiver

from af_plugin.cli import build_parser
from af_plugin.cli.run import config_from_args
from af_plugin.config import load_config

CONFIGS = REPO / "samples" / "configs"


def cli_config(*argv: str):
    args = build_parser().parse_args(["run", *argv])
    return config_from_args(args)


@pytest.mark.parametrize("name", ["streamer.toml", "meeting.toml", "game_npc.toml"])
def test_config_loads_and_validates(name):
    path = CONFIGS / name
    direct = load_config(path)
    via_cli = cli_config("--config", str(path))
    assert direct == via_cli
    # Every key the file sets is a real key (load_config raises on unknown ones) with a non-default value
    # somewhere: the file is not an empty shell.
    assert direct != load_config(None)


def test_streamer_config_is_a_listening_cohost_with_camera():
    cfg = load_config(CONFIGS / "streamer.toml")
    assert cfg.sources.user_audio == "mic" and cfg.sources.avatar_audio is None
    assert cfg.outputs.vcam and cfg.outputs.ws
    assert cfg.server.host == "127.0.0.1" and cfg.server.token is None


def test_meeting_config_routes_mic_to_avatar_and_meeting_to_user():
    cfg = load_config(CONFIGS / "meeting.toml")
    assert cfg.sources.avatar_audio == "mic"
    assert cfg.sources.user_audio.startswith("mic:")
    assert cfg.outputs.vcam
    assert cfg.render.width * 9 == cfg.render.height * 16
    # The quick-start's per-OS overrides replace the loopback device.
    cfg = cli_config("--config", str(CONFIGS / "meeting.toml"), "--user-audio", "mic:BlackHole 2ch")
    assert cfg.sources.user_audio == "mic:BlackHole 2ch"


def test_game_npc_config_runs_websocket_and_live_link(tmp_path: Path):
    cfg = load_config(CONFIGS / "game_npc.toml")
    assert cfg.outputs.ws and cfg.outputs.livelink and cfg.server.max_sessions >= 8
    with UdpReceiver() as unreal:
        with AfRun("--config", str(CONFIGS / "game_npc.toml"), "--set", f"outputs.livelink={unreal.target}",
                   "--set", "model.steps=1", "--duration", "2") as af:  # fmt: skip
            af.ready()
            assert af.wait() == 0, af.output
        assert "stopped after 2.0 s" in af.output
    frames = []
    for packet in unreal.packets:
        n_dev = struct.unpack_from(">i", packet, 1)[0]
        n_subj = struct.unpack_from(">i", packet, 5 + n_dev)[0]
        subject = packet[9 + n_dev : 9 + n_dev + n_subj].decode()
        assert subject == cfg.outputs.livelink_subject
        frames.append(struct.unpack_from(">i", packet, 9 + n_dev + n_subj)[0])
    assert len(frames) >= 40 and frames == list(range(frames[0], frames[0] + len(frames)))


def _has_video_device() -> bool:
    return any(Path("/dev").glob("video*"))


@pytest.mark.skipif(_has_video_device(), reason="a video device exists here: the camera may really open")
def test_streamer_without_virtual_camera_says_how_to_get_one(shared_data):
    from af_plugin.errors import DeviceError
    from af_plugin.runtime.app import build_app

    # What `af run --config streamer.toml --user-audio FILE` does up to opening its outputs, in-process.
    cfg = cli_config("--config", str(CONFIGS / "streamer.toml"), "--user-audio", str(shared_data / "hdtf_radio31_16k.wav"),
                     "--set", "model.steps=1")  # fmt: skip
    with pytest.raises(DeviceError) as info:
        build_app(cfg)
    message = str(info.value)
    assert message.startswith("no virtual camera") and "Fix:" in message and "\n" not in message


def test_meeting_without_loopback_device_says_how_to_pick_one():
    from af_plugin.errors import DeviceError
    from af_plugin.runtime.app import build_app

    try:
        import sounddevice as sd

        names = [d["name"] for d in sd.query_devices()]
    except OSError:
        names = []
    if any("CABLE Output" in n for n in names):
        pytest.skip("VB-Cable is installed here: the device may really open")
    cfg = cli_config("--config", str(CONFIGS / "meeting.toml"), "--set", "outputs.vcam=false", "--set", "model.steps=1")
    with pytest.raises(DeviceError) as info:
        build_app(cfg)
    message = str(info.value)
    assert "microphone" in message and "mic:NAME" in message and "\n" not in message
