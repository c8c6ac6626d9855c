"""docs/protocol.md and the protocol code list the same messages, streams, actions and error codes."""

from __future__ import annotations

import re
from pathlib import Path

from af_plugin.protocol import messages as proto

DOC = (Path(__file__).resolve().parent.parent / "docs" / "protocol.md").read_text(encoding="utf-8")


def _table_first_column(section_title: str) -> set[str]:
    """Backticked names in the first column of the first table after a heading containing ``section_title``."""
    start = DOC.index(section_title)
    rows = []
    for line in DOC[start:].splitlines()[1:]:
        if line.startswith("#") and rows:
            break
        if line.startswith("| ") and not line.startswith("|---"):
            rows.append(line)
        elif rows and not line.startswith("|"):
            break
    return {m for row in rows[1:] for m in re.findall(r"^\|\s*`([^`]+)`", row)}


def test_client_message_types_documented():
    assert _table_first_column("Messages, client → server") == set(proto.CLIENT_TYPES)


def test_server_message_types_documented():
    assert _table_first_column("Messages, server → client") == set(proto.SERVER_TYPES)


def test_streams_documented():
    assert _table_first_column("Streams and timing") == set(proto.STREAMS)


def test_error_codes_documented():
    assert _table_first_column("## 6. Errors") == set(proto.ERROR_CODES)


def test_actions_documented():
    row = next(line for line in DOC.splitlines() if line.startswith("| `control`"))
    for action in proto.ACTIONS:
        assert f"`{action}`" in row, action


def test_binary_size_documented():
    from af_plugin.motion.codecs.afm import FRAME_BYTES

    assert f"({FRAME_BYTES})" in DOC and f"`binary_frame_bytes` ({FRAME_BYTES})" in DOC
