"""The one exception root of the runtime.

    AFError                      anything this package raises on purpose
    ├── MotionFormatError        a motion file/stream is unreadable, foreign or inconsistent
    ├── ConfigError              a configuration key or value is not allowed
    ├── AudioFormatError         audio cannot be read or converted
    ├── VideoFormatError         a video file cannot be opened or decoded
    ├── CheckpointError          a checkpoint is corrupt, foreign or of another layout
    ├── DeviceError              a microphone, camera or virtual camera is missing or failed
    └── ProtocolError            a websocket message broke the protocol (carries a code)

Every message says what was got, what was expected and, where it helps, what to do.
"""

from __future__ import annotations

from pathlib import Path


class AFError(Exception):
    """Base class: catch this to report any user-facing failure as one line."""


class MotionFormatError(AFError):
    """A motion file or binary stream cannot be read; names the file (if any) and the problem."""

    def __init__(self, problem: str, path: str | Path | None = None):
        self.problem = problem
        self.path = str(path) if path is not None else None
        super().__init__(f"{self.path}: {problem}" if self.path else problem)


class ConfigError(AFError):
    """A configuration key or value is not allowed; names the key and what is allowed."""

    def __init__(self, key: str, problem: str):
        self.key = key
        self.problem = problem
        super().__init__(f"config key '{key}': {problem}")


class AudioFormatError(AFError):
    """Audio cannot be read or converted to 16 kHz mono."""


class VideoFormatError(AFError):
    """A video file cannot be opened or has no decodable video track."""


class CheckpointError(AFError):
    """A checkpoint is not a valid safetensors file of this project, or of another channel layout."""


class DeviceError(AFError):
    """A hardware or OS device is missing; the message carries the fix."""


class ProtocolError(AFError):
    """A client message broke the websocket protocol; `code` is sent back to the client."""

    def __init__(self, code: str, message: str):
        self.code = code
        super().__init__(message)
