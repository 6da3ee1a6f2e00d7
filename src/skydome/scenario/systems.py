"""System templates: whole air-defence units (radars, interceptors, battery) by name.

A template (`skydome/scenario/systems/NAME.yaml`) holds one publicly described
long-range system -- its radars placed relative to a battery site, its missile
types with tuned physics, its battery composition and a provenance block --
every figure labelled public or "assumed" (docs/systems.md, docs/sources.md).

A scenario uses templates in a top-level `systems:` section::

    systems:
      - {system: s400, name: battalion-1, position: {east_km: 2, north_km: 10}, facing_deg: 290}
      - {system: patriot, name: patriot-1, position: {east_km: 18, north_km: -12}}

Loading expands that section, before validation, into today's `radars`,
`missiles` and `batteries` (`expand_systems`): the engine never sees a
template, a scenario without `systems:` is read exactly as before, and the
expansion is what one would write inline (tests/test_systems.py checks both).
Per use:

- the battery is named `name`, each template radar `name/RADAR`;
- radar positions are the site plus the template's offset (east/north, km; not
  rotated), a radar sector's centre is the template's (relative) centre plus
  `facing_deg`;
- the missile types join the scenario's library under the template's names
  (two uses of one template share them); a template's `pk_against` /
  `max_target_speed_against_mps` keys naming a threat type the scenario's raids
  do not have are left out (the template is written for any raid);
- `launchers` and `load` may be overridden.

`skydome.scenario.system_swap.with_systems` replaces a loaded scenario's whole
defence by templates placed at its batteries' sites (`skydome run default
--system patriot`).
"""

from __future__ import annotations

import copy
import difflib
import functools
from dataclasses import dataclass
from importlib import resources
from typing import Annotated, Any

import yaml
from pydantic import Field, ValidationError

from skydome.errors import Problem, ScenarioError, field_path
from skydome.scenario.schema import Battery, MissileType, Radar
from skydome.scenario.schema._base import Name, Point, _Model
from skydome.scenario.schema.weapons import BALLISTIC_CLASS

__all__ = [
    "SystemTemplate",
    "SystemUse",
    "add_to_json_schema",
    "expand_systems",
    "load_template",
    "system_names",
    "unknown_system",
]

SECTION = "systems"
"""The scenario's top-level key holding template uses."""

_DIR = resources.files("skydome.scenario") / "systems"

_AGAINST = ("pk_against", "max_target_speed_against_mps")


def system_names() -> list[str]:
    """Names of the shipped system templates, sorted."""
    return sorted(p.name[: -len(".yaml")] for p in _DIR.iterdir() if p.name.endswith(".yaml"))


class SystemUse(_Model):
    """One use of a system template in a scenario's `systems:` section."""

    system: Name = Field(description="Template name (`skydome systems` lists them).")
    name: Name = Field(description="Battery name; the template's radars are named NAME/RADAR.")
    position: Point = Field(description="Battery site; template radars are offsets from it.")
    facing_deg: float = Field(
        0.0,
        ge=-360.0,
        le=360.0,
        description="Bearing the template's sector radars face, degrees clockwise from north "
        "(their sector centres are relative to it).",
    )
    launchers: Annotated[int, Field(ge=0, le=1000)] | None = Field(
        None, description="Override of the template's number of launchers."
    )
    load: dict[Name, Annotated[int, Field(ge=0, le=1000)]] | None = Field(
        None, description="Override of the template's load per launcher (its missile types)."
    )


@dataclass(frozen=True)
class SystemTemplate:
    """A validated system template, as raw scenario fragments (what one would write inline).

    Attributes:
        system: template name (the file's stem).
        title: one line for listings.
        provenance: where the figures come from.
        radars: radar mappings, `position` an offset from the battery site.
        missiles: missile type mappings, by type name.
        battery: battery mapping without `name` and `position`.
    """

    system: str
    title: str
    provenance: str
    radars: tuple[dict[str, Any], ...]
    missiles: dict[str, dict[str, Any]]
    battery: dict[str, Any]

    def missile_types(self) -> dict[str, MissileType]:
        """The validated missile types, by name."""
        return {k: MissileType.model_validate(v) for k, v in self.missiles.items()}


_TEMPLATE_KEYS = ("system", "title", "provenance", "radars", "missiles", "battery")


