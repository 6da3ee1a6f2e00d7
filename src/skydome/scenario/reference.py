"""The scenario reference (docs/scenario.md), derived from the schema models.

The pydantic models are the single declaration of the scenario format; this
renders their fields, types, defaults, bounds and descriptions as Markdown so
the documentation cannot drift from the code (a test compares the file).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from skydome.scenario import schema as S

__all__ = ["markdown_reference"]

_SECTIONS: list[tuple[str, type[BaseModel]]] = [
    ("Scenario (top level)", S.Scenario),
    ("origin", S.Origin),
    ("run", S.RunSettings),
    ("assets[]", S.Asset),
    ("radars[]", S.Radar),
    ("radars[].sector", S.Sector),
    ("missiles.NAME", S.MissileType),
    ("batteries[]", S.Battery),
    ("batteries[].fire_channels", S.FireChannels),
    ("raids[]", S.Raid),
    ("raids[].route[]", S.Waypoint),
    ("raids[].ballistic", S.Ballistic),
    ("raids[].jammer", S.Jammer),
    ("doctrine", S.Doctrine),
    ("tracker", S.TrackerSettings),
    ("position (assets, radars, batteries, ballistic launch)", S.Point),
]


def _type_name(info: FieldInfo) -> str:
    ann = info.annotation
    text = str(ann) if getattr(ann, "__args__", None) else getattr(ann, "__name__", str(ann))
    text = text.replace("typing.", "").replace("skydome.scenario.schema.", "")
    return text.replace("|", "\\|")


def _bounds(info: FieldInfo) -> str:
    parts = []
    for m in info.metadata:
        for attr, sym in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            v = getattr(m, attr, None)
            if v is not None:
                parts.append(f"{sym} {v:g}" if isinstance(v, float | int) else f"{sym} {v}")
        if getattr(m, "min_length", None) is not None:
            parts.append(f"at least {m.min_length}")
    return ", ".join(parts)


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "**required**"
    d: Any = info.get_default(call_default_factory=True)
    if isinstance(d, BaseModel):
        return "(defaults)"
    return f"`{d!r}`" if d is not None else "none"


def markdown_reference() -> str:
    """The scenario reference as Markdown."""
    out = [
        "# Scenario reference",
        "",
        "Generated from `skydome.scenario.schema` by `skydome schema --markdown`; do not edit.",
        "Units are in the field names (`_km`, `_m`, `_s`, `_mps`, `_deg`, `_mrad`, `_m2`);",
        "skydome converts to SI once, at load. Unknown fields are errors.",
        "`skydome schema` prints the same as JSON Schema for editors.",
        "",
    ]
    for title, model in _SECTIONS:
        out += [f"## {title}", ""]
        doc = (model.__doc__ or "").strip()
        if doc:
            out += [" ".join(doc.split()), ""]
        out += ["| field | type | default | bounds | description |", "|---|---|---|---|---|"]
        for name, info in model.model_fields.items():
            desc = (info.description or "").replace("|", "\\|")
            out.append(
                f"| `{name}` | {_type_name(info)} | {_default(info)} | {_bounds(info)} | {desc} |"
            )
        out.append("")
    return "\n".join(out)
