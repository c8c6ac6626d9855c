"""The OBS browser overlay in headless Chromium, against a protocol-v1 websocket server and the real runtime.

* A small in-test server (real websockets, protocol v1 messages) lets the tests choose the pose: the
  overlay must draw what the Python renderer draws, open the mouth when jawOpen rises, and reconnect
  after the server goes away and comes back.
* ``af run`` (the real runtime, fed by a sample WAV) serves the overlay over HTTP at /overlay/ with a
  token; the page must connect through it, draw the runtime's frames exactly as the Python renderer would
  draw those values, and reconnect after the runtime is killed and restarted.

Waits are generous timeouts that only turn hangs into failures; there are no speed limits.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest

from af_plugin.motion.contract import CHANNEL_INDEX, CHANNELS, NUM_CHANNELS
from af_plugin.render.colors import parse_color
from af_plugin.render.spec import OVERLAY_DIR, spec_js, spec_json
from af_plugin.render.stylized import StylizedRenderer

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts" / "obs_overlay"
HANG = 60_000  # ms: only to turn a hang into a failure
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
BG = "#1e2430"

needs_browser = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")


def pose(**channels: float) -> np.ndarray:
    v = np.zeros(NUM_CHANNELS, np.float32)
    for name, x in channels.items():
        v[CHANNEL_INDEX[name]] = x
    return v


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def decode_png(data_url: str) -> np.ndarray:
    raw = base64.b64decode(data_url.split(",", 1)[1])
    img = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_UNCHANGED)
    return cv2.cvtColor(img, cv2.COLOR_BGRA2RGBA)


def save(name: str, rgb_or_rgba: np.ndarray) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    code = cv2.COLOR_RGBA2BGRA if rgb_or_rgba.shape[2] == 4 else cv2.COLOR_RGB2BGR
    cv2.imwrite(str(ARTIFACTS / f"{name}.png"), cv2.cvtColor(rgb_or_rgba, code))


@contextlib.asynccontextmanager
async def browser_page(width: int = 512, height: int = 512):
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        try:
            page = await browser.new_page(viewport={"width": width, "height": height})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            yield page, errors
        finally:
            await browser.close()


class ProtocolServer:
    """A protocol-v1 speaking websocket server streaming ``self.values`` at 25 fps (real sockets)."""

    def __init__(self) -> None:
        self.values = pose()
        self.frame = 0
        self.subscribes: list[dict] = []
        self._server = None
        self.port = 0

    async def _handler(self, ws) -> None:
        await ws.send(json.dumps({"type": "hello", "protocol": 1, "fps": 25, "layout_version": 1,
                                  "channels": list(CHANNELS), "session": "default"}))  # fmt: skip
        sub = json.loads(await ws.recv())
        self.subscribes.append(sub)
        await ws.send(json.dumps({"type": "subscribed", "session": "default", "streams": sub["streams"],
                                  "format": sub.get("format", "json")}))  # fmt: skip
        while True:
            self.frame += 1
            await ws.send(json.dumps({"type": "motion", "frame": self.frame, "t": self.frame / 25,
                                      "values": self.values.tolist(), "flags": 0, "session": "default"}))  # fmt: skip
            await asyncio.sleep(0.04)

    async def start(self, port: int = 0) -> None:
        import websockets

        async def handler(ws):
            with contextlib.suppress(Exception):
                await self._handler(ws)

        self._server = await websockets.serve(handler, "127.0.0.1", port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self._server.close()
        await self._server.wait_closed()


async def show(page, server: ProtocolServer, values: np.ndarray) -> np.ndarray:
    """Stream ``values`` and return the overlay's canvas (RGBA) once it has drawn them."""
    server.values = values
    target = server.frame + 2
    await page.wait_for_function(f"window.afOverlay.lastFrame >= {target}", timeout=HANG)
    snap = await page.evaluate("window.afOverlay.snapshot()")
    np.testing.assert_allclose(snap["values"], values, atol=1e-6)
    return decode_png(snap["png"])


def file_url(**query: str) -> str:
    q = "&".join(f"{k}={v}" for k, v in query.items())
    return (OVERLAY_DIR / "index.html").as_uri() + ("?" + q if q else "")


