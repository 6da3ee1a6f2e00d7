"""The interactive replay: one self-contained, offline HTML file.

Everything -- data, script, style, figures -- is inlined: the page makes no
network request of any kind, so it can be mailed, archived, or opened on an
air-gapped machine. The map is drawn on a canvas from the run's tables:
threats (truth), tracks with their 1-sigma uncertainty, interceptors in
flight, kills and leaks, animated with a play button and a time slider.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import numpy as np

from skydome.engine.emcon import silences
from skydome.report.data import RunData
from skydome.report.figures import coverage_ring
from skydome.report.templates import json_script, render_page
from skydome.sensors.coverage import REPORT_ALTITUDE_M, REPORT_RCS_M2

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
        az, rng = coverage_ring(d, r, REPORT_RCS_M2, REPORT_ALTITUDE_M)
        az, rng = az[::5], rng[::5]  # 73 of the 361 samples: every 1.25 % of the sector
        x0, y0 = p.radars.pos_m[r, :2]
        ring = np.column_stack([(x0 + rng * np.sin(az)) / 1e3, (y0 + rng * np.cos(az)) / 1e3])
        radars.append(
            {"name": p.radars.names[r], "x": _r(x0 / 1e3), "y": _r(y0 / 1e3), "ring": _r(ring, 2)}
        )
    if "radars" in d.summary:  # emission control or ARMs: losses and silences
        _radar_states(d, radars)
    # Sides (hostile 0, decoy 1, friendly 2) and fratricides: only for a scenario with
    # an identification, so other replays are unchanged.
    sides = {}
    if p.identity is not None:
        threats["side"] = [int(p.identity.kind[i]) for i in threats["id"]]
        sides = {"fratricides": points("fratricide")}
    return {
        **sides,
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


def _radar_states(d: RunData, radars: list[dict[str, Any]]) -> None:
    """Add each radar's destruction time (`dead`, s or None) and silences (`off`: [t0, t1])."""
    rows = {x["name"]: x for x in d.summary["radars"]["by_radar"]}
    ev = d.events[d.events["kind"].isin(["radar_off", "radar_on"])]
    for rad in radars:
        row = rows[rad["name"]]
        dead = row["destroyed_s"]
        end = d.params.duration_s if dead is None else dead
        mine = ev[ev["radar"] == rad["name"]]
        offs = mine[mine["kind"] == "radar_off"]["time_s"].to_numpy(dtype=float)
        ons = mine[mine["kind"] == "radar_on"]["time_s"].to_numpy(dtype=float)
        rad["dead"] = None if dead is None else round(float(dead), 1)
        rad["off"] = _r(silences(offs, ons, end), 1)


def _summary_tables(s: dict[str, Any]) -> list[dict[str, list[Any]]]:
    """The run summary as tables of plain values (the template escapes every cell)."""
    cols = ("count", "detected", "tracked", "engaged", "killed", "leaked", "airborne_at_end")
    radars: list[dict[str, list[Any]]] = []
    if "radars" in s:  # emission control or ARMs
        radars.append(
            {
                "head": ["radar", "emission", "destroyed at (s)", "silent (s)", "ARMs at it"],
                "rows": [
                    [
                        r["name"],
                        r["mode"],
                        "-" if r["destroyed_s"] is None else f"{r['destroyed_s']:.0f}",
                        f"{r['off_s']:.0f}",
                        r["arms"],
                    ]
                    for r in s["radars"]["by_radar"]
                ],
            }
        )
    ident = s.get("identification")
    sides: list[dict[str, list[Any]]] = (
        []
        if ident is None
        else [
            {
                "head": ["side", "count", "engaged", "rounds", "killed", "taken for friend",
                         "recognised decoy", "declared hostile"],
                "rows": [
                    [side, r["count"], r["engaged"], r["rounds"], r["killed"],
                     *(r["identified_as"][c] for c in ("friend", "decoy", "hostile"))]
                    for side, r in ((k, ident[k]) for k in ("hostile", "decoy", "friendly"))
                ]
                + [["fratricide (friendlies killed)", ident["fratricide"], "", "", "", "", "", ""]],
            }
        ]
    )  # fmt: skip
    return radars + [
        {
            "head": [c.replace("_", " ") for c in ("threat type", *cols)],
            "rows": [[r["type"], *(r[c] for c in cols)] for r in s["threats"]["by_type"]],
        },
        {
            "head": ["interceptor", "start", "fired", "kills", "left"],
            "rows": [
                [m["type"], m["start"], m["fired"], m["kills"], m["left"]]
                for m in s["missiles"]["by_type"]
            ],
        },
        {
            "head": ["asset", "value", "damage"],
            "rows": [
                [a["name"], f"{a['value']:g}", f"{a['damage_fraction']:.0%}"] for a in s["assets"]
            ],
        },
        *sides,
    ]


def replay_html(d: RunData, figures: dict[str, Path]) -> str:
    """The complete page, with the figures inlined as PNG data URIs.

    Rendered by `skydome.report.templates.render_page` from `replay.html`:
    every name from the scenario is escaped, the data reaches the script as
    escaped JSON, and the script puts names into the page only as text.
    """
    per_kill = d.summary["missiles"]["per_kill"]
    return render_page(
        "replay.html",
        style="replay.css",
        script="replay.js",
        title=f"skydome — {d.params.name} (seed {d.summary['seed']})",
        tables=_summary_tables(d.summary),
        per_kill="-" if per_kill is None else f"{per_kill:.2f}",
        figures=[
            {
                "name": name,
                "uri": "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode(),
            }
            for name, path in figures.items()
        ],
        data=json_script(replay_data(d)),
    )
