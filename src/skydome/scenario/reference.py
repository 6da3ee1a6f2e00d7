"""The scenario reference (docs/scenario.md), derived from the schema models.

The pydantic models are the single declaration of the scenario format; this
renders their fields, types, defaults, bounds and descriptions as Markdown so
the documentation cannot drift from the code (a test compares the file).
"""

from __future__ import annotations

import types
import typing
from typing import Annotated, Any, Literal

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from skydome.scenario import limits as L
from skydome.scenario import schema as S
from skydome.scenario.systems import SystemUse

__all__ = ["markdown_reference"]

_SECTIONS: list[tuple[str, type[BaseModel]]] = [
    ("Scenario (top level)", S.Scenario),
    ("origin", S.Origin),
    ("run", S.RunSettings),
    ("assets[]", S.Asset),
    ("radars[]", S.Radar),
    ("radars[].sector", S.Sector),
    ("radars[].emission", S.Emission),
    ("missiles.NAME", S.MissileType),
    ("missiles.NAME.physics", S.MissilePhysics),
    ("batteries[]", S.Battery),
    ("batteries[].fire_channels", S.FireChannels),
    ("systems[] (system templates, expanded at load into the above: docs/systems.md)", SystemUse),
    ("raids[]", S.Raid),
    ("raids[].route[]", S.Waypoint),
    ("raids[].ballistic", S.Ballistic),
    ("raids[].jammer", S.Jammer),
    ("raids[].weave", S.Weave),
    ("raids[].terminal", S.Terminal),
    ("raids[].evasion", S.Evasion),
    ("raids[].arm", S.Arm),
    ("doctrine", S.Doctrine),
    ("tracker", S.TrackerSettings),
    ("identification", S.Identification),
    ("identification.decoys", S.DecoyRecognition),
    ("identification.iff", S.Iff),
    ("position (assets, radars, batteries, ballistic launch)", S.Point),
]


def _render(tp: Any) -> str:
    """A type as the reader writes it: `dict[str, int]`, `list[Waypoint]`, `float | None`."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is Annotated:
        return _render(args[0])
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_render(a) for a in args)
    if origin is Literal:
        return "Literal[" + ", ".join(repr(a) for a in args) + "]"
    if origin is not None:
        return f"{getattr(origin, '__name__', str(origin))}[{', '.join(_render(a) for a in args)}]"
    if tp is type(None):
        return "None"
    return getattr(tp, "__name__", str(tp))


def _type_name(info: FieldInfo) -> str:
    return _render(info.annotation).replace("|", "\\|")


def _bounds(info: FieldInfo) -> str:
    parts = []
    for m in info.metadata:
        for attr, sym in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            v = getattr(m, attr, None)
            if v is not None:
                if isinstance(v, int):
                    parts.append(f"{sym} {v:,}")
                else:
                    parts.append(f"{sym} {v:g}" if isinstance(v, float) else f"{sym} {v}")
        if getattr(m, "min_length", None) is not None:
            parts.append(f"at least {m.min_length}")
        if getattr(m, "max_length", None) is not None:
            parts.append(f"at most {m.max_length:,}")
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
    out += [
        "## Limits",
        "",
        "Besides the bounds of each field, a scenario must be small enough to run: "
        "validation rejects work that would not finish or fit before anything is "
        "allocated, and says roughly how long or how large it would be. NaN and "
        "infinity are refused in every number field, `true`/`false` where a number "
        "is expected, and duplicate keys anywhere. "
        f"Names (of assets, radars, batteries, raids, missile types, threat types) "
        f"are 1 to 80 characters; {S.NAME_RULE}.",
        "",
        "| what | limit | note |",
        "|---|---|---|",
    ]
    out += [f"| {what} | {limit} | {note} |" for what, limit, note in L.LIMITS]
    out.append("")
    return "\n".join(out)
