// The stylized avatar on an HTML canvas: a line-by-line port of af_plugin/render/face_geometry.py.
// Both read the same spec (avatar-spec.json / avatar-spec.js, generated from af_plugin/render/spec.py),
// so the overlay looks like the Python renderer. Keep this file in step with face_geometry.py:
// tests/test_obs_overlay.py compares the two pictures pose by pose.
//
// AFAvatar.buildScene(get, spec, width, height) -> [{kind, points: [[x, y], ...], color, width, closed}]
//   get(name) returns a channel value by name (unknown names -> 0).
// AFAvatar.draw(ctx, get, spec, width, height) paints a frame (clears to transparent or the background).
(function (root) {
  "use strict";

  const NOT_CLIPPED = new Set([
    "headYaw", "headPitch", "headRoll", "headX", "headY", "headZ",
    "leftEyeYaw", "leftEyePitch", "rightEyeYaw", "rightEyePitch",
  ]);
  const GAZE = ["leftEyeYaw", "leftEyePitch", "rightEyeYaw", "rightEyePitch"];

  // Channel access like _Channels: non-finite -> 0, blendshapes clipped to 0..1.
  function channels(get) {
    return function (name) {
      let v = Number(get(name));
      if (!Number.isFinite(v)) v = 0;
      if (!NOT_CLIPPED.has(name)) v = Math.min(1, Math.max(0, v));
      return v;
    };
  }

  // --- small array helpers (numpy stand-ins) ---
  function linspace(a, b, n, endpoint = true) {
    const out = new Array(n);
    const d = endpoint ? n - 1 : n;
    for (let i = 0; i < n; i++) out[i] = a + ((b - a) * i) / (d || 1);
    return out;
  }
  const map = (a, f) => a.map(f);
  const rev = (a) => a.slice().reverse();
  const clip = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
  function interp(x, xp, fp) {
    return x.map((v) => {
      if (v <= xp[0]) return fp[0];
      if (v >= xp[xp.length - 1]) return fp[fp.length - 1];
      let i = 1;
      while (xp[i] < v) i++;
      const t = (v - xp[i - 1]) / (xp[i] - xp[i - 1]);
      return fp[i - 1] + t * (fp[i] - fp[i - 1]);
    });
  }
  function ellipse(cx, cy, rx, ry, n) {
    const t = linspace(0, 2 * Math.PI, n, false);
    return [t.map((a) => cx + rx * Math.cos(a)), t.map((a) => cy + ry * Math.sin(a))];
  }

  // --- projector (see _Projector) ---
  function projector(spec, ch, width, height) {
    const cv = spec.canvas, head = spec.head;
    // A 2.5-D cartoon head cannot show a profile: angles and shifts are clamped to what it draws well.
    const yaw = clip(ch("headYaw"), -cv.max_yaw, cv.max_yaw);
    const pitch = clip(ch("headPitch"), -cv.max_pitch, cv.max_pitch);
    const roll = clip(ch("headRoll"), -cv.max_roll, cv.max_roll);
    const hx = clip(ch("headX"), -cv.max_shift_m, cv.max_shift_m);
    const hy = clip(ch("headY"), -cv.max_shift_m, cv.max_shift_m);
    const cy_ = Math.cos(yaw), sy_ = Math.sin(yaw);
    const cp = Math.cos(pitch), sp = Math.sin(pitch);
    const cr = Math.cos(roll), sr = Math.sin(roll);
    const ryaw = [[cy_, 0, sy_], [0, 1, 0], [-sy_, 0, cy_]];
    const rpitch = [[1, 0, 0], [0, cp, sp], [0, -sp, cp]];
    const rroll = [[cr, sr, 0], [-sr, cr, 0], [0, 0, 1]];
    const mul = (a, b) => a.map((row) => [0, 1, 2].map((j) => row[0] * b[0][j] + row[1] * b[1][j] + row[2] * b[2][j]));
    const rot = mul(rroll, mul(rpitch, ryaw));
    const mpu = cv.metres_per_unit, cam = cv.camera_distance_m;
    const tz = clip(ch("headZ"), -0.5 * cam, 0.15 * cam);
    const base = Math.min(width, height) * cv.head_scale;
    const follow = spec.body.follow;
    const pj = {
      rx: head.rx, ry: head.ry, rz: head.rz, yaw, pitch, roll,
      baseScale: base,
      scale: (base * cam) / (cam - tz),
      cx: width * cv.head_center[0] + (base * hx) / mpu,
      cy: height * cv.head_center[1] - (base * hy) / mpu,
      bodyCx: width * cv.head_center[0] + (follow * base * hx) / mpu,
      bodyCy: height * cv.head_center[1] - (follow * base * hy) / mpu,
      persp: cv.perspective_units,
    };
    pj.surfaceZ = (x, y) => x.map((xv, i) => {
      const inside = 1 - (xv / pj.rx) ** 2 - (y[i] / pj.ry) ** 2;
      return pj.rz * Math.sqrt(clip(inside, 0, 1));
    });
    pj.project = (x, y, z) => x.map((xv, i) => {
      const px = rot[0][0] * xv + rot[0][1] * y[i] + rot[0][2] * z[i];
      const py = rot[1][0] * xv + rot[1][1] * y[i] + rot[1][2] * z[i];
      const pz = rot[2][0] * xv + rot[2][1] * y[i] + rot[2][2] * z[i];
      const k = pj.persp / (pj.persp - pz);
      return [pj.cx + pj.scale * px * k, pj.cy - pj.scale * py * k];
    });
    pj.face = (x, y, zExtra = 0) => pj.project(x, y, pj.surfaceZ(x, y).map((z) => z + zExtra));
    pj.flat = (x, y, dx = 0) => x.map((xv, i) => {
      const px = cr * xv + sr * y[i];
      const py = -sr * xv + cr * y[i];
      return [pj.cx + pj.scale * (px + dx), pj.cy - pj.scale * py];
    });
    pj.body = (x, y) => x.map((xv, i) => [pj.bodyCx + pj.baseScale * xv, pj.bodyCy - pj.baseScale * y[i]]);
    return pj;
  }

  function gaze(ch, side, eyes) {
    if (GAZE.some((n) => ch(n) !== 0)) {
      const s = side.toLowerCase();
      return [ch(s + "EyeYaw"), ch(s + "EyePitch")];
    }
    const k = eyes.blendshape_gaze_rad;
    const outward = side === "Left" ? 1 : -1;
    return [
      k * outward * (ch("eyeLookOut" + side) - ch("eyeLookIn" + side)),
      k * (ch("eyeLookUp" + side) - ch("eyeLookDown" + side)),
    ];
  }

  function buildScene(get, spec, width, height) {
    const ch = channels(get);
    const pj = projector(spec, ch, width, height);
    const shapes = [];
    const fill = (points, color) => shapes.push({ kind: "fill", points, color, width: 0, closed: false });
    const stroke = (points, color, widthPx, closed = false) =>
      shapes.push({
        kind: "stroke", points, color, closed,
        width: ((widthPx * pj.scale) / pj.baseScale) * (Math.min(width, height) / 512),
      });

    const head = spec.head, hair = spec.hair, body = spec.body;
    const rx = head.rx, ry = head.ry;
    const wEff = Math.sqrt((rx * Math.cos(pj.yaw)) ** 2 + (pj.rz * Math.sin(pj.yaw)) ** 2);
    const hEff = Math.sqrt((ry * Math.cos(pj.pitch)) ** 2 + (pj.rz * Math.sin(pj.pitch)) ** 2);
    const jawDx = 0.3 * Math.sin(pj.yaw);

    // back hair
    const n = head.points;
    const phi = linspace(0, 2 * Math.PI, n, false);
    const pad = hair.back_pad;
    const bx = phi.map((p) => (wEff + pad) * Math.cos(p));
    const by = phi.map((p) => (Math.sin(p) > 0
      ? (hEff + pad) * Math.sin(p)
      : Math.max((hEff + pad) * Math.sin(p), hair.back_bottom)));
    fill(pj.flat(bx, by, hair.back_z * Math.sin(pj.yaw)), "hair");

    // body
    const nw = body.neck_w;
    fill(pj.body([-nw, nw, nw, -nw], [body.neck_top, body.neck_top, body.neck_bottom, body.neck_bottom]), "skin");
    let t = linspace(0, Math.PI, 33);
    const sx = t.map((a) => body.shoulder_w * Math.cos(a));
    const sy = t.map((a) => body.bottom + (body.shoulder_top - body.bottom) * Math.sin(a) ** 0.6);
    const shirt = pj.body([...sx, -body.shoulder_w], [...sy, body.bottom - 1])
      .concat(pj.body([body.shoulder_w], [body.bottom - 1]));
    fill(shirt, "shirt");
    t = linspace(Math.PI, 2 * Math.PI, 17);
    const collar = pj.body(t.map((a) => nw * 1.05 * Math.cos(a)), t.map((a) => body.shoulder_top + 0.28 * Math.sin(a)));
    fill(collar.concat(pj.body([nw * 1.05, -nw * 1.05], [body.shoulder_top + 0.2, body.shoulder_top + 0.2])), "skin");
    stroke(collar, "shirt_line", 2.0);

    // head outline (computed here: the chin's shadow on the neck needs it)
    const jaw = ch("jawOpen") * (1 - ch("mouthClose"));
    const hx = [], hy = [];
    phi.forEach((p) => {
      const sinp = Math.sin(p), cosp = Math.cos(p);
      const lower = Math.max(0, -sinp);
      let x = wEff * cosp * (1 - head.jaw_narrow * lower ** 1.5);
      const cheek = Math.exp(-((p - 1.75 * Math.PI) ** 2) / 0.12) + Math.exp(-((p - 1.25 * Math.PI) ** 2) / 0.12);
      x = x * (1 + head.cheek_puff * ch("cheekPuff") * cheek);
      const y = hEff * sinp - head.jaw_drop * jaw * lower ** 2;
      x = x + (jawDx + 0.08 * (ch("jawLeft") - ch("jawRight"))) * lower ** 2;
      hx.push(x);
      hy.push(y);
    });
    const outline = pj.flat(hx, hy);

    // the chin's shadow on the neck: the outline moved down, squeezed into the neck's width
    const [[neckL], [neckR]] = pj.body([-nw, nw], [0, 0]);
    fill(outline.map(([x, y]) => [clip(x, neckL, neckR), y + body.chin_shadow * pj.scale]), "neck_shadow");

    // ears
    const ears = spec.ears;
    for (const s of [1, -1]) {
      const [ex, ey] = ellipse(s * ears.x, ears.y, ears.rx, ears.ry, 20);
      const pts = pj.project(ex, ey, ex.map(() => ears.z));
      fill(pts, "skin");
      stroke(pts, "skin_line", 2.0, true);
    }

    fill(outline, "skin");
    stroke(outline, "skin_line", spec.canvas.outline_px, true);

    eyesShapes(ch, pj, spec, fill, stroke);

    // nose
    const nose = spec.nose;
    const sneer = 0.5 * (ch("noseSneerLeft") + ch("noseSneerRight"));
    const [nx, ny] = ellipse(0, nose.y + nose.sneer * sneer, nose.w * (1 + 0.3 * sneer), nose.h, nose.points);
    fill(pj.face(nx, ny, nose.z_extra), "nose");

    // blush
    const ck = spec.cheeks;
    for (const [s, side] of [[1, "Left"], [-1, "Right"]]) {
      const grow = 1 + ck.puff_grow * ch("cheekPuff");
      const [cx, cy] = ellipse(s * ck.x, ck.y + ck.squint_up * ch("cheekSquint" + side), ck.rx * grow, ck.ry * grow, 20);
      fill(pj.face(cx, cy), "blush");
    }

    browShapes(ch, pj, spec, fill);
    mouthShapes(ch, pj, spec, fill, stroke);

    // fringe
    const top = linspace(-0.12, Math.PI + 0.12, 31);
    const tp = hair.top_pad;
    const arc = pj.flat(top.map((a) => (wEff + tp) * Math.cos(a)), top.map((a) => (hEff + tp) * Math.sin(a)));
    const u = linspace(-1, 1, hair.fringe_points);
    const fx = u.map((v) => v * rx * 0.98);
    const fy = u.map((v) => hair.fringe_y
      + hair.fringe_wave * Math.abs(Math.sin((hair.fringe_waves * Math.PI * (v + 1)) / 2))
      + 0.25 * Math.abs(v) ** 3);
    fill(arc.concat(pj.face(fx, fy)), "hair");
    const sh = hair.shine;
    const [shx, shy] = ellipse(sh[0], sh[1], sh[2], sh[3], 16);
    fill(pj.face(shx, shy, 0.02), "hair_shine");
    return shapes;
  }

  function eyesShapes(ch, pj, spec, fill, stroke) {
    const e = spec.eyes;
    const u = linspace(-1, 1, e.points);
    const prof = u.map((v) => (1 - v * v) ** 0.6);
    for (const [s, side] of [[1, "Left"], [-1, "Right"]]) {
      const cx = s * e.x, cy = e.y, erx = e.rx, ery = e.ry;
      const blink = ch("eyeBlink" + side), squint = ch("eyeSquint" + side);
      const lo = e.lower_open * (1 - e.squint_lower * squint - 0.3 * ch("cheekSquint" + side));
      const upOpen = 1 + e.wide * ch("eyeWide" + side) - e.squint_upper * squint;
      const up = upOpen * (1 - blink) - lo * blink;
      const x = u.map((v) => cx + v * erx);
      const yUpOpen = prof.map((p) => cy + ery * upOpen * p);
      const yLow = prof.map((p) => cy - ery * lo * p);
      const yUp = prof.map((p, i) => Math.max(cy + ery * up * p, yLow[i]));
      fill(pj.face(x.concat(rev(x)), yUp.concat(rev(yLow))), "eye_white");
      const [gYaw, gPitch] = gaze(ch, side, e);
      const ix = cx + erx * e.gaze_x * clip(gYaw / 0.6, -1, 1);
      const iy = cy + ery * e.gaze_y * clip(gPitch / 0.5, -1, 1);
      let [px, py] = ellipse(ix, iy, e.iris_r, e.iris_r, 20);
      fill(pj.face(px, py, 0.01), "iris");
      [px, py] = ellipse(ix, iy, e.pupil_r, e.pupil_r, 14);
      fill(pj.face(px, py, 0.015), "pupil");
      const hl = e.highlight;
      [px, py] = ellipse(ix + hl[0], iy + hl[1], hl[2], hl[2], 10);
      fill(pj.face(px, py, 0.02), "highlight");
      const bw = erx * 1.6, bh = ery * 2.4;
      const boxX = [cx + bw, cx + bw, cx - bw, cx - bw];
      fill(pj.face(x.concat(boxX), yUpOpen.concat([cy, cy + bh, cy + bh, cy])), "skin");
      fill(pj.face(x.concat(boxX), yLow.concat([cy, cy - bh, cy - bh, cy])), "skin");
      if (blink > 0 || up < upOpen) fill(pj.face(x.concat(rev(x)), yUpOpen.concat(rev(yUp))), "lid");
      const flickX = cx + s * erx * 1.18, flickY = cy + ery * 0.35;
      const lash = s > 0
        ? pj.face(x.concat([flickX]), yUp.concat([flickY]))
        : pj.face([flickX].concat(x), [flickY].concat(yUp));
      stroke(lash, "lash", e.lash_px);
    }
  }

  function browShapes(ch, pj, spec, fill) {
    const b = spec.brows;
    const u = linspace(0, 1, b.points);
    for (const [s, side] of [[1, "Left"], [-1, "Right"]]) {
      const down = ch("browDown" + side);
      const x = u.map((v) => s * (b.x_inner + (b.x_outer - b.x_inner) * v - b.down_inward * down * (1 - v)));
      const y = u.map((v) => b.y
        + b.arch * Math.sin(Math.PI * v)
        + b.inner_up * ch("browInnerUp") * (1 - v) ** 1.5
        + b.outer_up * ch("browOuterUp" + side) * v ** 1.5
        - b.down * down * (1 - 0.5 * v));
      const half = u.map((v) => 0.5 * b.thick * (1 - 0.55 * v) * (0.6 + 0.4 * Math.sin(Math.PI * Math.min(1, v * 2.5 + 0.2))));
      const yTop = y.map((v, i) => v + half[i]);
      const yBot = y.map((v, i) => v - half[i]);
      fill(pj.face(x.concat(rev(x)), yTop.concat(rev(yBot)), 0.02), "brow");
    }
  }

  function mouthShapes(ch, pj, spec, fill, stroke) {
    const m = spec.mouth;
    const n = m.points;
    const u = linspace(-1, 1, n);
    const pucker = ch("mouthPucker"), funnel = ch("mouthFunnel");
    const jaw = ch("jawOpen") * (1 - ch("mouthClose"));
    const perSide = (l, r) => u.map((v) => (v > 0 ? l : r));
    const smile = perSide(ch("mouthSmileLeft"), ch("mouthSmileRight"));
    const frown = perSide(ch("mouthFrownLeft"), ch("mouthFrownRight"));
    const stretch = perSide(ch("mouthStretchLeft"), ch("mouthStretchRight"));
    const dimple = perSide(ch("mouthDimpleLeft"), ch("mouthDimpleRight"));
    const halfW = u.map((_, i) => Math.max(0.06, m.w
      + m.smile_w * smile[i] + m.stretch_w * stretch[i] + 0.3 * m.smile_w * dimple[i]
      - m.pucker_w * pucker - m.funnel_w * funnel - m.puff_w * ch("cheekPuff")));
    const mx = m.side_shift * (ch("mouthLeft") - ch("mouthRight")) + m.jaw_side * (ch("jawLeft") - ch("jawRight"));
    const x = u.map((v, i) => mx + v * halfW[i]);
    const base = u.map((v, i) => m.y + (m.smile_up * smile[i] - m.frown_down * frown[i]) * v * v);
    const prof = u.map((v) => (1 - v * v) ** (0.75 - 0.4 * funnel));
    const openLo = m.open * jaw
      + m.lower_down * 0.5 * (ch("mouthLowerDownLeft") + ch("mouthLowerDownRight"))
      + m.funnel_open * funnel;
    const openUp = 0.12 * m.open * jaw
      + m.upper_up * 0.5 * (ch("mouthUpperUpLeft") + ch("mouthUpperUpRight"))
      + 0.5 * m.funnel_open * funnel
      + 0.02 * ch("mouthShrugUpper");
    const innerUp = base.map((b, i) => b + openUp * prof[i]);
    const innerLo = base.map((b, i) => b - openLo * prof[i]);
    const press = 0.5 * (ch("mouthPressLeft") + ch("mouthPressRight"));
    let tUp = m.lip_upper * (1 - m.press * press - m.roll * ch("mouthRollUpper")) + m.pucker_lip * pucker + 0.02 * funnel;
    let tLo = m.lip_lower * (1 - m.press * press - m.roll * ch("mouthRollLower")) + m.pucker_lip * pucker
      + 0.02 * funnel + 0.02 * ch("mouthShrugLower");
    tUp = Math.max(tUp, 0.012);
    tLo = Math.max(tLo, 0.012);
    const lipProf = u.map((v) => Math.sqrt(1 - v * v));
    const outerUp = innerUp.map((y, i) => y + tUp * lipProf[i] - 0.3 * tUp * Math.exp(-((u[i] / 0.18) ** 2)));
    const outerLo = innerLo.map((y, i) => y - tLo * lipProf[i]);
    const z = m.z_extra + m.pucker_z * pucker + 0.6 * m.pucker_z * funnel;
    const face = (xs, ys) => pj.face(xs, ys, z);
    const xx = x.concat(rev(x));

    fill(face(xx, outerUp.concat(rev(outerLo))), "lips");
    const interior = face(xx, innerUp.concat(rev(innerLo)));
    fill(interior, "mouth");
    const teethLo = u.map((v, i) => Math.max(innerLo[i], innerUp[i] - m.teeth * (1 - v * v) ** 0.3));
    fill(face(xx, innerUp.concat(rev(teethLo))), "teeth");
    const tu = linspace(-0.7, 0.7, n);
    const tw = interp(tu, u, halfW);
    const tx = tu.map((v, i) => mx + v * tw[i]);
    const tBase = interp(tu, u, innerLo);
    const tInnerUp = interp(tu, u, innerUp);
    const tProf = tu.map((v) => Math.sqrt(clip(1 - (v / 0.7) ** 2, 0, 1)));
    const grow = Math.min(1, (4 * openLo) / m.open);
    const tTop = tBase.map((b, i) => Math.min(tInnerUp[i], b + m.tongue * tProf[i] * grow));
    const tBot = tBase.map((b, i) => b - m.tongue_out * ch("tongueOut") * tProf[i]);
    fill(face(tx.concat(rev(tx)), tTop.concat(rev(tBot))), "tongue");
    stroke(interior, "lip_line", m.seam_px, true);
  }

  function parseColor(text) {
    const t = String(text).trim().toLowerCase();
    if (t === "transparent" || t === "none") return null;
    let h = t.startsWith("#") ? t.slice(1) : t;
    if (h.length === 3) h = h.split("").map((c) => c + c).join("");
    if (!/^[0-9a-f]{6}$/.test(h)) return undefined;
    return "#" + h;
  }

  function draw(ctx, get, spec, width, height) {
    const bg = parseColor(spec.colors.background);
    ctx.clearRect(0, 0, width, height);
    if (bg) {
      ctx.fillStyle = bg;
      ctx.fillRect(0, 0, width, height);
    }
    ctx.lineJoin = "round";
    ctx.lineCap = "round";
    for (const shape of buildScene(get, spec, width, height)) {
      const pts = shape.points;
      if (!pts.length) continue;
      ctx.beginPath();
      ctx.moveTo(pts[0][0], pts[0][1]);
      for (let i = 1; i < pts.length; i++) ctx.lineTo(pts[i][0], pts[i][1]);
      const color = parseColor(spec.colors[shape.color]) || "#000000";
      if (shape.kind === "fill") {
        ctx.closePath();
        ctx.fillStyle = color;
        ctx.fill();
      } else {
        if (shape.closed) ctx.closePath();
        ctx.strokeStyle = color;
        // OpenCV's anti-aliased polyline of thickness t covers about t + 2.4 px (1.35 px for t = 1);
        // match it so both renderers draw the same line weights from the same spec.
        const t = Math.max(1, Math.round(shape.width));
        ctx.lineWidth = t === 1 ? 1.35 : t + 2.4;
        ctx.stroke();
      }
    }
  }

  root.AFAvatar = { buildScene, draw, parseColor, linspace, interp };
})(typeof window !== "undefined" ? window : globalThis);
