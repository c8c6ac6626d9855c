"""One typed configuration for the runtime: TOML file + command-line overrides, validated by name.

Sections are frozen-by-convention dataclasses. Errors name the bad key and what is allowed, e.g.
``config key 'model.block_size': 12 is outside 1..10``. Add a field here to make a new setting exist
everywhere (TOML, ``--set section.key=value``, ``af run --config``).
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from af_plugin.constants import DEFAULT_HOST, DEFAULT_WS_PORT
from af_plugin.errors import ConfigError


def _range(lo: float, hi: float) -> dict:
    return {"range": (lo, hi)}


@dataclass
class ModelConfig:
    checkpoint: str | None = None
    """Path to a .safetensors checkpoint; None uses the model shipped in the package."""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    block_size: int = field(default=2, metadata=_range(1, 10))
    lookahead: int = field(default=1, metadata=_range(0, 2))
    steps: int = field(default=4, metadata=_range(1, 50))
    cfg_avatar: float = field(default=2.0, metadata=_range(0.0, 10.0))
    cfg_user: float = field(default=1.0, metadata=_range(0.0, 10.0))
    seed: int = 0


@dataclass
class SourcesConfig:
    user_audio: str | None = None
    """FILE, ``mic`` or ``mic:DEVICE`` (name or index)."""
    user_video: str | None = None
    """FILE, ``cam`` or ``cam:INDEX``."""
    avatar_audio: str | None = None
    """FILE, ``mic`` or ``mic:DEVICE``; websocket clients may also push avatar audio."""
    loop: bool = False
    realtime: bool = True
    """Replay file sources at 25 fps wall-clock (False: as fast as the generator runs)."""


@dataclass
class ServerConfig:
    host: str = DEFAULT_HOST
    port: int = field(default=DEFAULT_WS_PORT, metadata=_range(0, 65535))
    token: str | None = None
    """Required for any bind address other than loopback."""
    allowed_origins: list[str] = field(default_factory=list)
    max_message_bytes: int = field(default=1 << 20, metadata=_range(1024, 64 << 20))
    max_sessions: int = field(default=8, metadata=_range(1, 256))
    """Avatars one server runs at once (clients create sessions by naming them)."""
    queue_messages: int = field(default=256, metadata=_range(4, 100_000))
    """Outgoing messages queued per client before the oldest are dropped (slow client)."""
    slow_client_s: float = field(default=2.0, metadata=_range(0.05, 600.0))
    """A client whose queue stays full this long is disconnected (close code 1008)."""
    send_buffer_bytes: int = field(default=256 * 1024, metadata=_range(0, 64 << 20))
    """Kernel send buffer per client (0: OS default); bounds how stale frames in flight can get."""
    session_idle_s: float = field(default=60.0, metadata=_range(0.1, 86400.0))
    """A session a client created is closed after this long with no subscriber, audio or control."""


@dataclass
class OutputsConfig:
    ws: bool = True
    livelink: str | None = None
    """HOST:PORT of an Unreal Live Link Face source."""
    livelink_subject: str = "Avatar"
    livelink_angle_units: Literal["rad", "deg"] = "rad"
    """Unit of head/eye angles in Live Link Face packets (docs/unreal.md)."""
    vmc: str | None = None
    """HOST:PORT of a VMC receiver (VSeeFace, Warudo, VNyan...)."""
    vmc_bundle: bool = True
    vmc_case: Literal["camel", "pascal"] = "camel"
    vmc_names: Literal["both", "arkit", "vrm"] = "both"
    """Blendshape names sent over VMC: ARKit (Perfect Sync), derived VRM presets, or both (docs/vmc.md)."""
    vcam: bool = False
    record: str | None = None
    """Recording path; the extension picks the format (.csv, .afm, .npz, .mp4)."""


@dataclass
class RenderConfig:
    style: Literal["stylized", "portrait"] = "stylized"
    portrait: str | None = None
    width: int = field(default=512, metadata=_range(64, 4096))
    height: int = field(default=512, metadata=_range(64, 4096))
    background: str = "#1e2430"
    """A colour ``#rrggbb`` or ``transparent``."""


@dataclass
class Config:
    model: ModelConfig = field(default_factory=ModelConfig)
    sources: SourcesConfig = field(default_factory=SourcesConfig)
    server: ServerConfig = field(default_factory=ServerConfig)
    outputs: OutputsConfig = field(default_factory=OutputsConfig)
    render: RenderConfig = field(default_factory=RenderConfig)


# --- validation ---------------------------------------------------------------------------------------


def _describe(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(tp))
    if origin is list:
        return f"a list of {_describe(typing.get_args(tp)[0])}"
    return {type(None): "none", str: "a string", int: "an integer", float: "a number", bool: "true/false"}.get(
        tp, str(tp)
    )


def _coerce(key: str, value: Any, tp: Any, meta: dict) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        for a in args:
            if a is type(None):
                continue
            try:
                return _coerce(key, value, a, meta)
            except ConfigError:
                continue
        raise ConfigError(key, f"{value!r} is not {_describe(tp)}")
    if origin is Literal:
        allowed = typing.get_args(tp)
        if value not in allowed:
            raise ConfigError(key, f"{value!r} is not allowed; allowed values: {', '.join(map(repr, allowed))}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(key, f"{value!r} is not {_describe(tp)}")
        return [_coerce(f"{key}[{i}]", v, typing.get_args(tp)[0], {}) for i, v in enumerate(value)]
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(key, f"{value!r} is not true/false")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(key, f"{value!r} is not an integer")
    elif tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(key, f"{value!r} is not a number")
        value = float(value)
    elif tp is str:
        if not isinstance(value, str):
            raise ConfigError(key, f"{value!r} is not a string")
    if "range" in meta:
        lo, hi = meta["range"]
        if not lo <= value <= hi:
            raise ConfigError(key, f"{value!r} is outside {lo}..{hi}")
    return value


def _apply(obj: Any, data: dict, prefix: str = "") -> None:
    hints = typing.get_type_hints(type(obj))
    fields = {f.name: f for f in dataclasses.fields(obj)}
    for key, value in data.items():
        full = f"{prefix}{key}"
        if key not in fields:
            raise ConfigError(full, f"unknown key; allowed keys here: {', '.join(fields)}")
        tp = hints[key]
        if dataclasses.is_dataclass(tp):
            if not isinstance(value, dict):
                raise ConfigError(full, f"expected a table [{full}], got {value!r}")
            _apply(getattr(obj, key), value, full + ".")
        else:
            setattr(obj, key, _coerce(full, value, tp, dict(fields[key].metadata)))


def _parse_override_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text  # a bare word is a string: --set render.style=portrait


def parse_override(item: str) -> tuple[str, Any]:
    """``section.key=value`` → (dotted key, typed value); the value is read as TOML, else a string."""
    if "=" not in item:
        raise ConfigError(item, "overrides look like section.key=value")
    key, text = item.split("=", 1)
    return key.strip(), _parse_override_value(text.strip())


def _nest(dotted: dict[str, Any]) -> dict:
    out: dict = {}
    for key, value in dotted.items():
        node = out
        *parents, leaf = key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return out


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> Config:
    """Defaults, then the TOML file, then overrides (dotted keys; values already typed or TOML text)."""
    cfg = Config()
    if path is not None:
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(str(path), "config file does not exist") from None
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(str(path), f"not valid TOML ({e})") from None
        _apply(cfg, data)
    if overrides:
        _apply(cfg, _nest(overrides))
    return cfg


def config_to_dict(cfg: Config) -> dict:
    return dataclasses.asdict(cfg)
