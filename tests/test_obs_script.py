"""The OBS script without OBS: its logic module against a real ``af run``, and its OBS layer against a
recording stand-in for ``obspython`` (which exists only inside OBS) that checks every reference it hands
out is released exactly once.
"""

from __future__ import annotations

import importlib
import socket
import sys
import time
import types
import urllib.parse
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "obs_integration"))

import af_obs_logic as logic  # noqa: E402

HANG = 120.0  # seconds: only to turn a hang into a failure


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def query(url: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


# --- settings → URLs and commands ---------------------------------------------------------------------------


def test_overlay_url_points_at_the_runtime_page_with_settings_in_the_query():
    s = logic.Settings(runtime_url="ws://127.0.0.1:9000/", token="t o&k", width=720, height=720,
                       background="#00b140", colors="skin:#ffccaa, hair:#222222", session="guest")  # fmt: skip
    url = logic.overlay_url(s)
    assert url.startswith("http://127.0.0.1:9000/overlay/?")
    q = query(url)
    assert q == {"token": "t o&k", "size": "720", "bg": "#00b140", "colors": "skin:#ffccaa,hair:#222222",
                 "session": "guest"}  # fmt: skip
    # Defaults stay out of the URL; non-square sizes give width and height; wss maps to https.
    plain = logic.overlay_url(logic.Settings(runtime_url="wss://example.org:8443", width=640, height=360))
    assert plain == "https://example.org:8443/overlay/?width=640&height=360"
    assert "status" in query(logic.overlay_url(logic.Settings(show_status=False)))
    assert query(logic.overlay_url(logic.Settings(frames_mode=True)))["mode"] == "frames"


def test_local_file_mode_passes_the_websocket_url_and_the_file_exists():
    s = logic.Settings(runtime_url="127.0.0.1:8765", token="abc", use_local_file=True)
    url = logic.overlay_url(s)
    assert url.startswith("file://")
    path = Path(urllib.parse.unquote(urllib.parse.urlsplit(url).path))
    assert path == logic.OVERLAY_FILE and path.is_file()
    assert query(url) == {"url": "ws://127.0.0.1:8765/", "token": "abc", "size": "512"}


def test_browser_source_settings_use_obs_browser_keys():
    d = logic.browser_source_settings(logic.Settings(width=800, height=600))
    assert d["url"].startswith("http://127.0.0.1:8765/overlay/") and (d["width"], d["height"]) == (800, 600)
    assert d["css"] == logic.BROWSER_CSS and d["is_local_file"] is False and d["shutdown"] is False
    with pytest.raises(logic.SettingsError, match="16..4096"):
        logic.browser_source_settings(logic.Settings(width=8))


@pytest.mark.parametrize("bad", ["", "ftp://host:1/", "ws://:8765/", "ws://host:notaport/"])
def test_bad_runtime_urls_are_explained(bad):
    with pytest.raises(logic.SettingsError, match="Runtime URL"):
        logic.overlay_url(logic.Settings(runtime_url=bad))


def test_runtime_command_adds_the_address_and_keeps_the_token_off_the_command_line():
    argv, env = logic.runtime_command(logic.Settings(runtime_url="ws://127.0.0.1:9100/", token="secret",
                                                     command="af run --avatar-audio 'my mic'"))  # fmt: skip
    assert argv == ["af", "run", "--avatar-audio", "my mic", "--ws", "127.0.0.1:9100"]
    assert env == {"AF_TOKEN": "secret"} and "secret" not in " ".join(argv)
    argv, env = logic.runtime_command(logic.Settings(command="af run --ws 0.0.0.0:9000"))
    assert argv.count("--ws") == 1 and env == {}
    for bad in ("", "af run --avatar-audio 'unclosed"):
        with pytest.raises(logic.SettingsError, match="Runtime command"):
            logic.runtime_command(logic.Settings(command=bad))


def test_status_lines():
    st = logic.status_text(True, "127.0.0.1:8765", 2, {"default": {"mode": "talking", "paused": True}})
    assert st == "connected to 127.0.0.1:8765; 2 clients; session default: talking, paused"
    conn = logic.ConnectionState(False, "no runtime at 127.0.0.1:8765 (refused)")
    died = logic.ProcessState(False, pid=42, returncode=2, log_tail="af run: error: config key 'x': bad")
    assert logic.describe(conn, died).endswith("local runtime exited with code 2: af run: error: config key 'x': bad")
    assert "running (pid 7)" in logic.describe(conn, logic.ProcessState(True, pid=7))


# --- the local runtime process and the connection watcher, for real -----------------------------------------


def wait_for(predicate, what: str) -> None:
    deadline = time.monotonic() + HANG
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_start_and_stop_a_real_runtime_and_watch_its_connection(tmp_path, shared_data):
    port = free_port()
    wav = shared_data / "hdtf_radio31_16k.wav"
    s = logic.Settings(runtime_url=f"ws://127.0.0.1:{port}/", token="obs-token",
                       command=f'"{sys.executable}" -m af_plugin run --avatar-audio "{wav}" --loop '
                               "--set model.steps=1")  # fmt: skip
    proc = logic.RuntimeProcess(log_dir=tmp_path)
    watcher = logic.ConnectionWatcher(s, interval=0.3)
    watcher.start()
    try:
        argv, env = logic.runtime_command(s)
        proc.start(argv, {**env, "OMP_NUM_THREADS": "1"}, cwd=str(REPO))
        with pytest.raises(logic.SettingsError, match="already running"):
            proc.start(argv, env)
        wait_for(lambda: watcher.state.ok, "the watcher to see the runtime")
        assert watcher.state.text.startswith(f"connected to 127.0.0.1:{port}")
        assert "default" in watcher.state.sessions
        assert "running" in logic.describe(watcher.state, proc.state())
        # A wrong token is reported as such, not as "no runtime".
        wrong = logic.probe(logic.Settings(runtime_url=s.runtime_url, token="nope"))
        assert not wrong.ok and "401" in wrong.text
        code = proc.stop()
        assert code is not None and not proc.running
        wait_for(lambda: not watcher.state.ok, "the watcher to see the runtime gone")
        assert "no runtime" in watcher.state.text
        assert proc.log_path.is_file() and "websocket" in proc.log_path.read_text()
    finally:
        watcher.stop()
        proc.stop()


def test_runtime_that_cannot_start_or_exits_is_reported(tmp_path):
    proc = logic.RuntimeProcess(log_dir=tmp_path)
    with pytest.raises(logic.SettingsError, match="not found"):
        proc.start(["/nonexistent/af", "run"])
    proc.start([sys.executable, "-c", "import sys; print('af run: error: boom'); sys.exit(2)"])
    wait_for(lambda: not proc.running, "the process to exit")
    st = proc.state()
    assert st.returncode == 2 and "boom" in st.log_tail
    assert proc.stop() == 2


# --- the OBS layer against a recording obspython ----------------------------------------------------------------


class FakeOBS(types.ModuleType):
    """Just enough of obspython: objects are handles; get/create hand out references that must be released."""

    LOG_INFO, LOG_WARNING = 300, 200
    OBS_TEXT_DEFAULT, OBS_TEXT_PASSWORD, OBS_TEXT_INFO = 0, 1, 3

    def __init__(self):
        super().__init__("obspython")
        self.refs: dict[int, int] = {}  # handle id → references we handed out and not yet released
        self.sources: dict[str, dict] = {}  # name → {"id": kind, "settings": dict}
        self.scene = {"name": "Scene", "items": []}
        self.timers: list = []
        self.logs: list[tuple[int, str]] = []
        self.props: list[tuple[str, str]] = []

    # reference bookkeeping
    def _hand_out(self, obj):
        self.refs[id(obj)] = self.refs.get(id(obj), 0) + 1
        return obj

    def _release(self, obj):
        assert self.refs.get(id(obj), 0) > 0, "released more often than acquired"
        self.refs[id(obj)] -= 1

    def leaked(self) -> int:
        return sum(self.refs.values())

    # logging, timers
    def script_log(self, level, msg):
        self.logs.append((level, msg))

    def timer_add(self, cb, ms):
        self.timers.append(cb)

    def timer_remove(self, cb):
        self.timers.remove(cb)

    # obs_data (settings are plain dicts here)
    def obs_data_get_string(self, d, k):
        return d.get(k, "")

    def obs_data_get_int(self, d, k):
        return d.get(k, 0)

    def obs_data_get_bool(self, d, k):
        return d.get(k, False)

    def obs_data_set_default_string(self, d, k, v):
        d.setdefault(k, v)

    obs_data_set_default_int = obs_data_set_default_bool = obs_data_set_default_string

    def obs_data_set_string(self, d, k, v):
        d[k] = v

    def obs_data_create_from_json(self, text):
        import json

        return self._hand_out({"json": json.loads(text)})

    def obs_data_release(self, d):
        self._release(d)

    # properties
    def obs_properties_create(self):
        return {}

    def obs_properties_add_text(self, props, name, desc, kind):
        self.props.append((name, "text"))

    def obs_properties_add_int(self, props, name, desc, lo, hi, step):
        self.props.append((name, "int"))

    def obs_properties_add_bool(self, props, name, desc):
        self.props.append((name, "bool"))

    def obs_properties_add_button(self, props, name, text, cb):
        self.props.append((name, "button"))

    # sources and scenes
    def obs_frontend_get_current_scene(self):
        return self._hand_out(self.scene)

    def obs_scene_from_source(self, src):
        return self.scene  # borrowed

    def obs_source_release(self, src):
        self._release(src)

    def obs_get_source_by_name(self, name):
        src = self.sources.get(name)
        return None if src is None else self._hand_out(src)

    def obs_source_get_unversioned_id(self, src):
        return src["id"]

    def obs_source_update(self, src, data):
        src["settings"].update(data["json"])

    def obs_scene_find_source(self, scene, name):
        return next((it for it in scene["items"] if it["name"] == name), None)

    def obs_scene_add(self, scene, src):
        scene["items"].append(src)

    def obs_source_create(self, kind, name, data, hotkeys):
        src = {"id": kind, "name": name, "settings": dict(data["json"])}
        self.sources[name] = src
        return self._hand_out(src)


@pytest.fixture
def obs_script(monkeypatch):
    fake = FakeOBS()
    monkeypatch.setitem(sys.modules, "obspython", fake)
    monkeypatch.delitem(sys.modules, "af_obs", raising=False)
    module = importlib.import_module("af_obs")
    yield module, fake
    if module._watcher is not None:
        module._watcher.stop()
    sys.modules.pop("af_obs", None)


def test_obs_layer_adds_then_updates_the_browser_source_and_releases_everything(obs_script):
    af_obs, fake = obs_script
    data: dict = {}
    af_obs.script_defaults(data)
    assert data["runtime_url"] == logic.DEFAULT_URL and data["width"] == 512
    af_obs.script_properties()
    names = [n for n, _ in fake.props]
    for required in ("runtime_url", "token", "command", "start_runtime", "stop_runtime", "add_source", "status"):
        assert required in names
    data.update(token="tk", width=640, height=640)
    af_obs.script_load(data)
    assert fake.timers == [af_obs.on_timer]

    af_obs.on_add_source(None, None)
    src = fake.sources[logic.DEFAULT_SOURCE_NAME]
    assert src["id"] == "browser_source" and src["settings"]["width"] == 640
    assert query(src["settings"]["url"]) == {"token": "tk", "size": "640"}
    assert fake.scene["items"] == [src]
    assert fake.leaked() == 0

    data.update(background="#00ff00")
    af_obs.script_update(data)
    af_obs.on_add_source(None, None)  # the same source, updated, not added twice
    assert query(src["settings"]["url"])["bg"] == "#00ff00" and fake.scene["items"] == [src]
    assert fake.leaked() == 0

    fake.sources["Taken"] = {"id": "image_source", "name": "Taken", "settings": {}}
    data.update(source_name="Taken")
    af_obs.script_update(data)
    af_obs.on_add_source(None, None)
    assert "not a Browser Source" in fake.logs[-1][1] and fake.logs[-1][0] == fake.LOG_WARNING
    assert fake.leaked() == 0  # released on the error path too

    fake.scene["items"].clear()  # the user removed it from the scene: "update" puts it back
    data.update(source_name=logic.DEFAULT_SOURCE_NAME)
    af_obs.script_update(data)
    af_obs.on_add_source(None, None)
    assert fake.scene["items"] == [src] and fake.leaked() == 0

    af_obs.on_timer()
    assert data["status"]  # the Status line is written into the settings for the panel
    assert af_obs.on_refresh(None, None) is True
    af_obs.script_unload()
    assert fake.timers == []


def test_obs_layer_reports_a_bad_command_instead_of_raising(obs_script):
    af_obs, fake = obs_script
    data: dict = {}
    af_obs.script_defaults(data)
    data.update(command="/nonexistent/af run")
    af_obs.script_load(data)
    af_obs.on_start_runtime(None, None)
    assert fake.logs[-1][0] == fake.LOG_WARNING and "not found" in fake.logs[-1][1]
    af_obs.on_stop_runtime(None, None)
    assert "no local runtime" in fake.logs[-1][1]
    af_obs.script_unload()
