// OBS overlay client: protocol v1 (docs/protocol.md) → the stylized avatar (avatar.js) on a canvas.
// Connects to the runtime's websocket, subscribes to motion, redraws on each new frame, reconnects on its
// own with exponential back-off, and shows a small badge only while disconnected.
// window.afOverlay exposes the state (for tests and for curious users in the browser console).
function afOverlayMain() {
  "use strict";

  const params = new URLSearchParams(location.search);
  const http = location.protocol === "http:" || location.protocol === "https:";

  function defaultUrl() {
    if (http) return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/";
    return "ws://127.0.0.1:8765/";
  }

  function withToken(url, token) {
    if (!token) return url;
    const u = new URL(url);
    u.searchParams.set("token", token);
    return u.toString();
  }

  function intParam(name, fallback, lo, hi) {
    const v = parseInt(params.get(name), 10);
    return Number.isFinite(v) ? Math.min(hi, Math.max(lo, v)) : fallback;
  }

  const size = intParam("size", 512, 64, 4096);
  const state = {
    // "motion": draw the stylized avatar from motion frames (transparent). "frames": show the runtime's own
    // rendered JPEG frames (its [render] style, e.g. an animated portrait photo; opaque).
    mode: params.get("mode") === "frames" ? "frames" : "motion",
    url: withToken(params.get("url") || defaultUrl(), params.get("token")),
    session: params.get("session") || "default",
    width: intParam("width", size, 64, 4096),
    height: intParam("height", size, 64, 4096),
    connected: false,
    frames: 0,
    lastFrame: null,
    lastValues: null,
    channels: null,
    reconnects: 0,
    attempts: 0,
    retryInMs: 0,
    lastError: null,
    spec: null,
    drawn: 0,
  };
  window.afOverlay = state;
  const urlForDisplay = state.url.replace(/token=[^&]*/, "token=…");

  const canvas = document.getElementById("avatar");
  const ctx = canvas.getContext("2d");
  const badge = document.getElementById("status");
  const showStatus = params.get("status") !== "0";
  canvas.width = state.width;
  canvas.height = state.height;

  function setStatus(text, isError) {
    if (!showStatus || !text) {
      badge.hidden = true;
      return;
    }
    badge.hidden = false;
    badge.textContent = text;
    badge.className = isError ? "error" : "";
  }

  // --- the spec: served avatar-spec.json when over HTTP (freshest), else the embedded avatar-spec.js ---
  function applySettings(spec) {
    spec = JSON.parse(JSON.stringify(spec));
    const bg = params.get("bg") || params.get("background");
    spec.colors.background = bg ? bg : "transparent";
    for (const item of (params.get("colors") || "").split(",")) {
      const [name, value] = item.split(":");
      if (!name || !value || !(name.trim() in spec.colors)) continue;
      const c = window.AFAvatar.parseColor(value);
      if (c !== undefined) spec.colors[name.trim()] = c === null ? "transparent" : c;
    }
    return spec;
  }

  async function loadSpec() {
    if (http) {
      try {
        const token = params.get("token");
        const r = await fetch("avatar-spec.json" + (token ? "?token=" + encodeURIComponent(token) : ""), { cache: "no-store" });
        if (r.ok) return await r.json();
      } catch (e) {
        /* fall back to the embedded copy */
      }
    }
    return window.AF_AVATAR_SPEC;
  }

  // --- drawing: at most once per animation frame, only when something new arrived ---
  let dirty = true;
  function getter() {
    const values = state.lastValues, names = state.channels;
    if (!values || !names) return () => 0;
    const index = new Map(names.map((n, i) => [n, i]));
    return (name) => (index.has(name) ? values[index.get(name)] : 0);
  }
  // Draw now and return what was drawn (used by tests; handy in the browser console too).
  state.snapshot = () => {
    if (state.mode === "motion") window.AFAvatar.draw(ctx, getter(), state.spec, canvas.width, canvas.height);
    return { frame: state.lastFrame, values: state.lastValues, channels: state.channels, png: canvas.toDataURL("image/png") };
  };
  function frame() {
    if (dirty && state.spec && state.mode === "motion") {
      dirty = false;
      window.AFAvatar.draw(ctx, getter(), state.spec, canvas.width, canvas.height);
      state.drawn += 1;
    }
    requestAnimationFrame(frame);
  }

  // Rendered frames: decode the newest JPEG; frames arriving while one decodes replace the waiting one.
  let decoding = false, waiting = null;
  function showJpeg(msg) {
    if (decoding) {
      waiting = msg;
      return;
    }
    decoding = true;
    const img = new Image();
    img.onload = img.onerror = () => {
      if (img.naturalWidth) {
        ctx.clearRect(0, 0, canvas.width, canvas.height);
        const k = Math.min(canvas.width / img.naturalWidth, canvas.height / img.naturalHeight);
        const w = img.naturalWidth * k, h = img.naturalHeight * k;
        ctx.drawImage(img, (canvas.width - w) / 2, (canvas.height - h) / 2, w, h);
        state.lastFrame = msg.frame;
        state.frames += 1;
        state.drawn += 1;
      }
      decoding = false;
      if (waiting) {
        const next = waiting;
        waiting = null;
        showJpeg(next);
      }
    };
    img.src = "data:image/jpeg;base64," + msg.jpeg;
  }

  // --- connection with back-off ---
  let ws = null;
  let timer = null;
  function scheduleReconnect(reason) {
    state.connected = false;
    const delay = Math.min(10000, 500 * 2 ** Math.min(state.attempts, 5)) * (0.85 + 0.3 * Math.random());
    state.attempts += 1;
    state.retryInMs = Math.round(delay);
    setStatus(`avatar: ${reason} — retrying in ${(delay / 1000).toFixed(1)} s (${urlForDisplay})`, state.attempts > 3);
    clearTimeout(timer);
    timer = setTimeout(connect, delay);
  }

  function connect() {
    let sock;
    try {
      sock = new WebSocket(state.url);
    } catch (e) {
      state.lastError = String(e);
      setStatus(`avatar: bad url ${urlForDisplay}`, true);
      return;
    }
    ws = sock;
    let opened = false;
    sock.onopen = () => {
      opened = true;
    };
    sock.onmessage = (ev) => {
      if (typeof ev.data !== "string") return; // binary = motion in binary format; we asked for JSON
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch (e) {
        return;
      }
      if (msg.type === "hello") {
        state.channels = msg.channels;
        const streams = [state.mode === "frames" ? "frames" : "motion"];
        sock.send(JSON.stringify({ type: "subscribe", streams, format: "json", session: state.session }));
      } else if (msg.type === "subscribed") {
        if (state.attempts > 0 || state.frames > 0) state.reconnects += 1;
        state.connected = true;
        state.attempts = 0;
        state.lastError = null;
        setStatus(null);
      } else if (msg.type === "motion") {
        if (msg.session && msg.session !== state.session) return;
        state.lastValues = msg.values;
        state.lastFrame = msg.frame;
        state.frames += 1;
        dirty = true;
      } else if (msg.type === "frame") {
        if (msg.session && msg.session !== state.session) return;
        showJpeg(msg);
      } else if (msg.type === "error") {
        state.lastError = `${msg.code}: ${msg.message}`;
        setStatus(`avatar: ${state.lastError}`, true);
      }
    };
    sock.onclose = (ev) => {
      if (ws !== sock) return;
      const why = opened ? "disconnected" : "cannot connect (is `af run` running? right url/token?)";
      state.lastError = ev.reason || why;
      scheduleReconnect(why);
    };
    sock.onerror = () => {
      /* onclose follows and schedules the retry */
    };
  }

  loadSpec().then((spec) => {
    state.spec = applySettings(spec);
    requestAnimationFrame(frame);
    setStatus("avatar: connecting…");
    connect();
  });
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", afOverlayMain);
else afOverlayMain();
