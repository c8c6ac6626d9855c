"""Websocket protocol v1, sans-I/O: parse and validate client messages, build server messages, decide HTTP
access (token, Origin, static paths). Imports neither asyncio nor websockets; ``sinks/websocket.py`` feeds it.

The rules are written down in ``docs/protocol.md``; ``tests/test_protocol_docs.py`` keeps the two in step.
"""

from af_plugin.protocol.messages import (
    ACTIONS,
    CLIENT_TYPES,
    ERROR_CODES,
    FORMATS,
    PROTOCOL_VERSION,
    ROLES,
    SERVER_TYPES,
    STREAMS,
    AudioPush,
    Control,
    Ping,
    Subscribe,
    parse_client_message,
)

__all__ = [
    "ACTIONS", "CLIENT_TYPES", "ERROR_CODES", "FORMATS", "PROTOCOL_VERSION", "ROLES", "SERVER_TYPES", "STREAMS",
    "AudioPush", "Control", "Ping", "Subscribe", "parse_client_message",
]  # fmt: skip
