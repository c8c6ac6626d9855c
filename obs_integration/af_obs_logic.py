"""Everything the OBS script does that is not an OBS call: settings → URLs and commands, the local runtime
process, and the connection watcher. Standard library only, because OBS runs scripts with the user's own
Python, which need not have this project's packages; ``af_obs.py`` is the thin layer that talks to OBS.

Tested without OBS in ``tests/test_obs_script.py``.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_URL = "ws://127.0.0.1:8765/"  # af_plugin.constants DEFAULT_HOST / DEFAULT_WS_PORT (not importable in OBS)
DEFAULT_COMMAND = "af run --avatar-audio mic"
DEFAULT_SOURCE_NAME = "Avatar Forcing"
OVERLAY_FILE = Path(__file__).resolve().parent / "overlay" / "index.html"
# obs-browser's default custom CSS: keeps the page transparent.
BROWSER_CSS = "body { background-color: rgba(0, 0, 0, 0); margin: 0px auto; overflow: hidden; }"


class SettingsError(ValueError):
    """A setting is not usable; the message says which one and what to enter."""


@dataclass
class Settings:
    runtime_url: str = DEFAULT_URL
    token: str = ""
    command: str = DEFAULT_COMMAND
    source_name: str = DEFAULT_SOURCE_NAME
    width: int = 512
    height: int = 512
    background: str = "transparent"
    colors: str = ""
    """``name:#rrggbb,name:#rrggbb`` (skin, hair, iris, shirt, lips, ... as in docs/rendering.md)."""
    session: str = "default"
    use_local_file: bool = False
    """Point the Browser Source at the overlay file on disk instead of the runtime's /overlay/ page."""
    show_status: bool = True
    frames_mode: bool = False
    """Show the runtime's rendered frames (its [render] style, e.g. a portrait photo) instead of drawing
    the stylized avatar from motion; opaque."""