# --- tests -------------------------------------------------------------------------------------------------


def test_overlay_spec_files_are_generated_from_the_python_spec():
    """avatar-spec.json/.js must equal af_plugin/render/spec.py; run `python -m af_plugin.render.spec`."""
    assert (OVERLAY_DIR / "avatar-spec.json").read_text(encoding="utf-8") == spec_json()
    assert (OVERLAY_DIR / "avatar-spec.js").read_text(encoding="utf-8") == spec_js()


POSES = {
    "neutral": pose(),
    "jaw_yaw": pose(jawOpen=0.7, headYaw=0.35),
    "blink_smile": pose(eyeBlinkLeft=1, eyeBlinkRight=0.6, mouthSmileLeft=1, mouthSmileRight=0.5, cheekSquintLeft=0.5),
    "brows_roll_gaze": pose(
        browInnerUp=1,
        browOuterUpRight=1,
        headRoll=-0.25,
        headPitch=0.2,
        leftEyeYaw=-0.3,
        rightEyeYaw=-0.3,
        leftEyePitch=-0.2,
        rightEyePitch=-0.2,
    ),  # fmt: skip
    "pucker_puff": pose(mouthPucker=1, cheekPuff=0.8, browDownLeft=1, headX=0.03, headZ=0.05),
    "funnel_tongue": pose(mouthFunnel=0.8, jawOpen=0.4, tongueOut=0.8, mouthLeft=0.6, eyeLookUpLeft=1),
    "beyond_limits": pose(headYaw=1.3, headPitch=-0.9, headRoll=1.0, headX=0.3, headY=-0.2, headZ=0.4, jawOpen=1),
}


@needs_browser
def test_overlay_draws_what_the_python_renderer_draws():
    renderer = StylizedRenderer(512, 512)

    async def main():
        server = ProtocolServer()
        await server.start()
        try:
            async with browser_page() as (page, errors):
                await page.goto(file_url(url=f"ws://127.0.0.1:{server.port}/", bg="%231e2430"))
                await page.wait_for_function("window.afOverlay && window.afOverlay.connected", timeout=HANG)
                assert server.subscribes[0]["streams"] == ["motion"] and server.subscribes[0]["format"] == "json"
                for name, values in POSES.items():
                    js = (await show(page, server, values))[..., :3]
                    py = renderer.render(values)
                    save(f"{name}_js", js)
                    save(f"{name}_py", py)
                    diff = np.abs(js.astype(int) - py.astype(int))
                    # Same shapes: only anti-aliasing differs (canvas vs OpenCV), so differences are thin edges.
                    assert diff.mean() < 3.0, (name, diff.mean())
                    assert (diff.max(axis=-1) > 60).mean() < 0.01, name
                    for part in ("iris", "lips", "hair", "skin"):
                        rgb = parse_color(renderer.spec["colors"][part])
                        a, b = np.all(js == rgb, -1), np.all(py == rgb, -1)
                        # Each picture's pixels of that colour lie within a pixel of the other's.
                        near = lambda m: cv2.dilate(m.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0  # noqa: E731
                        assert (a & ~near(b)).sum() <= 0.03 * a.sum() + 10, (name, part)
                        assert (b & ~near(a)).sum() <= 0.03 * b.sum() + 10, (name, part)
                assert not errors, errors
        finally:
            await server.stop()

    asyncio.run(main())


def mouth_and_eye_boxes(renderer: StylizedRenderer):
    neutral = renderer.render(pose())
    lips = np.all(neutral == parse_color(renderer.spec["colors"]["lips"]), -1)
    ys, xs = np.nonzero(lips)
    mouth = (slice(ys.min() - 5, ys.max() + 45), slice(xs.min() - 10, xs.max() + 10))
    eyes = np.all(neutral == parse_color(renderer.spec["colors"]["eye_white"]), -1)
    ys, xs = np.nonzero(eyes)
    return mouth, (slice(ys.min() - 5, ys.max() + 5), slice(xs.min() - 5, xs.max() + 5))


@needs_browser
def test_mouth_opening_shows_in_screenshots_on_a_transparent_page():
    mouth, eyes = mouth_and_eye_boxes(StylizedRenderer(512, 512))

    async def main():
        server = ProtocolServer()
        await server.start()
        try:
            async with browser_page() as (page, errors):
                await page.goto(file_url(url=f"ws://127.0.0.1:{server.port}/"))  # default bg: transparent
                await page.wait_for_function("window.afOverlay && window.afOverlay.connected", timeout=HANG)
                shots = []
                for k, jaw in enumerate((0.0, 0.3, 0.8)):
                    await show(page, server, pose(jawOpen=jaw))
                    await page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
                    png = await page.screenshot(omit_background=True)
                    img = cv2.cvtColor(cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED),
                                       cv2.COLOR_BGRA2RGBA)  # fmt: skip
                    save(f"screenshot_jaw_{k}", img)
                    shots.append(img)
                assert not errors, errors
            return shots
        finally:
            await server.stop()

    closed, half, opened = asyncio.run(main())
    assert closed.shape == (512, 512, 4)
    assert closed[0, 0, 3] == 0 and closed[256, 256, 3] == 255  # transparent around an opaque avatar
    assert closed[..., :3][closed[..., 3] == 255].std() > 20  # a picture, not a uniform block
    d = lambda a, b, region: np.abs(a[region].astype(int) - b[region].astype(int)).mean()  # noqa: E731
    assert d(closed, opened, mouth) > 15 and d(closed, half, mouth) > 5
    assert d(closed, opened, mouth) > d(closed, half, mouth)
    lum = lambda im: cv2.cvtColor(im[..., :3], cv2.COLOR_RGB2GRAY)[mouth]  # noqa: E731
    assert (lum(opened) < 60).sum() > (lum(closed) < 60).sum() + 500  # a dark mouth opened
    assert d(closed, opened, eyes) < 0.5


