"""Who may connect and what HTTP paths map to: token, Origin, loopback and static-file rules (no I/O).

The token is compared in constant time and never appears in any message or log line this module builds.
"""

from __future__ import annotations

import hmac
import ipaddress
import mimetypes
import posixpath
import re
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from af_plugin.errors import ConfigError

LOOPBACK_NAMES = {"localhost", "ip6-localhost"}
_LOCAL_ORIGIN = re.compile(r"^https?://(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$")


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost: addresses only this machine can reach."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse to listen beyond this machine without a token."""
    if not is_loopback(host) and not token:
        raise ConfigError(
            "server.token",
            f"binding {host!r} exposes the server to the network; give a token (--token SECRET or "
            "AF_TOKEN) or bind 127.0.0.1",
        )


def token_from_request(path: str, headers: dict[str, str]) -> str | None:
    """The token a client offered: ``Authorization: Bearer T`` header, else ``?token=T`` in the URL."""
    auth = headers.get("authorization") or headers.get("Authorization") or ""
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    values = parse_qs(urlsplit(path).query).get("token")
    return values[0] if values else None


def token_ok(expected: str | None, offered: str | None) -> bool:
    """No token configured → everyone (loopback only); else a constant-time comparison."""
    if not expected:
        return True
    if offered is None:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), offered.encode("utf-8"))


def host_ok(host_header: str | None, token: str | None) -> bool:
    """Without a token, only requests addressed to a loopback name are served.

    Stops DNS rebinding: a web page whose own name has been re-pointed at 127.0.0.1 can reach the server, but
    its requests carry that name in ``Host`` (and in ``Origin``, which websocket upgrades check too). With a
    token the token decides.
    """
    if token:
        return True
    host = (host_header or "").strip()
    if host.startswith("["):
        host = host[1:].partition("]")[0]
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    return bool(host) and is_loopback(host.lower())


def origin_ok(origin: str | None, allowed: list[str]) -> bool:
    """Browsers send Origin; other clients don't. Web pages from other sites may not drive the avatar.

    Allowed: no Origin (native clients), ``null`` (file:// pages, OBS local files), http(s) on loopback,
    and every origin in ``allowed`` (``*`` allows any).
    """
    if origin is None or origin == "null" or "*" in allowed:
        return True
    return origin.rstrip("/") in {a.rstrip("/") for a in allowed} or bool(_LOCAL_ORIGIN.match(origin))


def resolve_static(path: str, mounts: dict[str, Path]) -> Path | None:
    """Map a request path to a file inside one of the mounted folders, or None.

    ``mounts`` maps URL prefixes (``"/overlay/"``) to folders; ``"/"`` maps exact ``/`` to a file.
    Percent-encoding, ``..``, backslashes, NUL bytes and symlinks leading outside a folder are refused.
    """
    raw = urlsplit(path).path
    decoded = unquote(raw)
    if "\x00" in decoded or "\\" in decoded:
        return None
    norm = posixpath.normpath(decoded) if decoded != "/" else "/"
    if ".." in decoded.split("/"):
        return None
    for prefix, target in mounts.items():
        if prefix == "/":
            if norm == "/":
                return target if target.is_file() else None
            continue
        bare = prefix.rstrip("/")
        if norm == bare:
            norm = bare + "/index.html"
        if not norm.startswith(bare + "/"):
            continue
        rel = norm[len(bare) + 1 :] or "index.html"
        root = target.resolve()
        candidate = (root / rel).resolve()
        if not candidate.is_relative_to(root):
            return None
        if candidate.is_dir():
            candidate = candidate / "index.html"
        return candidate if candidate.is_file() else None
    return None


def content_type(path: Path) -> str:
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return kind + ("; charset=utf-8" if kind.startswith("text/") or kind.endswith(("javascript", "json")) else "")
