"""Outputs: every sink has the small ``Sink`` shape (open/send/close) and registers itself by name.

``load_builtin_sinks()`` imports the built-in outputs so ``create_sink(name)`` finds them; an output whose
module is not part of this install is listed in the returned dict with the reason.
"""

from __future__ import annotations

import importlib

from af_plugin.sinks.base import SINKS, MotionFrame, Sink, SinkError, create_sink, register_sink

BUILTIN = ("websocket", "livelink", "vmc", "vcam", "recorder")


def load_builtin_sinks() -> dict[str, str]:
    """Import every built-in output module; returns {name: why it is unavailable} for those that failed."""
    missing = {}
    for name in BUILTIN:
        try:
            importlib.import_module(f"af_plugin.sinks.{name}")
        except ImportError as e:
            missing[name] = str(e)
    return missing


__all__ = ["SINKS", "BUILTIN", "MotionFrame", "Sink", "SinkError", "create_sink", "load_builtin_sinks", "register_sink"]