@dataclass
class Endpoint:
    scheme: str  # ws | wss
    host: str
    port: int

    @property
    def http_base(self) -> str:
        scheme = "https" if self.scheme == "wss" else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    @property
    def ws_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}/"

    @property
    def hostport(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def parse_endpoint(url: str) -> Endpoint:
    """``ws://HOST:PORT/`` (also ``HOST:PORT`` or ``http://``) → Endpoint; SettingsError when unusable."""
    text = (url or "").strip()
    if not text:
        raise SettingsError("Runtime URL is empty; enter e.g. ws://127.0.0.1:8765/")
    if "://" not in text:
        text = "ws://" + text
    parts = urllib.parse.urlsplit(text)
    scheme = {"ws": "ws", "wss": "wss", "http": "ws", "https": "wss"}.get(parts.scheme)
    if scheme is None:
        raise SettingsError(f"Runtime URL {url!r}: use ws://HOST:PORT/ (or wss://)")
    try:
        port = parts.port or (443 if scheme == "wss" else 8765)
    except ValueError:
        raise SettingsError(f"Runtime URL {url!r}: the port must be a number 1..65535") from None
    if not parts.hostname:
        raise SettingsError(f"Runtime URL {url!r} has no host; enter e.g. ws://127.0.0.1:8765/")
    return Endpoint(scheme, parts.hostname, port)


def _query(pairs: list[tuple[str, str]]) -> str:
    return urllib.parse.urlencode([(k, v) for k, v in pairs if v != ""], safe=":,/")


def overlay_url(s: Settings) -> str:
    """The URL the Browser Source opens: the runtime's /overlay/ page, or the local overlay file."""
    ep = parse_endpoint(s.runtime_url)
    pairs = [("token", s.token.strip())]
    if s.use_local_file:
        pairs.insert(0, ("url", ep.ws_url))
    if s.width == s.height:
        pairs.append(("size", str(int(s.width))))
    else:
        pairs += [("width", str(int(s.width))), ("height", str(int(s.height)))]
    pairs += [
        ("bg", s.background.strip() if s.background.strip().lower() != "transparent" else ""),
        ("colors", s.colors.strip().replace(" ", "")),
        ("session", s.session.strip() if s.session.strip() != "default" else ""),
        ("status", "" if s.show_status else "0"),
        ("mode", "frames" if s.frames_mode else ""),
    ]
    q = _query(pairs)
    base = OVERLAY_FILE.as_uri() if s.use_local_file else f"{ep.http_base}/overlay/"
    return base + ("?" + q if q else "")


def browser_source_settings(s: Settings) -> dict:
    """Input settings for an OBS ``browser_source`` (keys as obs-browser names them)."""
    if not (16 <= int(s.width) <= 4096 and 16 <= int(s.height) <= 4096):
        raise SettingsError(f"Overlay size {s.width}x{s.height}: width and height must be 16..4096")
    return {
        "url": overlay_url(s),
        "is_local_file": False,  # a file:// URL in "url" keeps the query string, which local_file would drop
        "width": int(s.width),
        "height": int(s.height),
        "css": BROWSER_CSS,
        "shutdown": False,
        "restart_when_active": False,
        "reroute_audio": False,
    }


def runtime_command(s: Settings) -> tuple[list[str], dict[str, str]]:
    """(argv, extra environment) to start a local runtime matching the settings.

    ``--ws HOST:PORT`` is added from the runtime URL unless the command already has ``--ws``; the token
    goes in the environment (``AF_TOKEN``), not on the command line where other users could read it.
    """
    try:
        argv = shlex.split(s.command, posix=os.name != "nt")
    except ValueError as e:
        raise SettingsError(f"Runtime command: {e}") from None
    if not argv:
        raise SettingsError("Runtime command is empty; enter e.g. `af run --avatar-audio mic`")
    ep = parse_endpoint(s.runtime_url)
    if "--ws" not in argv and not any(a.startswith("--ws=") for a in argv):
        argv += ["--ws", ep.hostport]
    env = {"AF_TOKEN": s.token.strip()} if s.token.strip() else {}
    return argv, env


# --- the local runtime process ------------------------------------------------------------------------------


@dataclass
class ProcessState:
    running: bool
    pid: int | None = None
    returncode: int | None = None
    log_tail: str = ""


class RuntimeProcess:
    """Start/stop one local ``af run``; its output goes to a log file the user can open."""

    def __init__(self, log_dir: str | Path | None = None):
        self._proc: subprocess.Popen | None = None
        self._log = None
        self.log_path = Path(log_dir or tempfile.gettempdir()) / "af_obs_runtime.log"

    def start(self, argv: list[str], extra_env: dict[str, str] | None = None, cwd: str | None = None) -> int:
        if self.running:
            raise SettingsError(f"the runtime is already running (pid {self._proc.pid}); stop it first")
        env = dict(os.environ, PYTHONUNBUFFERED="1", **(extra_env or {}))
        self._close_log()
        self._log = open(self.log_path, "w", encoding="utf-8")  # noqa: SIM115 - closed in stop()/_close_log()
        kwargs: dict = {}
        if os.name == "nt":
            kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP | getattr(subprocess, "CREATE_NO_WINDOW", 0)
        else:
            kwargs["start_new_session"] = True  # Ctrl+C in OBS's terminal must not reach it; we stop it ourselves
        try:
            self._proc = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                          env=env, cwd=cwd, **kwargs)  # fmt: skip
        except FileNotFoundError:
            self._close_log()
            raise SettingsError(
                f"cannot start {argv[0]!r}: not found. Enter the full path to `af` (e.g. the one in your "
                "virtual environment's bin/ or Scripts\\ folder) in Runtime command"
            ) from None
        except OSError as e:
            self._close_log()
            raise SettingsError(f"cannot start {argv[0]!r}: {e}") from None
        return self._proc.pid

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def state(self) -> ProcessState:
        if self._proc is None:
            return ProcessState(False)
        rc = self._proc.poll()
        return ProcessState(rc is None, self._proc.pid, rc, "" if rc is None else self.log_tail())

    def log_tail(self, lines: int = 5) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])

    def stop(self, timeout: float = 10.0) -> int | None:
        """Ask the runtime to stop (it finalises recordings), kill it if it does not; returns its exit code."""
        proc = self._proc
        if proc is None:
            return None
        if proc.poll() is None:
            try:
                if os.name == "nt":
                    proc.send_signal(signal.CTRL_BREAK_EVENT)
                else:
                    proc.send_signal(signal.SIGINT)
                proc.wait(timeout)
            except (subprocess.TimeoutExpired, OSError, ValueError):
                proc.kill()
                proc.wait(timeout)
        self._close_log()
        return proc.returncode

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


