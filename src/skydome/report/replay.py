"""The interactive replay: one self-contained, offline HTML file.

Everything -- data, script, style, figures -- is inlined: the page makes no
network request of any kind, so it can be mailed, archived, or opened on an
air-gapped machine. The map is drawn on a canvas from the run's tables:
threats (truth), tracks with their 1-sigma uncertainty, interceptors in
flight, kills and leaks, animated with a play button and a time slider.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

import numpy as np

from skydome.report.data import RunData
from skydome.report.figures import coverage_ring

__all__ = ["replay_data", "replay_html"]


def _r(x: Any, nd: int = 3) -> Any:
    return np.round(np.asarray(x, dtype=float), nd).tolist()


def replay_data(d: RunData) -> dict[str, Any]:
    """The data the page animates, in km and seconds, rounded for size."""
    p = d.params
    th = p.threats
    threats: dict[str, list[Any]] = {"id": [], "type": [], "t": [], "x": [], "y": [], "z": []}
    for tid, g in d.truth.groupby("threat_id"):
        threats["id"].append(int(tid))
        threats["type"].append(int(th.type_index[int(tid)]))
        threats["t"].append(_r(g["time_s"], 1))
        threats["x"].append(_r(g["x_m"] / 1e3))
        threats["y"].append(_r(g["y_m"] / 1e3))
        threats["z"].append(_r(g["z_m"] / 1e3))
    frames_t: list[float] = []
    frames: list[list[list[float]]] = []
    for t, g in d.tracks.groupby("time_s"):
        frames_t.append(round(float(t), 1))
        conf = g["confirmed"].to_numpy(dtype=float) if "confirmed" in g else np.ones(len(g))
        frames.append(
            np.column_stack(
                [
                    g["track_id"].to_numpy(dtype=float),
                    np.round(g["x_m"].to_numpy() / 1e3, 3),
                    np.round(g["y_m"].to_numpy() / 1e3, 3),
                    np.round(g["sigma_m"].to_numpy() / 1e3, 3),
                    conf,
                ]
            ).tolist()
        )
    ms = d.missiles()
    outcome = {"kill": 1, "miss": 0, "airborne": -1}
    missiles = np.column_stack(
        [
            _r(ms["t_launch_s"], 1),
            _r(ms["x0_m"] / 1e3),
            _r(ms["y0_m"] / 1e3),
            _r(ms["t_end_s"], 1),
            _r(ms["x1_m"] / 1e3),
            _r(ms["y1_m"] / 1e3),
            [outcome[o] for o in ms["outcome"]],
        ]
    ).tolist() if len(ms) else []  # fmt: skip

    def points(kind: str) -> list[list[float]]:
        ev = d.kind(kind)
        cols = [_r(ev["time_s"], 1), _r(ev["x_m"] / 1e3), _r(ev["y_m"] / 1e3)]
        return [list(map(float, row)) for row in zip(*cols, strict=True)]

    radars = []
    for r in range(p.radars.n):
        az, rng = coverage_ring(p.radars, r, 1.0, 100.0, n=73)
        x0, y0 = p.radars.pos_m[r, :2]
        ring = np.column_stack([(x0 + rng * np.sin(az)) / 1e3, (y0 + rng * np.cos(az)) / 1e3])
        radars.append(
            {"name": p.radars.names[r], "x": _r(x0 / 1e3), "y": _r(y0 / 1e3), "ring": _r(ring, 2)}
        )
    return {
        "meta": {"name": p.name, "seed": d.summary["seed"], "duration_s": p.duration_s},
        "types": list(th.type_names),
        "assets": [
            {
                "name": n,
                "x": _r(p.assets.pos_m[i, 0] / 1e3),
                "y": _r(p.assets.pos_m[i, 1] / 1e3),
                "r": _r(p.assets.radius_m[i] / 1e3),
            }
            for i, n in enumerate(p.assets.names)
        ],  # fmt: skip
        "batteries": [
            {
                "name": n,
                "x": _r(p.batteries.pos_m[i, 0] / 1e3),
                "y": _r(p.batteries.pos_m[i, 1] / 1e3),
            }
            for i, n in enumerate(p.batteries.names)
        ],  # fmt: skip
        "radars": radars,
        "threats": threats,
        "tracks": {"t": frames_t, "frames": frames},
        "missiles": missiles,
        "kills": points("kill"),
        "leaks": points("leak"),
    }


def _summary_html(s: dict[str, Any]) -> str:
    cols = ("count", "detected", "tracked", "engaged", "killed", "leaked", "airborne_at_end")
    head = "".join(f"<th>{c.replace('_', ' ')}</th>" for c in ("threat type", *cols))
    rows = "".join(
        "<tr><td>" + html.escape(r["type"]) + "</td>" + "".join(f"<td>{r[c]}</td>" for c in cols)
        + "</tr>"
        for r in s["threats"]["by_type"]
    )  # fmt: skip
    mrows = "".join(
        f"<tr><td>{html.escape(m['type'])}</td><td>{m['start']}</td><td>{m['fired']}</td>"
        f"<td>{m['kills']}</td><td>{m['left']}</td></tr>"
        for m in s["missiles"]["by_type"]
    )
    arows = "".join(
        f"<tr><td>{html.escape(a['name'])}</td><td>{a['value']:g}</td>"
        f"<td>{a['damage_fraction']:.0%}</td></tr>"
        for a in s["assets"]
    )
    per_kill = s["missiles"]["per_kill"]
    return (
        f"<table><tr>{head}</tr>{rows}</table>"
        "<table><tr><th>interceptor</th><th>start</th><th>fired</th><th>kills</th>"
        f"<th>left</th></tr>{mrows}</table>"
        f"<table><tr><th>asset</th><th>value</th><th>damage</th></tr>{arows}</table>"
        f"<p>missiles per kill: {'-' if per_kill is None else f'{per_kill:.2f}'}</p>"
    )


def replay_html(d: RunData, figures: dict[str, Path]) -> str:
    """The complete page, with the figures inlined as PNG data URIs."""
    data = json.dumps(replay_data(d), separators=(",", ":"))
    # "</" inside a <script> would end it early; JSON allows the escaped form.
    data = data.replace("</", "<\\/")
    imgs = "".join(
        f'<figure><img alt="{name}" src="data:image/png;base64,'
        f'{base64.b64encode(path.read_bytes()).decode("ascii")}"><figcaption>{name}'
        "</figcaption></figure>"
        for name, path in figures.items()
    )
    title = html.escape(f"skydome — {d.params.name} (seed {d.summary['seed']})")
    return (
        _TEMPLATE.replace("__TITLE__", title)
        .replace("__SUMMARY__", _summary_html(d.summary))
        .replace("__FIGURES__", imgs)
        .replace("__DATA__", data)
    )


_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>__TITLE__</title>
<style>
body{font:14px system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
header{padding:8px 16px;background:#233;color:#fff}
main{display:flex;flex-wrap:wrap;gap:16px;padding:12px}
#left{flex:1 1 640px;min-width:480px}#right{flex:1 1 420px;min-width:360px}
canvas{background:#fff;border:1px solid #ccc;width:100%;height:auto}
#controls{display:flex;gap:8px;align-items:center;margin:6px 0}
#slider{flex:1}#clock{font-variant-numeric:tabular-nums;min-width:9em}
table{border-collapse:collapse;margin:6px 0;font-size:12px}
td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}td:first-child{text-align:left}
figure{margin:8px 0}figure img{max-width:100%;border:1px solid #ddd}
.legend span{display:inline-block;margin-right:10px;font-size:12px}
.sw{display:inline-block;width:10px;height:10px;margin-right:3px;vertical-align:middle}
</style></head><body>
<header><b>__TITLE__</b> — synthetic scenario; approximate public parameters</header>
<main><section id="left">
<div id="controls"><button id="play" type="button">&#9654; play</button>
<input id="slider" type="range" min="0" max="1000" value="0" step="1">
<span id="clock">t = 0 s</span>
<select id="speed"><option value="10">10&times;</option><option value="30" selected>30&times;
</option><option value="100">100&times;</option><option value="300">300&times;</option></select>
</div>
<canvas id="map" width="900" height="720"></canvas>
<div class="legend" id="legend"></div>
</section><section id="right">__SUMMARY____FIGURES__</section></main>
<script id="replay-data" type="application/json">__DATA__</script>
<script>
"use strict";
const D = JSON.parse(document.getElementById("replay-data").textContent);
const cv = document.getElementById("map"), cx = cv.getContext("2d");
const slider = document.getElementById("slider"), clock = document.getElementById("clock");
const playBtn = document.getElementById("play"), speedSel = document.getElementById("speed");
const T = D.meta.duration_s;
const COL = ["#1f77b4","#ff7f0e","#2ca02c","#d62728","#9467bd","#8c564b","#e377c2","#7f7f7f",
             "#bcbd22","#17becf"];
let xs = [], ys = [];
const add = (x, y) => { xs.push(x); ys.push(y); };
D.assets.forEach(a => { add(a.x - a.r, a.y - a.r); add(a.x + a.r, a.y + a.r); });
D.batteries.forEach(b => add(b.x, b.y));
D.threats.x.forEach((px, i) => px.forEach((x, j) => add(x, D.threats.y[i][j])));
if (xs.length === 0) { add(-1, -1); add(1, 1); }
const pad = 0.05, x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys),
      y1 = Math.max(...ys);
const span = Math.max(x1 - x0, y1 - y0, 1) * (1 + 2 * pad);
const cxm = (x0 + x1) / 2, cym = (y0 + y1) / 2;
const scale = Math.min(cv.width, cv.height) / span;
const sx = x => cv.width / 2 + (x - cxm) * scale, sy = y => cv.height / 2 - (y - cym) * scale;
function interp(ts, vs, t) {
  if (ts.length === 0 || t < ts[0] || t > ts[ts.length - 1]) return null;
  let lo = 0, hi = ts.length - 1;
  while (hi - lo > 1) { const m = (lo + hi) >> 1; if (ts[m] <= t) lo = m; else hi = m; }
  if (hi === lo) return vs[lo];
  const f = (t - ts[lo]) / Math.max(ts[hi] - ts[lo], 1e-9);
  return vs[lo] + f * (vs[hi] - vs[lo]);
}
function frameAt(t) {
  const ft = D.tracks.t; if (ft.length === 0 || t < ft[0]) return [];
  let lo = 0, hi = ft.length - 1;
  while (hi > lo) { const m = (lo + hi + 1) >> 1; if (ft[m] <= t) lo = m; else hi = m - 1; }
  return D.tracks.frames[lo];
}
let t = 0, playing = false, last = null;
window.__replay = {t: 0, threats: [], tracks: 0, missiles: 0, frames: 0};
function draw() {
  cx.clearRect(0, 0, cv.width, cv.height);
  cx.lineWidth = 1;
  D.radars.forEach(r => {
    cx.strokeStyle = "#999"; cx.setLineDash([4, 4]); cx.beginPath();
    r.ring.forEach((p, i) => i ? cx.lineTo(sx(p[0]), sy(p[1])) : cx.moveTo(sx(p[0]), sy(p[1])));
    cx.stroke(); cx.setLineDash([]);
    cx.fillStyle = "#333"; cx.fillRect(sx(r.x) - 3, sy(r.y) - 3, 6, 6);
  });
  D.assets.forEach(a => {
    cx.strokeStyle = "#000"; cx.beginPath(); cx.arc(sx(a.x), sy(a.y), a.r * scale, 0, 7);
    cx.stroke(); cx.fillStyle = "#000"; cx.fillText(a.name, sx(a.x) + 6, sy(a.y) - 6);
  });
  D.batteries.forEach(b => {
    cx.fillStyle = "navy"; cx.beginPath(); cx.moveTo(sx(b.x), sy(b.y) - 7);
    cx.lineTo(sx(b.x) - 6, sy(b.y) + 5); cx.lineTo(sx(b.x) + 6, sy(b.y) + 5); cx.fill();
  });
  const drawn = [];
  D.threats.id.forEach((id, i) => {
    const ts = D.threats.t[i], x = interp(ts, D.threats.x[i], t), y = interp(ts, D.threats.y[i], t);
    if (x === null) return;
    cx.fillStyle = COL[D.threats.type[i] % 10];
    cx.beginPath(); cx.arc(sx(x), sy(y), 3, 0, 7); cx.fill();
    drawn.push([id, x, y]);
  });
  const fr = frameAt(t);
  fr.forEach(k => {
    cx.strokeStyle = k[4] ? "rgba(0,90,200,0.8)" : "rgba(0,90,200,0.3)";
    cx.beginPath(); cx.arc(sx(k[1]), sy(k[2]), Math.max(k[3] * scale, 4), 0, 7); cx.stroke();
  });
  let nm = 0;
  D.missiles.forEach(m => {
    if (t < m[0] || t > m[3]) return;
    const f = (t - m[0]) / Math.max(m[3] - m[0], 1e-9);
    const x = m[1] + f * (m[4] - m[1]), y = m[2] + f * (m[5] - m[2]);
    cx.strokeStyle = "#444"; cx.beginPath(); cx.moveTo(sx(m[1]), sy(m[2]));
    cx.lineTo(sx(x), sy(y)); cx.stroke(); cx.fillStyle = "#000";
    cx.fillRect(sx(x) - 2, sy(y) - 2, 4, 4); nm++;
  });
  D.kills.forEach(k => { if (k[0] > t) return;
    cx.strokeStyle = "#1a9850"; cx.lineWidth = 2; cx.beginPath();
    cx.moveTo(sx(k[1]) - 5, sy(k[2]) - 5); cx.lineTo(sx(k[1]) + 5, sy(k[2]) + 5);
    cx.moveTo(sx(k[1]) + 5, sy(k[2]) - 5); cx.lineTo(sx(k[1]) - 5, sy(k[2]) + 5); cx.stroke();
    cx.lineWidth = 1; });
  D.leaks.forEach(k => { if (k[0] > t) return;
    cx.strokeStyle = "#d73027"; cx.lineWidth = 2; cx.beginPath();
    cx.arc(sx(k[1]), sy(k[2]), 6, 0, 7); cx.stroke(); cx.lineWidth = 1; });
  cx.fillStyle = "#000"; cx.fillText(`${(span).toFixed(0)} km across`, 8, cv.height - 8);
  clock.textContent = `t = ${t.toFixed(0)} s`;
  slider.value = String(Math.round(1000 * t / T));
  const r = window.__replay;
  r.t = t; r.threats = drawn; r.tracks = fr.length; r.missiles = nm; r.frames += 1;
}
function tick(now) {
  if (!playing) { last = null; return; }
  if (last !== null) t = Math.min(T, t + (now - last) / 1000 * Number(speedSel.value));
  last = now; draw();
  if (t >= T) { playing = false; playBtn.innerHTML = "&#9654; play"; return; }
  requestAnimationFrame(tick);
}
playBtn.addEventListener("click", () => {
  playing = !playing; playBtn.innerHTML = playing ? "&#10074;&#10074; pause" : "&#9654; play";
  if (playing) { if (t >= T) t = 0; requestAnimationFrame(tick); }
});
slider.addEventListener("input", () => { t = T * Number(slider.value) / 1000; draw(); });
document.getElementById("legend").innerHTML = D.types.map((n, i) =>
  `<span><i class="sw" style="background:${COL[i % 10]}"></i>${n.replace(/[<&]/g, "")}</span>`
).join("") + "<span>&#9711; track (1&sigma;)</span><span>&#10005; kill</span>" +
  "<span>&#9675; leak</span><span>&#9632; interceptor</span>";
draw();
</script></body></html>
"""