class FramesServer(ProtocolServer):
    """Streams rendered JPEG frames (the ``frames`` stream) instead of motion."""

    def __init__(self, jpeg: bytes) -> None:
        super().__init__()
        self.jpeg = base64.b64encode(jpeg).decode()

    async def _handler(self, ws) -> None:
        await ws.send(json.dumps({"type": "hello", "protocol": 1, "channels": list(CHANNELS), "session": "default"}))
        sub = json.loads(await ws.recv())
        self.subscribes.append(sub)
        await ws.send(json.dumps({"type": "subscribed", "session": "default", "streams": sub["streams"]}))
        while True:
            self.frame += 1
            await ws.send(json.dumps({"type": "frame", "frame": self.frame, "t": self.frame / 25,
                                      "jpeg": self.jpeg, "session": "default"}))  # fmt: skip
            await asyncio.sleep(0.04)


@needs_browser
def test_frames_mode_shows_the_runtimes_rendered_jpegs(shared_data):
    from af_plugin.render.portrait import PortraitRenderer

    picture = PortraitRenderer(shared_data / "astronaut.png", 256, 256).render(pose(jawOpen=0.6, eyeBlinkLeft=1))
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(picture, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok

    async def main():
        server = FramesServer(jpeg.tobytes())
        await server.start()
        try:
            async with browser_page() as (page, errors):
                await page.goto(file_url(url=f"ws://127.0.0.1:{server.port}/", mode="frames", size="256"))
                await page.wait_for_function("window.afOverlay && window.afOverlay.frames > 3", timeout=HANG)
                assert server.subscribes[0]["streams"] == ["frames"]
                shown = decode_png((await page.evaluate("window.afOverlay.snapshot()"))["png"])
                assert not errors, errors
                return shown
        finally:
            await server.stop()

    shown = asyncio.run(main())
    save("frames_mode", shown)
    assert shown.shape == (256, 256, 4) and shown[..., 3].min() == 255
    assert np.abs(shown[..., :3].astype(int) - picture.astype(int)).mean() < 4  # the JPEG, drawn 1:1


@needs_browser
def test_overlay_reconnects_with_back_off_and_shows_status_only_while_disconnected():
    async def main():
        server = ProtocolServer()
        await server.start()
        port = server.port
        async with browser_page() as (page, errors):
            await page.goto(file_url(url=f"ws://127.0.0.1:{port}/"))
            await page.wait_for_function("window.afOverlay && window.afOverlay.connected", timeout=HANG)
            assert await page.evaluate("document.getElementById('status').hidden")
            await server.stop()
            await page.wait_for_function("!window.afOverlay.connected && window.afOverlay.attempts >= 2",
                                         timeout=HANG)  # fmt: skip
            badge = await page.evaluate(
                "({hidden: document.getElementById('status').hidden, text: document.getElementById('status').textContent})"
            )
            assert not badge["hidden"] and "retrying" in badge["text"], badge
            frames_before = await page.evaluate("window.afOverlay.frames")
            server = ProtocolServer()
            await server.start(port)
            try:
                await page.wait_for_function(
                    f"window.afOverlay.connected && window.afOverlay.frames > {frames_before + 5}", timeout=HANG
                )
                state = await page.evaluate("({r: afOverlay.reconnects, a: afOverlay.attempts})")
                assert state == {"r": 1, "a": 0}
                assert await page.evaluate("document.getElementById('status').hidden")
                assert not errors, errors
            finally:
                await server.stop()

    asyncio.run(main())


# --- the real runtime ---------------------------------------------------------------------------------------


def start_runtime(port: int, token: str, wav: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1")
    return subprocess.Popen(
        [sys.executable, "-m", "af_plugin", "run", "--avatar-audio", str(wav), "--loop",
         "--ws", f"127.0.0.1:{port}", "--token", token, "--set", "model.steps=1"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def wait_http(url: str, proc: subprocess.Popen, timeout_s: float = 120) -> None:
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"af run exited early:\n{proc.stdout.read()}")
        with contextlib.suppress(urllib.error.URLError, ConnectionError, OSError):
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        time.sleep(0.3)
    raise AssertionError(f"af run did not serve {url}")


def stop_runtime(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    if proc.stdout:
        proc.stdout.close()


@needs_browser
def test_overlay_served_by_the_real_runtime_draws_its_frames_and_reconnects_after_a_restart(shared_data):
    wav = shared_data / "hdtf_radio31_16k.wav"
    port, token = free_port(), "s3cret-overlay"
    renderer = StylizedRenderer(512, 512)
    base = f"http://127.0.0.1:{port}/overlay/"
    proc = start_runtime(port, token, wav)
    try:
        wait_http(f"{base}?token={token}", proc)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{base}avatar.js", timeout=5)
        assert refused.value.code == 401  # the page's files need the token: the page passes it on

        async def main():
            nonlocal proc
            async with browser_page() as (page, errors):
                await page.goto(f"{base}?token={token}&bg=%231e2430")
                await page.wait_for_function("window.afOverlay && window.afOverlay.frames > 10", timeout=HANG)
                snaps = []
                for _ in range(2):
                    snaps.append(await page.evaluate("window.afOverlay.snapshot()"))
                    await page.wait_for_timeout(400)
                for k, snap in enumerate(snaps):
                    assert snap["channels"] == list(CHANNELS)
                    js = decode_png(snap["png"])[..., :3]
                    py = renderer.render(np.array(snap["values"], np.float32))
                    save(f"runtime_{k}_js", js)
                    assert js.std() > 20  # the avatar, not a blank page
                    assert np.abs(js.astype(int) - py.astype(int)).mean() < 3.0
                assert snaps[1]["frame"] > snaps[0]["frame"]
                # Kill the runtime: the overlay notices and retries; start it again: it reconnects alone.
                stop_runtime(proc)
                await page.wait_for_function("!window.afOverlay.connected", timeout=HANG)
                await page.wait_for_function("!document.getElementById('status').hidden", timeout=HANG)
                frames_before = await page.evaluate("window.afOverlay.frames")
                proc = start_runtime(port, token, wav)
                await page.wait_for_function(
                    f"window.afOverlay.connected && window.afOverlay.frames > {frames_before + 10}", timeout=180_000
                )
                assert await page.evaluate("window.afOverlay.reconnects") >= 1
                assert await page.evaluate("document.getElementById('status').hidden")
                assert not errors, errors

        asyncio.run(main())
    finally:
        stop_runtime(proc)