# --- connection state ---------------------------------------------------------------------------------------


@dataclass
class ConnectionState:
    ok: bool
    text: str
    clients: int | None = None
    sessions: dict = field(default_factory=dict)
    checked_at: float = 0.0


def probe(s: Settings, timeout: float = 2.0) -> ConnectionState:
    """Ask the runtime's ``/status.json`` (plain HTTP on the websocket port) whether it is up."""
    try:
        ep = parse_endpoint(s.runtime_url)
    except SettingsError as e:
        return ConnectionState(False, str(e), checked_at=time.time())
    url = f"{ep.http_base}/status.json"
    if s.token.strip():
        url += "?" + urllib.parse.urlencode({"token": s.token.strip()})
    now = time.time()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:  # noqa: S310 - http(s) only, built above
            data = json.loads(r.read().decode("utf-8"))
    except urllib.error.HTTPError as e:
        if e.code == 401:
            return ConnectionState(
                False, f"runtime at {ep.hostport} refused the token (HTTP 401): check Token", checked_at=now
            )
        return ConnectionState(False, f"runtime at {ep.hostport} answered HTTP {e.code}", checked_at=now)
    except (urllib.error.URLError, OSError, ValueError) as e:
        reason = getattr(e, "reason", e)
        return ConnectionState(False, f"no runtime at {ep.hostport} ({reason})", checked_at=now)
    sessions = data.get("sessions", {}) if isinstance(data, dict) else {}
    clients = data.get("clients") if isinstance(data, dict) else None
    return ConnectionState(True, status_text(True, ep.hostport, clients, sessions), clients, sessions, now)


def status_text(ok: bool, where: str, clients: int | None, sessions: dict) -> str:
    if not ok:
        return f"no runtime at {where}"
    parts = [f"connected to {where}"]
    if clients is not None:
        parts.append(f"{clients} client{'s' if clients != 1 else ''}")
    for name, st in sorted(sessions.items()):
        if isinstance(st, dict):
            mode = st.get("mode", "?") + (", paused" if st.get("paused") else "")
            parts.append(f"session {name}: {mode}")
    return "; ".join(parts)


class ConnectionWatcher:
    """Probes the runtime every ``interval`` seconds on its own thread (never on OBS's UI thread)."""

    def __init__(self, settings: Settings, interval: float = 2.0, probe_fn=probe):
        self._settings = settings
        self._interval = interval
        self._probe = probe_fn
        self._lock = threading.Lock()
        self._state = ConnectionState(False, "not checked yet")
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def state(self) -> ConnectionState:
        with self._lock:
            return self._state

    def update_settings(self, settings: Settings) -> None:
        with self._lock:
            self._settings = settings
        self._wake.set()

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="af-obs-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                settings = self._settings
            state = self._probe(settings)
            with self._lock:
                self._state = state
            self._wake.wait(self._interval)
            self._wake.clear()


def describe(conn: ConnectionState, proc: ProcessState | None) -> str:
    """One line for the script's status: the connection, plus the local runtime when we started one."""
    text = conn.text
    if proc is not None and proc.pid is not None:
        if proc.running:
            text += f" | local runtime running (pid {proc.pid})"
        else:
            text += f" | local runtime exited with code {proc.returncode}"
            if proc.log_tail:
                text += ": " + proc.log_tail.splitlines()[-1]
    return text


if __name__ == "__main__":  # handy outside OBS: python af_obs_logic.py [ws://host:port/] [token]
    st = Settings(*(sys.argv[1:3]))
    print(overlay_url(st))
    print(probe(st).text)
