"""Swap a scenario's whole defence for system templates at its batteries' sites.

`with_systems(default, ["patriot"])` is what `skydome run default --system patriot`
(also `mc`, `missiles`) runs: the templates (`skydome.scenario.systems`) placed
where the scenario's batteries stand, expanded and validated like a file.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import yaml

from skydome.errors import Problem, ScenarioError, field_path
from skydome.scenario.load import parse_scenario
from skydome.scenario.schema import Battery, Scenario
from skydome.scenario.systems import (
    SECTION,
    expand_systems,
    load_template,
    system_names,
    unknown_system,
)

__all__ = ["with_systems"]


def _facing(s: Scenario, b: Battery) -> float:
    """The bearing a replaced battery's defence faced, degrees from north.

    Its fire-control radar's sector centre, else the mean bearing from its site to
    the raids' first points.
    """
    radars = {r.name: r for r in s.radars}
    fcr = radars.get(b.fire_control_radar) if b.fire_control_radar else None
    if fcr is not None and fcr.sector.width_deg < 360.0:
        return float(fcr.sector.center_deg) % 360.0
    e = n = 0.0
    for r in s.raids:
        p: Any = r.route[0] if r.route else (r.ballistic.launch if r.ballistic else None)
        if p is None:
            continue
        de, dn = p.east_km - b.position.east_km, p.north_km - b.position.north_km
        d = math.hypot(de, dn) or 1.0
        e, n = e + de / d, n + dn / d
    return math.degrees(math.atan2(e, n)) % 360.0 if (e or n) else 0.0


def _references_to_the_defence(s: Scenario) -> list[Problem]:
    """What the swap would silently drop or break, refused until it is mapped.

    The scenario's references to its radars and batteries beyond their plain
    composition: ARM targets, emission control, batteries' own radars and cue
    delays, a network rule, rules of engagement per battery.
    """
    out = []
    for i, r in enumerate(s.raids):
        if r.arm is not None:
            out.append(
                Problem(
                    f"raids[{i}].arm",
                    "--system: anti-radiation missiles attack "
                    "the scenario's radars, which the swap replaces",
                )
            )
    for i, rad in enumerate(s.radars):
        if rad.emission is not None and rad.emission.mode != "always":
            out.append(
                Problem(
                    f"radars[{i}].emission",
                    "--system: emission control of a radar the swap replaces",
                )
            )
    for i, b in enumerate(s.batteries):
        if b.radars is not None or b.cue_delay_s > 0.0:
            out.append(
                Problem(
                    f"batteries[{i}]",
                    "--system: the battery's own radars and cue delay (networking) would be lost",
                )
            )
    ident = s.identification
    if ident is not None and ident.battery_rules:
        out.append(
            Problem(
                "identification.battery_rules",
                "--system: rules per battery name the batteries the swap replaces",
            )
        )
    if s.doctrine.network != "networked" and len(s.batteries) > 1:
        out.append(
            Problem(
                "doctrine.network",
                "--system: the network rule needs each "
                "battery's own radars, which the swap replaces",
            )
        )
    return out


def with_systems(
    s: Scenario, systems: Sequence[str], file: str = "<scenario>"
) -> tuple[Scenario, str]:
    """The scenario with its whole defence replaced by templates at its batteries' sites.

    Every battery of `s` is replaced by one battery of each named system at the
    same site (named as the battery when one system is given, else BATTERY-SYSTEM),
    facing where the battery's fire-control radar faced (else towards the raids);
    the scenario's radars and missile library are dropped, and doctrine entries
    naming a dropped missile type are left out. The scenario is renamed
    NAME-SYS1+SYS2, and its provenance adds the templates'.

    Args:
        s: a loaded `Scenario`.
        systems: template names (one or more; repeated names are an error).
        file: name used in messages.

    Returns:
        The new scenario, validated like a file, and its YAML text (expanded:
        it reads without the templates).

    Raises:
        ScenarioError: unknown or repeated system names, or a result that does not
            validate.
    """
    names = system_names()
    bad = [Problem("--system", unknown_system(x, names)) for x in systems if x not in names]
    if not systems:
        bad.append(Problem("--system", "give at least one system"))
    dup = sorted({x for x in systems if list(systems).count(x) > 1})
    if dup:
        bad.append(Problem("--system", f"{', '.join(dup)} given more than once"))
    bad += _references_to_the_defence(s)
    if bad:
        raise ScenarioError(file, bad)
    data = s.model_dump(mode="json")
    uses = [
        {
            "system": x,
            "name": b.name if len(systems) == 1 else f"{b.name}-{x}",
            "position": b.position.model_dump(mode="json"),
            "facing_deg": _facing(s, b),
        }
        for b in s.batteries
        for x in systems
    ]
    data["name"] = f"{s.name}-{'+'.join(systems)}"
    data["description"] = (
        f"{s.name} with its defence replaced by system templates ({', '.join(systems)}) "
        "at the same sites."
    )
    # The defence's figures now come from the templates: say so beside the scenario's own.
    data["provenance"] = f"Scenario ({s.name}): {s.provenance} Defence: " + " ".join(
        f"{x} template: {load_template(x).provenance}" for x in systems
    )
    data["radars"], data["missiles"], data["batteries"] = [], {}, []
    data[SECTION] = uses
    expanded, issues = expand_systems(data)
    if issues:  # the templates and the uses built here are valid: a defect if reached
        raise ScenarioError(file, [Problem(field_path(loc), str(msg)) for loc, msg in issues])
    kept = set(expanded["missiles"])
    doc = expanded.get("doctrine") or {}
    for key in ("min_threat_value", "reserve_share"):
        if isinstance(doc.get(key), dict):
            doc[key] = {k: v for k, v in doc[key].items() if k in kept}
    if isinstance(doc.get("engage_with"), dict):
        ew = {label: [m for m in ms if m in kept] for label, ms in doc["engage_with"].items()}
        doc["engage_with"] = {label: ms for label, ms in ew.items() if ms}
    header = (
        f"# {data['name']}: {s.name} with its defence replaced by system templates "
        f"({', '.join(systems)}), expanded (skydome.scenario.system_swap.with_systems).\n"
    )
    text = header + yaml.safe_dump(expanded, sort_keys=False, allow_unicode=True)
    return parse_scenario(text, file), text
