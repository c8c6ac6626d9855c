"""Checkpoints: safetensors weights + JSON metadata (config, layout version, data description, metrics).

Never unpickles. The header is validated before anything is parsed: its declared size must fit the file
and a sane bound, so a crafted or truncated file fails fast with one CheckpointError line instead of
exhausting memory or raising a library traceback.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from af_plugin.errors import CheckpointError
from af_plugin.model.network import AvatarForcingNet, NetworkConfig
from af_plugin.motion.contract import LAYOUT_VERSION

FORMAT = "af-checkpoint"
FORMAT_VERSION = 1
MAX_HEADER_BYTES = 16 << 20  # a real header (tensor index + metadata) is a few tens of kB


def save_checkpoint(
    path: str | Path,
    net: AvatarForcingNet,
    *,
    stage: str,
    data: dict | None = None,
    metrics: dict | None = None,
    extra_tensors: dict[str, torch.Tensor] | None = None,
) -> Path:
    """Write weights + metadata atomically (temp file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    for k, v in (extra_tensors or {}).items():
        tensors[k] = v.detach().cpu().contiguous()
    meta = {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "layout_version": str(LAYOUT_VERSION),
        "stage": stage,
        "config": json.dumps(net.cfg.to_dict()),
        "data": json.dumps(data or {}),
        "metrics": json.dumps(metrics or {}),
    }
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata=meta)
    tmp.replace(path)
    return path


def read_header(path: str | Path) -> dict:
    """The safetensors JSON header (tensor index + ``__metadata__``), validated; raises CheckpointError."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint file does not exist")
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise CheckpointError(f"{path}: not a safetensors checkpoint ({size} bytes, too short for a header)")
        (n,) = struct.unpack("<Q", head)
        if n > MAX_HEADER_BYTES or n > size - 8:
            raise CheckpointError(
                f"{path}: corrupt or truncated checkpoint (header claims {n} bytes, file has {size - 8} after the size field)"
            )
        raw = f.read(n)
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise CheckpointError(f"{path}: not a safetensors checkpoint (header is not JSON: {str(e)[:80]})") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: not a safetensors checkpoint (header is not a JSON object)")
    end = 0
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            end = max(end, int(info["data_offsets"][1]))
        except (TypeError, KeyError, IndexError, ValueError):
            raise CheckpointError(f"{path}: corrupt checkpoint (bad index entry for tensor {name!r})") from None
    if 8 + n + end > size:
        raise CheckpointError(f"{path}: truncated checkpoint (needs {8 + n + end} bytes, file has {size})")
    return header


def read_metadata(path: str | Path) -> dict:
    """Checked project metadata of a checkpoint: config dict, stage, data, metrics, layout_version."""
    header = read_header(path)
    meta = header.get("__metadata__") or {}
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an Avatar Forcing checkpoint (metadata format {meta.get('format')!r})")
    if meta.get("layout_version") != str(LAYOUT_VERSION):
        raise CheckpointError(
            f"{path}: checkpoint uses motion layout v{meta.get('layout_version')}, this runtime speaks v{LAYOUT_VERSION}; "
            "retrain or use a matching release"
        )
    if meta.get("format_version") != str(FORMAT_VERSION):
        raise CheckpointError(f"{path}: checkpoint format v{meta.get('format_version')} is not v{FORMAT_VERSION}")
    try:
        return {
            "stage": meta.get("stage", ""),
            "layout_version": LAYOUT_VERSION,
            "config": json.loads(meta["config"]),
            "data": json.loads(meta.get("data", "{}")),
            "metrics": json.loads(meta.get("metrics", "{}")),
        }
    except (KeyError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path}: checkpoint metadata is damaged ({e})") from None


def load_tensors(path: str | Path) -> dict[str, torch.Tensor]:
    read_header(path)
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{path}: corrupt checkpoint ({str(e).splitlines()[0]})") from None


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> tuple[AvatarForcingNet, dict]:
    """(network in eval mode, metadata). Every failure is one CheckpointError line."""
    meta = read_metadata(path)
    try:
        cfg = NetworkConfig.from_dict(meta["config"])
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: checkpoint config does not fit this version ({e})") from None
    _check_config_matches_weights(path, cfg)
    net = AvatarForcingNet(cfg)
    tensors = load_tensors(path)
    own = {k: v for k, v in tensors.items() if not k.startswith("optim.")}
    try:
        net.load_state_dict(own, strict=True)
    except RuntimeError as e:
        raise CheckpointError(f"{path}: weights do not match the stored config ({str(e).splitlines()[0]})") from None
    return net.to(device).eval(), meta


def _check_config_matches_weights(path: str | Path, cfg: NetworkConfig) -> None:
    """Refuse a config whose network the stored weights do not describe, BEFORE allocating it.

    The metadata config decides how big the network is; a crafted one (d_model=10**6) would exhaust memory
    while the network is built. Built on the meta device (no memory), its parameter names and shapes must be
    exactly the tensors in the header, whose byte ranges read_header already checked against the file size.
    """
    try:
        with torch.device("meta"):
            probe = AvatarForcingNet(cfg)
    except Exception as e:  # noqa: BLE001 - any construction failure is a bad config
        raise CheckpointError(f"{path}: checkpoint config does not fit this version ({e})") from None
    header = read_header(path)
    stored = {k: list(v.get("shape", [])) for k, v in header.items()
              if k != "__metadata__" and not k.startswith("optim.")}  # fmt: skip
    wanted = {k: list(v.shape) for k, v in probe.state_dict().items()}
    if stored != wanted:
        diff = sorted(set(stored) ^ set(wanted))[:3] or [k for k in wanted if stored.get(k) != wanted[k]][:3]
        raise CheckpointError(f"{path}: checkpoint config does not match its weights (e.g. {', '.join(diff)})")
