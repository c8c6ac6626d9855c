"""The ``af`` command. Each subcommand lives in ``af_plugin/cli/<name>.py`` and exposes
``register(subparsers)``, which adds its parser and sets ``func(args) -> int``.

User mistakes (AFError) print one line and exit 2; no stack traces for them.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from af_plugin import __version__
from af_plugin.errors import AFError

# Order shown in `af --help`. A module that does not exist yet is skipped.
COMMANDS = ("demo", "run", "generate", "track", "render", "train", "data", "eval", "bench", "doctor")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="af", description="Avatar Forcing runtime: real-time reactive head avatars."
    )
    parser.add_argument("--version", action="version", version=f"af {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"af_plugin.cli.{name}")
        except ModuleNotFoundError as e:
            if e.name == f"af_plugin.cli.{name}":
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except AFError as e:
        print(f"af {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"af {args.command}: interrupted", file=sys.stderr)
        return 130