@functools.cache
def load_template(name: str) -> SystemTemplate:
    """Read and check a shipped template (cached).

    Raises:
        ScenarioError: unknown name, or a template that does not validate (a
            defect of the package; the tests load every template).
    """
    names = system_names()
    if name not in names:
        raise ScenarioError(name, [Problem("", unknown_system(name, names))], "system template")
    file = f"system template {name}"
    text = (_DIR / f"{name}.yaml").read_text(encoding="utf-8")
    # A package file, checked by the tests: plain safe YAML is enough here.
    data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    problems: list[Problem] = []
    if not isinstance(data, dict):
        raise ScenarioError(file, [Problem("", "expected a mapping")], "system template")
    for key in data:
        if key not in _TEMPLATE_KEYS:
            problems.append(
                Problem(str(key), f"unknown field (fields: {', '.join(_TEMPLATE_KEYS)})")
            )
    for key in _TEMPLATE_KEYS:
        if key not in data:
            problems.append(Problem(key, "required field is missing"))
    if problems:
        raise ScenarioError(file, problems, "system template")
    if data["system"] != name:
        problems.append(Problem("system", f"must be the file's name {name!r}"))

    def check(model: type[_Model], value: Any, loc: tuple[int | str, ...]) -> None:
        try:
            model.model_validate(value)
        except ValidationError as e:
            problems.extend(
                Problem(field_path((*loc, *err["loc"])), err["msg"]) for err in e.errors()
            )

    radars = data["radars"] if isinstance(data["radars"], list) else []
    for i, r in enumerate(radars):
        check(Radar, r, ("radars", i))
    missiles = data["missiles"] if isinstance(data["missiles"], dict) else {}
    for k, m in missiles.items():
        check(MissileType, m, ("missiles", k))
    battery = data["battery"] if isinstance(data["battery"], dict) else {}
    for key in ("name", "position"):
        if key in battery:
            problems.append(Problem(f"battery.{key}", "given by each use, not the template"))
    check(
        Battery, {**battery, "name": name, "position": {"east_km": 0, "north_km": 0}}, ("battery",)
    )
    radar_names = [r.get("name") for r in radars if isinstance(r, dict)]
    fcr = battery.get("fire_control_radar")
    if fcr is not None and fcr not in radar_names:
        problems.append(Problem("battery.fire_control_radar", f"radar {fcr!r} not in radars"))
    own = battery.get("radars")
    for i, r in enumerate(own if isinstance(own, list) else []):
        if r not in radar_names:
            problems.append(Problem(f"battery.radars.{i}", f"radar {r!r} not in radars"))
    for mtype in battery.get("load", {}) or {}:
        if mtype not in missiles:
            problems.append(Problem(f"battery.load.{mtype}", "not in the template's missiles"))
    if problems:
        raise ScenarioError(file, problems, "system template")
    return SystemTemplate(
        system=name,
        title=str(data["title"]),
        provenance=" ".join(str(data["provenance"]).split()),
        radars=tuple(radars),
        missiles=dict(missiles),
        battery=dict(battery),
    )


def unknown_system(name: str, names: list[str]) -> str:
    """The message for a system name that is not a template (with "did you mean")."""
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return (
        f"unknown system {name!r}: expected one of {', '.join(names)} "
        f"(`skydome systems` lists them){hint}"
    )


def _names_of(items: Any) -> list[Any]:
    """The `name` of each mapping of a raw section (None where there is none)."""
    if not isinstance(items, list):
        return []
    return [x.get("name") if isinstance(x, dict) else None for x in items]


def _raid_types(data: dict[str, Any]) -> set[str]:
    raids = data.get("raids")
    if not isinstance(raids, list):
        return set()
    return {str(r["type"]) for r in raids if isinstance(r, dict) and "type" in r}


def _missile_for(raw: dict[str, Any], raid_types: set[str]) -> dict[str, Any]:
    """A template missile type for this scenario: per-threat keys its raids lack left out."""
    m = copy.deepcopy(raw)
    for field in _AGAINST:
        if field in m:
            m[field] = {
                k: v for k, v in m[field].items() if k in raid_types or k == BALLISTIC_CLASS
            }
    return m


Loc = tuple[int | str, ...]
"""A field path in the scenario file, e.g. ("systems", 0, "name")."""
Issue = tuple[Loc, str | ValidationError]
"""A problem of a `systems:` section: where, and a message or the validation error of a
`SystemUse` there (`scenario.load` words and locates both)."""


