"use strict";
const D = JSON.parse(document.getElementById("replay-data").textContent);
const cv = document.getElementById("map"), cx = cv.getContext("2d");
const slider = document.getElementById("slider"), clock = document.getElementById("clock");
const playBtn = document.getElementById("play"), speedSel = document.getElementById("speed");
const PLAY = "\u25B6 play", PAUSE = "\u275A\u275A pause";
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
window.__replay = {t: 0, threats: [], tracks: 0, missiles: 0, frames: 0, deadRadars: 0};
function draw() {
  cx.clearRect(0, 0, cv.width, cv.height);
  cx.lineWidth = 1;
  let nDead = 0;
  D.radars.forEach(r => {
    cx.strokeStyle = "#999"; cx.setLineDash([4, 4]); cx.beginPath();
    r.ring.forEach((p, i) => i ? cx.lineTo(sx(p[0]), sy(p[1])) : cx.moveTo(sx(p[0]), sy(p[1])));
    cx.stroke(); cx.setLineDash([]);
    const dead = r.dead !== undefined && r.dead !== null && t >= r.dead;
    const quiet = (r.off || []).some(o => t >= o[0] && t < o[1]);
    if (dead) {  // a destroyed radar: a red cross and its time
      nDead++;
      cx.strokeStyle = "#b2182b"; cx.lineWidth = 3; cx.beginPath();
      cx.moveTo(sx(r.x) - 6, sy(r.y) - 6); cx.lineTo(sx(r.x) + 6, sy(r.y) + 6);
      cx.moveTo(sx(r.x) + 6, sy(r.y) - 6); cx.lineTo(sx(r.x) - 6, sy(r.y) + 6); cx.stroke();
      cx.lineWidth = 1; cx.fillStyle = "#b2182b";
      cx.fillText(`${r.name} destroyed t=${r.dead.toFixed(0)} s`, sx(r.x) + 8, sy(r.y) + 12);
    } else if (quiet) {  // silent under emission control: a hollow square
      cx.strokeStyle = "#333"; cx.strokeRect(sx(r.x) - 3, sy(r.y) - 3, 6, 6);
    } else {
      cx.fillStyle = "#333"; cx.fillRect(sx(r.x) - 3, sy(r.y) - 3, 6, 6);
    }
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
    const side = D.threats.side ? D.threats.side[i] : 0, c = COL[D.threats.type[i] % 10];
    cx.fillStyle = c; cx.strokeStyle = c;
    if (side === 1) { cx.beginPath(); cx.arc(sx(x), sy(y), 3.5, 0, 7); cx.stroke(); }  // decoy
    else if (side === 2) { cx.fillRect(sx(x) - 3.5, sy(y) - 3.5, 7, 7); }  // friendly
    else { cx.beginPath(); cx.arc(sx(x), sy(y), 3, 0, 7); cx.fill(); }
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
  (D.fratricides || []).forEach(k => { if (k[0] > t) return;
    cx.strokeStyle = "#c51b7d"; cx.lineWidth = 3; cx.beginPath();
    cx.moveTo(sx(k[1]) - 7, sy(k[2]) - 7); cx.lineTo(sx(k[1]) + 7, sy(k[2]) + 7);
    cx.moveTo(sx(k[1]) + 7, sy(k[2]) - 7); cx.lineTo(sx(k[1]) - 7, sy(k[2]) + 7); cx.stroke();
    cx.lineWidth = 1; });
  cx.fillStyle = "#000"; cx.fillText(`${(span).toFixed(0)} km across`, 8, cv.height - 8);
  clock.textContent = `t = ${t.toFixed(0)} s`;
  slider.value = String(Math.round(1000 * t / T));
  const r = window.__replay;
  r.t = t; r.threats = drawn; r.tracks = fr.length; r.missiles = nm; r.frames += 1;
  r.deadRadars = nDead;
}
function tick(now) {
  if (!playing) { last = null; return; }
  if (last !== null) t = Math.min(T, t + (now - last) / 1000 * Number(speedSel.value));
  last = now; draw();
  if (t >= T) { playing = false; playBtn.textContent = PLAY; return; }
  requestAnimationFrame(tick);
}
playBtn.addEventListener("click", () => {
  playing = !playing; playBtn.textContent = playing ? PAUSE : PLAY;
  if (playing) { if (t >= T) t = 0; requestAnimationFrame(tick); }
});
slider.addEventListener("input", () => { t = T * Number(slider.value) / 1000; draw(); });
// User text (threat types here, names everywhere) reaches the DOM only as text nodes.
const legend = document.getElementById("legend");
function legendItem(text, colour) {
  const item = document.createElement("span");
  if (colour !== undefined) {
    const sw = document.createElement("i");
    sw.className = "sw"; sw.style.background = colour; item.append(sw);
  }
  item.append(document.createTextNode(text));
  legend.append(item);
}
D.types.forEach((n, i) => legendItem(String(n), COL[i % 10]));
["\u25EF track (1\u03C3)", "\u2715 kill", "\u25CB leak", "\u25A0 interceptor"].forEach(
  s => legendItem(s));
if (D.radars.some(r => r.dead !== undefined)) {
  ["\u25A0 radar on", "\u25A1 radar silent", "\u2716 radar destroyed"].forEach(s => legendItem(s));
}
if (D.threats.side) {
  ["\u25CF hostile", "\u25CB decoy", "\u25A0 friendly", "\u2715 fratricide (magenta)"].forEach(
    s => legendItem(s));
}
draw();
