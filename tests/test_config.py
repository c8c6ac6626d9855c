import pytest

from af_plugin.config import load_config, parse_override
from af_plugin.errors import ConfigError


def test_defaults_toml_and_overrides(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[model]\nblock_size = 5\n[outputs]\nlivelink = "127.0.0.1:11111"\n')
    cfg = load_config(path, dict([parse_override("model.steps=6"), parse_override("render.style=portrait")]))
    assert cfg.model.block_size == 5 and cfg.model.steps == 6
    assert cfg.outputs.livelink == "127.0.0.1:11111"
    assert cfg.render.style == "portrait"
    assert cfg.server.host == "127.0.0.1"


@pytest.mark.parametrize(
    "override, words",
    [
        ("model.block_size=12", ["model.block_size", "1..10"]),
        ("model.device='tpu'", ["model.device", "'cpu'", "'cuda'"]),
        ("model.blocksize=2", ["model.blocksize", "block_size"]),
        ("nosuch.key=1", ["nosuch", "model"]),
        ("model.steps='four'", ["model.steps", "integer"]),
        ("sources.loop=3", ["sources.loop", "true/false"]),
    ],
)
def test_errors_name_the_key_and_allowed_values(override, words):
    with pytest.raises(ConfigError) as e:
        load_config(overrides=dict([parse_override(override)]))
    for w in words:
        assert w in str(e.value)


def test_bad_toml_file(tmp_path):
    (tmp_path / "bad.toml").write_text("[model\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(tmp_path / "bad.toml")
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "none.toml")
