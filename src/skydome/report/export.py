"""Export a run to map tools: GeoJSON (RFC 7946) and KML, in WGS-84.

Map-frame positions become latitude, longitude and altitude through the
scenario's geodetic origin (`skydome.geo.map_to_geodetic`); GeoJSON positions
are [longitude, latitude, altitude_m], KML coordinates lon,lat,alt with
absolute altitude, so paths open in QGIS or Google Earth with their height.
"""

from __future__ import annotations

import json
from typing import Any
from xml.sax.saxutils import escape

import numpy as np
from numpy.typing import NDArray

from skydome.geo import map_to_geodetic
from skydome.report.data import RunData

__all__ = ["features", "to_geojson", "to_kml"]


def _lla(d: RunData, pos_m: NDArray[np.float64]) -> list[list[float]]:
    lat0, lon0, alt0 = d.params.origin
    lat, lon, alt = map_to_geodetic(
        np.asarray(pos_m, dtype=np.float64).reshape(-1, 3), lat0, lon0, alt0
    )
    return [
        [round(float(a), 8), round(float(b), 8), round(float(c), 2)]
        for a, b, c in zip(lon, lat, alt, strict=True)
    ]


def features(d: RunData) -> list[dict[str, Any]]:
    """GeoJSON features: sites (assets, radars, batteries), threat paths, kills, leaks."""
    p = d.params
    out: list[dict[str, Any]] = []

    def point(pos: NDArray[np.float64], props: dict[str, Any]) -> None:
        geometry = {"type": "Point", "coordinates": _lla(d, pos)[0]}
        out.append({"type": "Feature", "geometry": geometry, "properties": props})

    for i, n in enumerate(p.assets.names):
        point(p.assets.pos_m[i], {"kind": "asset", "name": n, "value": float(p.assets.value[i])})
    for i, n in enumerate(p.radars.names):
        point(p.radars.pos_m[i], {"kind": "radar", "name": n})
    for i, n in enumerate(p.batteries.names):
        point(p.batteries.pos_m[i], {"kind": "battery", "name": n})
    killed = set(d.kind("kill")["threat_id"].dropna().astype(int))
    leaked = set(d.kind("leak")["threat_id"].dropna().astype(int))
    th = p.threats
    for tid, g in d.truth.groupby("threat_id"):
        tid = int(tid)
        coords = _lla(d, g[["x_m", "y_m", "z_m"]].to_numpy())
        if len(coords) < 2:  # a LineString needs two positions
            coords = coords * 2
        fate = "killed" if tid in killed else "leaked" if tid in leaked else "airborne"
        out.append({
            "type": "Feature",
            "geometry": {"type": "LineString", "coordinates": coords},
            "properties": {"kind": "threat_path", "threat_id": tid,
                           "threat_type": th.type_names[th.type_index[tid]], "fate": fate,
                           "t_start_s": float(g["time_s"].iloc[0]),
                           "t_end_s": float(g["time_s"].iloc[-1])},
        })  # fmt: skip
    for kind in ("kill", "leak"):
        ev = d.kind(kind)
        for row in ev.itertuples():
            tid = None if row.threat_id != row.threat_id else int(row.threat_id)  # NaN: none
            props = {"kind": kind, "time_s": float(row.time_s), "threat_id": tid}
            point(np.array([row.x_m, row.y_m, row.z_m]), props)
    return out


def to_geojson(d: RunData) -> str:
    """The run as a GeoJSON FeatureCollection (text)."""
    lat0, lon0, alt0 = d.params.origin
    fc = {
        "type": "FeatureCollection",
        "name": f"skydome {d.params.name} seed {d.summary['seed']}",
        "features": features(d),
    }
    return json.dumps(fc, separators=(",", ":")) + "\n"


def to_kml(d: RunData) -> str:
    """The run as a KML document (text): placemarks for sites, paths and events."""
    marks = []
    for f in features(d):
        g, props = f["geometry"], f["properties"]
        name = escape(str(props.get("name") or f"{props['kind']} {props.get('threat_id', '')}"))
        desc = escape(", ".join(f"{k}={v}" for k, v in props.items()))
        coords = g["coordinates"] if g["type"] == "LineString" else [g["coordinates"]]
        text = " ".join(f"{c[0]},{c[1]},{c[2]}" for c in coords)
        geom = (f"<LineString><altitudeMode>absolute</altitudeMode><coordinates>{text}"
                "</coordinates></LineString>" if g["type"] == "LineString" else
                f"<Point><altitudeMode>absolute</altitudeMode><coordinates>{text}"
                "</coordinates></Point>")  # fmt: skip
        marks.append(
            f"<Placemark><name>{name}</name><description>{desc}</description>{geom}</Placemark>"
        )
    title = escape(f"skydome {d.params.name} seed {d.summary['seed']}")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
        f"<name>{title}</name>" + "".join(marks) + "</Document></kml>\n"
    )
