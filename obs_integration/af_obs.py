"""Avatar Forcing for OBS Studio (Tools → Scripts → +, pick this file).

Properties: the runtime's websocket URL and token, a command to run a local runtime, the overlay's size and
colours. Buttons start/stop that local ``af run`` and add (or update) a Browser Source showing the avatar
overlay in the current scene. A one-second timer reports the connection state (script log and the Status
line, which the panel shows when it is redrawn: press "Refresh status").

This file is only the OBS layer: every decision lives in ``af_obs_logic.py`` (standard library only, tested
without OBS). Every OBS object this script gets is released in the same function (``_released``).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import af_obs_logic as logic  # noqa: E402

try:
    import obspython as obs  # exists only inside OBS
except ImportError:  # pragma: no cover - imported by tests and tools outside OBS
    obs = None

_settings = logic.Settings()
_process = logic.RuntimeProcess()
_watcher: logic.ConnectionWatcher | None = None
_last_status = ""
_status_text = "not checked yet"
_data = None  # the script's settings (owned by OBS; we only write the Status line into it)

_KEYS = {  # property name → (Settings field, kind)
    "runtime_url": ("runtime_url", "str"),
    "token": ("token", "str"),
    "command": ("command", "str"),
    "source_name": ("source_name", "str"),
    "width": ("width", "int"),
    "height": ("height", "int"),
    "background": ("background", "str"),
    "colors": ("colors", "str"),
    "session": ("session", "str"),
    "use_local_file": ("use_local_file", "bool"),
    "show_status": ("show_status", "bool"),
    "frames_mode": ("frames_mode", "bool"),
}


@contextlib.contextmanager
def _released(obj, release):
    """Yield an OBS object and always release it (None is fine)."""
    try:
        yield obj
    finally:
        if obj is not None:
            release(obj)


def _log(level_name: str, message: str) -> None:
    if obs is not None:
        obs.script_log(getattr(obs, level_name), message)
    else:
        print(message)


# --- settings <-> obs_data ----------------------------------------------------------------------------------


def settings_from_data(data) -> logic.Settings:
    s = logic.Settings()
    for key, (attr, kind) in _KEYS.items():
        if kind == "str":
            setattr(s, attr, obs.obs_data_get_string(data, key))
        elif kind == "int":
            setattr(s, attr, obs.obs_data_get_int(data, key))
        else:
            setattr(s, attr, obs.obs_data_get_bool(data, key))
    return s


def script_description() -> str:
    return (
        "<b>Avatar Forcing</b>: show the reactive avatar in OBS.<br>"
        "Start a local runtime (or point at a running <code>af run</code>), then press "
        "<i>Add / update overlay source</i>. Guide: docs/obs.md."
    )


def script_defaults(data) -> None:
    d = logic.Settings()
    for key, (attr, kind) in _KEYS.items():
        value = getattr(d, attr)
        if kind == "str":
            obs.obs_data_set_default_string(data, key, value)
        elif kind == "int":
            obs.obs_data_set_default_int(data, key, value)
        else:
            obs.obs_data_set_default_bool(data, key, value)


def script_properties():
    props = obs.obs_properties_create()
    obs.obs_properties_add_text(props, "runtime_url", "Runtime URL", obs.OBS_TEXT_DEFAULT)
    obs.obs_properties_add_text(props, "token", "Token", obs.OBS_TEXT_PASSWORD)
    obs.obs_properties_add_text(props, "command", "Runtime command", obs.OBS_TEXT_DEFAULT)
    obs.obs_properties_add_button(props, "start_runtime", "Start local runtime", on_start_runtime)
    obs.obs_properties_add_button(props, "stop_runtime", "Stop local runtime", on_stop_runtime)
    obs.obs_properties_add_text(props, "source_name", "Overlay source name", obs.OBS_TEXT_DEFAULT)
    obs.obs_properties_add_int(props, "width", "Overlay width", 16, 4096, 1)
    obs.obs_properties_add_int(props, "height", "Overlay height", 16, 4096, 1)
    obs.obs_properties_add_text(props, "background", "Background (#rrggbb or transparent)", obs.OBS_TEXT_DEFAULT)
    obs.obs_properties_add_text(props, "colors", "Colours (name:#rrggbb,...)", obs.OBS_TEXT_DEFAULT)
    obs.obs_properties_add_text(props, "session", "Session", obs.OBS_TEXT_DEFAULT)
    obs.obs_properties_add_bool(props, "use_local_file", "Load the overlay from disk (file://)")
    obs.obs_properties_add_bool(props, "show_status", "Show a badge in the overlay while disconnected")
    obs.obs_properties_add_bool(props, "frames_mode", "Show the runtime's rendered frames (e.g. portrait photo)")
    obs.obs_properties_add_button(props, "add_source", "Add / update overlay source", on_add_source)
    obs.obs_properties_add_text(props, "status", "Status", obs.OBS_TEXT_INFO)
    obs.obs_properties_add_button(props, "refresh", "Refresh status", on_refresh)
    return props


def script_load(data) -> None:
    global _watcher, _settings, _data
    _data = data
    _settings = settings_from_data(data)
    _watcher = logic.ConnectionWatcher(_settings)
    _watcher.start()
    obs.timer_add(on_timer, 1000)


def script_update(data) -> None:
    global _settings
    _settings = settings_from_data(data)
    if _watcher is not None:
        _watcher.update_settings(_settings)


def script_unload() -> None:
    obs.timer_remove(on_timer)
    if _watcher is not None:
        _watcher.stop()
    if _process.running:
        _log("LOG_INFO", "Avatar Forcing: stopping the local runtime (script unloaded)")
        _process.stop()


# --- buttons and timer ----------------------------------------------------------------------------------------


def on_start_runtime(props, prop) -> bool:
    try:
        argv, env = logic.runtime_command(_settings)
        pid = _process.start(argv, env)
    except logic.SettingsError as e:
        _log("LOG_WARNING", f"Avatar Forcing: {e}")
        return False
    _log("LOG_INFO", f"Avatar Forcing: started `{' '.join(argv)}` (pid {pid}); log: {_process.log_path}")
    return False


def on_stop_runtime(props, prop) -> bool:
    code = _process.stop()
    _log("LOG_INFO", "Avatar Forcing: no local runtime to stop" if code is None
         else f"Avatar Forcing: local runtime stopped (exit code {code})")  # fmt: skip
    return False


def on_add_source(props, prop) -> bool:
    try:
        created = add_or_update_browser_source(_settings)
    except logic.SettingsError as e:
        _log("LOG_WARNING", f"Avatar Forcing: {e}")
        return False
    _log("LOG_INFO", f"Avatar Forcing: {'added' if created else 'updated'} Browser Source {_settings.source_name!r}")
    return False


def on_refresh(props, prop) -> bool:
    if _data is not None:
        obs.obs_data_set_string(_data, "status", _status_text)
    return True  # redraw the properties panel


def on_timer() -> None:
    global _last_status, _status_text
    if _watcher is None:
        return
    proc = _process.state()
    _status_text = logic.describe(_watcher.state, proc if proc.pid is not None else None)
    if _status_text != _last_status:
        _last_status = _status_text
        _log("LOG_INFO", f"Avatar Forcing: {_status_text}")
        if _data is not None:
            obs.obs_data_set_string(_data, "status", _status_text)


# --- the Browser Source ---------------------------------------------------------------------------------------


def add_or_update_browser_source(s: logic.Settings) -> bool:
    """Create the overlay Browser Source in the current scene, or update it (and add it if missing there).

    Returns True when a new source was created. Every reference taken here is released here.
    """
    name = s.source_name.strip() or logic.DEFAULT_SOURCE_NAME
    source_settings = logic.browser_source_settings(s)
    created = False
    with _released(obs.obs_data_create_from_json(json.dumps(source_settings)), obs.obs_data_release) as data:
        with _released(obs.obs_frontend_get_current_scene(), obs.obs_source_release) as scene_source:
            if scene_source is None:
                raise logic.SettingsError("OBS has no current scene; create a scene first")
            scene = obs.obs_scene_from_source(scene_source)  # borrowed: not released
            with _released(obs.obs_get_source_by_name(name), obs.obs_source_release) as existing:
                if existing is not None:
                    if obs.obs_source_get_unversioned_id(existing) != "browser_source":
                        raise logic.SettingsError(f"a source named {name!r} exists and is not a Browser Source; "
                                                  "choose another Overlay source name")  # fmt: skip
                    obs.obs_source_update(existing, data)
                    if obs.obs_scene_find_source(scene, name) is None:  # borrowed scene item
                        obs.obs_scene_add(scene, existing)
                else:
                    with _released(obs.obs_source_create("browser_source", name, data, None),
                                   obs.obs_source_release) as source:  # fmt: skip
                        obs.obs_scene_add(scene, source)
                        created = True
    return created