def expand_systems(data: dict[str, Any]) -> tuple[dict[str, Any], list[Issue]]:
    """The scenario mapping with its `systems:` section expanded into radars, missiles, batteries.

    Args:
        data: the scenario file's top-level mapping (not modified).

    Returns:
        The mapping -- `data` itself when it has no `systems:` key; otherwise a new
        mapping without it, whose `radars`, `batteries` (appended) and `missiles`
        (added) hold each use's expansion, in the order of the uses -- and the
        issues found (when there are any, the mapping is not to be used): a
        malformed use, an unknown system, a name that clashes (battery, radar, or
        a missile type defined differently), an override naming a missile type the
        template lacks, each at its field path (`systems[i]...`).
    """
    if SECTION not in data:
        return data, []
    issues: list[Issue] = []

    def add(loc: Loc, msg: str) -> None:
        issues.append((loc, msg))

    raw = data[SECTION]
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        add((SECTION,), "expected a list of system uses ({system, name, position, ...})")
        return data, issues
    names = system_names()
    uses: list[tuple[int, SystemUse, SystemTemplate]] = []
    for i, entry in enumerate(raw):
        try:
            use = SystemUse.model_validate(entry)
        except ValidationError as e:
            issues.append(((SECTION, i), e))
            continue
        if use.system not in names:
            add((SECTION, i, "system"), unknown_system(use.system, names))
            continue
        uses.append((i, use, load_template(use.system)))
    if issues:
        return data, issues

    out = {k: v for k, v in data.items() if k != SECTION}
    radars = list(out.get("radars") or [])
    batteries = list(out.get("batteries") or [])
    missiles = dict(out.get("missiles") or {})
    radar_at = {n: f"radars[{j}]" for j, n in enumerate(_names_of(radars)) if n is not None}
    battery_at = {n: f"batteries[{j}]" for j, n in enumerate(_names_of(batteries)) if n is not None}
    missile_from = {k: f"missiles.{k}" for k in missiles}
    raid_types = _raid_types(data)
    for i, use, t in uses:
        here = f"{SECTION}[{i}]"
        if use.name in battery_at:
            add(
                (SECTION, i, "name"),
                f"battery name {use.name!r} is already used by {battery_at[use.name]}; "
                "give each battery a unique name",
            )
        battery_at.setdefault(use.name, here)
        for r in t.radars:
            rname = f"{use.name}/{r['name']}"
            if rname in radar_at:
                add(
                    (SECTION, i, "name"),
                    f"radar name {rname!r} (template radar {r['name']!r}) is already used by "
                    f"{radar_at[rname]}; choose another name",
                )
            radar_at.setdefault(rname, here)
        if use.load is not None:
            for mtype in use.load:
                if mtype not in t.missiles:
                    add(
                        (SECTION, i, "load", mtype),
                        f"missile type {mtype!r} is not in template {t.system!r} "
                        f"(its types: {', '.join(t.missiles)})",
                    )
        for k, raw_m in t.missiles.items():
            m = _missile_for(raw_m, raid_types)
            if k in missiles and missiles[k] != m:
                add(
                    (SECTION, i, "system"),
                    f"template {t.system!r} defines missile type {k!r}, which "
                    f"{missile_from[k]} defines differently; rename that type",
                )
                continue
            missiles.setdefault(k, m)
            missile_from.setdefault(k, f"template {t.system!r} ({here})")
        radars.extend(_radar(r, use) for r in t.radars)
        batteries.append(_battery(t, use))
    out["radars"] = radars
    out["missiles"] = missiles
    out["batteries"] = batteries
    return out, issues


def _radar(raw: dict[str, Any], use: SystemUse) -> dict[str, Any]:
    """A template radar placed for one use: renamed, moved to the site, sector turned."""
    r = copy.deepcopy(raw)
    r["name"] = f"{use.name}/{raw['name']}"
    off = raw["position"]
    r["position"] = {
        "east_km": use.position.east_km + off["east_km"],
        "north_km": use.position.north_km + off["north_km"],
    }
    if "sector" in raw and "center_deg" in raw["sector"]:
        r["sector"]["center_deg"] = (raw["sector"]["center_deg"] + use.facing_deg) % 360.0
    elif "sector" in raw:
        r["sector"]["center_deg"] = use.facing_deg % 360.0
    return r


def _battery(t: SystemTemplate, use: SystemUse) -> dict[str, Any]:
    b = copy.deepcopy(t.battery)
    b = {"name": use.name, "position": use.position.model_dump(mode="json"), **b}
    if b.get("fire_control_radar") is not None:
        b["fire_control_radar"] = f"{use.name}/{b['fire_control_radar']}"
    if isinstance(b.get("radars"), list):  # the battery's own radars (networking)
        b["radars"] = [f"{use.name}/{r}" for r in b["radars"]]
    if use.launchers is not None:
        b["launchers"] = use.launchers
    if use.load is not None:
        b["load"] = dict(use.load)
    return b


def add_to_json_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The scenario JSON Schema with the `systems:` section an editor should accept.

    `systems:` is expanded before validation, so it is not a field of `Scenario`;
    with it, `radars`, `missiles` and `batteries` may be left out of a file.
    """
    use = SystemUse.model_json_schema(ref_template="#/$defs/{model}")
    defs = {**schema.get("$defs", {}), **use.pop("$defs", {}), "SystemUse": use}
    props = {
        **schema["properties"],
        SECTION: {
            "type": "array",
            "items": {"$ref": "#/$defs/SystemUse"},
            "description": "System templates placed at sites, expanded at load into radars, "
            "missiles and batteries (docs/systems.md).",
        },
    }
    required = [
        r for r in schema.get("required", []) if r not in ("radars", "missiles", "batteries")
    ]
    return {**schema, "$defs": defs, "properties": props, "required": required}
