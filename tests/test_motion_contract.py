from af_plugin.motion import contract
from af_plugin.motion.contract import (
    ARKIT_BLENDSHAPES,
    CHANNEL_RANGES,
    CHANNELS,
    EYE_GAZE,
    HEAD_ROTATION,
    HEAD_TRANSLATION,
    channel_slice,
    indices,
)


def test_arkit_names_in_apples_order():
    assert len(ARKIT_BLENDSHAPES) == 52
    assert ARKIT_BLENDSHAPES[:3] == ("eyeBlinkLeft", "eyeLookDownLeft", "eyeLookInLeft")
    assert ARKIT_BLENDSHAPES[17] == "jawOpen"
    assert ARKIT_BLENDSHAPES[-3:] == ("noseSneerLeft", "noseSneerRight", "tongueOut")
    # Apple's order is not alphabetical (Unity's enum is): bridges must key by name.
    assert list(ARKIT_BLENDSHAPES) != sorted(ARKIT_BLENDSHAPES)


def test_channels_layout_is_complete_and_unique():
    assert CHANNELS == ARKIT_BLENDSHAPES + HEAD_ROTATION + HEAD_TRANSLATION + EYE_GAZE
    assert len(set(CHANNELS)) == len(CHANNELS) == 62
    assert set(CHANNEL_RANGES) == set(CHANNELS)
    assert isinstance(contract.LAYOUT_VERSION, int)


def test_group_slices_and_name_lookup():
    assert CHANNELS[channel_slice(HEAD_ROTATION)] == HEAD_ROTATION
    assert CHANNELS[channel_slice(EYE_GAZE)] == EYE_GAZE
    assert indices(["jawOpen", "headYaw"]) == [17, 52]
    try:
        indices(["jawopen"])
    except KeyError as e:
        assert "jawopen" in str(e)
    else:
        raise AssertionError("unknown channel accepted")
