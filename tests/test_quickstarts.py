"""Every command the quick-starts and samples/README.md tell users to type exists as written.

``af ...`` commands: the subcommand exists and every ``--option`` appears in ``af <sub> --help``; ``--set
KEY=VALUE`` keys are real config keys; config files named exist and load. ``python samples/X.py ...``
commands: the script exists and its options appear in its ``--help``.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from functools import cache

import pytest
from test_samples_support import REPO, child_env

from af_plugin.cli import build_parser
from af_plugin.config import load_config, parse_override

DOCS = sorted((REPO / "docs").glob("quickstart-*.md")) + [REPO / "samples" / "README.md"]
FENCE = re.compile(r"```[^\n]*\n(.*?)```", re.S)
INLINE = re.compile(r"`([^`\n]+)`")


def commands(text: str) -> list[str]:
    """``af ...`` / ``python samples/...`` commands in fenced blocks (one per line) and inline code spans."""
    found = []
    for block in FENCE.findall(text):
        found += [line.strip() for line in block.splitlines()]
    found += INLINE.findall(FENCE.sub("", text))
    found = [c.removeprefix("$ ").strip() for c in found]
    return [c for c in found if c.startswith(("af ", "python samples/"))]


def all_commands() -> list[tuple[str, str]]:
    out = []
    for doc in DOCS:
        out += [(doc.name, c) for c in commands(doc.read_text(encoding="utf-8"))]
    return out


@cache
def af_help(sub: str) -> str:
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command")
    assert sub in subparsers.choices, f"`af {sub}` is not a subcommand"
    return subparsers.choices[sub].format_help()


@cache
def sample_help(script: str) -> str:
    path = REPO / script
    assert path.is_file(), f"{script} does not exist"
    proc = subprocess.run([sys.executable, str(path), "--help"], cwd=REPO, capture_output=True, text=True,
                          env=child_env())  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    for sub in re.findall(r"\{([a-z,]+)\}", text.splitlines()[0] if text else ""):  # subcommands' help too
        for name in sub.split(","):
            text += subprocess.run([sys.executable, str(path), name, "--help"], cwd=REPO, capture_output=True,
                                   text=True, env=child_env()).stdout  # fmt: skip
    return text


def options(tokens: list[str]) -> list[str]:
    return [t.split("=", 1)[0] for t in tokens if t.startswith("--")]


def test_the_docs_quote_commands():
    names = {doc for doc, _ in all_commands()}
    assert names == {d.name for d in DOCS}, "every quick-start quotes at least one command"
    assert len(all_commands()) >= 20


@pytest.mark.parametrize("doc,command", all_commands(), ids=[f"{d}:{c[:60]}" for d, c in all_commands()])
def test_quoted_command_exists(doc, command):
    tokens = shlex.split(command.replace("$(", "").replace(")", "") if "$(" in command else command, comments=True)
    if tokens[0] == "af":
        sub = tokens[1]
        help_text = af_help(sub)
        for opt in options(tokens[2:]):
            assert re.search(rf"(?<![\w-]){re.escape(opt)}(?![\w-])", help_text), f"`af {sub}` has no {opt}"
        overrides = {}
        for i, t in enumerate(tokens):
            if t == "--set":
                key, value = parse_override(tokens[i + 1])
                overrides[key] = value
            if t == "--config":
                assert (REPO / tokens[i + 1]).is_file(), f"{tokens[i + 1]} does not exist"
        config = next((tokens[i + 1] for i, t in enumerate(tokens) if t == "--config"), None)
        load_config(REPO / config if config else None, overrides)  # unknown keys / bad values raise
    else:
        help_text = sample_help(tokens[1])
        for opt in options(tokens[2:]):
            assert re.search(rf"(?<![\w-]){re.escape(opt)}(?![\w-])", help_text), f"{tokens[1]} has no {opt}"
