"""Read a scenario file: safe YAML, pydantic validation, cross-references.

Every failure becomes a `ScenarioError` naming the file, the field path, the
line when known, and what was expected.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pydantic import ValidationError

from skydome.errors import Problem, ScenarioError
from skydome.scenario.builtin import builtin_names, builtin_path
from skydome.scenario.schema import Scenario
from skydome.threats import route_length_m

__all__ = [
    "load_scenario",
    "parse_scenario",
    "problems_from_validation",
    "resolve_scenario_path",
]


def resolve_scenario_path(spec: str | Path) -> Path:
    """A file path, or the name of a built-in scenario.

    Raises:
        ScenarioError: neither an existing file nor a built-in name.
    """
    p = Path(spec)
    if p.is_file():
        return p
    if isinstance(spec, str) and spec in builtin_names():
        return builtin_path(spec)
    if p.exists():
        raise ScenarioError(str(spec), [Problem("", "is not a regular file")])
    names = ", ".join(builtin_names())
    raise ScenarioError(
        str(spec), [Problem("", f"no such file, and not a built-in scenario (built-ins: {names})")]
    )


def load_scenario(spec: str | Path) -> Scenario:
    """Load and validate a scenario from a file path or built-in name."""
    path = resolve_scenario_path(spec)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ScenarioError(str(spec), [Problem("", f"cannot be read: {e}")]) from None
    return parse_scenario(text, str(spec))


def parse_scenario(text: str, file: str = "<string>") -> Scenario:
    """Validate scenario YAML text; `file` is only used in messages."""
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        what = getattr(e, "problem", None) or str(e)
        raise ScenarioError(file, [Problem("", f"invalid YAML: {what}", line)]) from None
    if not isinstance(data, dict):
        got = "an empty file" if data is None else f"a {type(data).__name__}"
        raise ScenarioError(
            file, [Problem("", f"expected a mapping of scenario fields, got {got}")]
        )
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as e:
        raise ScenarioError(file, problems_from_validation(e, root)) from None
    problems = _cross_reference_problems(scenario, root)
    if problems:
        raise ScenarioError(file, problems)
    return scenario


def _format_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _line_of(root: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """1-based line of the YAML node at `loc`, or of its nearest existing parent."""
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        nxt: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value == str(part):
                    nxt = v
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if 0 <= part < len(node.value):
                nxt = node.value[part]
        if nxt is None:
            break
        node = nxt
        line = node.start_mark.line + 1
    return line


_UNIT_HINTS = {"_km": "metres", "_s": "milliseconds", "_m": "millimetres"}


def problems_from_validation(e: ValidationError, root: yaml.Node | None = None) -> list[Problem]:
    """One `Problem` per pydantic error, with field path and (given a YAML tree) line."""
    return [_problem_from_pydantic(err, root) for err in e.errors()]


def _problem_from_pydantic(err: Any, root: yaml.Node | None) -> Problem:
    # pydantic puts model-validator errors and union branches in `loc` too; keep
    # only the real field path so the message points where the user must look.
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    path = _format_path(loc)
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    kind = err["type"]
    inp = err.get("input")
    if kind == "extra_forbidden":
        msg = "unknown field (check the spelling; `skydome schema` lists the fields)"
    elif kind == "missing":
        msg = "required field is missing"
    elif not isinstance(inp, dict | list):
        msg += f" (got {inp!r})"
    if kind in ("less_than_equal", "less_than") and loc and isinstance(loc[-1], str):
        for suffix, smaller in _UNIT_HINTS.items():
            if loc[-1].endswith(suffix):
                msg += f"; the unit is in the name ({suffix[1:]}): was it given in {smaller}?"
                break
    return Problem(path, msg, _line_of(root, loc))


def _cross_reference_problems(s: Scenario, root: yaml.Node | None) -> list[Problem]:
    """Names that must exist or be unique: what per-field validation cannot see."""
    problems: list[Problem] = []

    def add(loc: tuple[int | str, ...], msg: str) -> None:
        problems.append(Problem(_format_path(loc), msg, _line_of(root, loc)))

    sections: dict[str, list[str]] = {
        "assets": [x.name for x in s.assets],
        "radars": [x.name for x in s.radars],
        "batteries": [x.name for x in s.batteries],
        "raids": [x.name for x in s.raids],
    }
    for section, names in sections.items():
        first: dict[str, int] = {}
        for i, name in enumerate(names):
            if name in first:
                add(
                    (section, i, "name"),
                    f"duplicate name {name!r} (already used by {section}[{first[name]}])",
                )
            first.setdefault(name, i)
    assets = {a.name for a in s.assets}
    library = sorted(s.missiles)
    radars = [r.name for r in s.radars]
    types = {r.type for r in s.raids}
    for i, b in enumerate(s.batteries):
        for section, d in (("load", b.load), ("reserve", b.reserve)):
            for mtype in d:
                if mtype not in s.missiles:
                    add(
                        ("batteries", i, section, mtype),
                        f"missile type {mtype!r} is not in the missiles library "
                        f"(library has: {', '.join(library)})",
                    )
        if b.fire_control_radar is not None and b.fire_control_radar not in radars:
            add(
                ("batteries", i, "fire_control_radar"),
                f"radar {b.fire_control_radar!r} not found (radars: {', '.join(radars)})",
            )
    for label in s.doctrine.type_weights:
        if label not in types:
            add(
                ("doctrine", "type_weights", label),
                f"no raid has type {label!r} (types: {', '.join(sorted(types))})",
            )
    for i, r in enumerate(s.raids):
        if r.target not in assets:
            add(
                ("raids", i, "target"),
                f"asset {r.target!r} not found (assets: {', '.join(sorted(assets))})",
            )
        if r.launch_time_s + r.launch_spread_s > s.run.duration_s:
            add(
                ("raids", i, "launch_time_s"),
                f"launches end at {r.launch_time_s + r.launch_spread_s:g} s, "
                f"after the run ends ({s.run.duration_s:g} s)",
            )
    for i, r in enumerate(s.raids):
        if r.route is not None:
            length_km = (
                route_length_m(
                    np.array([[w.east_km * 1e3, w.north_km * 1e3, w.altitude_m] for w in r.route])
                )
                / 1e3
            )
            if length_km <= r.release_range_km:
                add(
                    ("raids", i, "release_range_km"),
                    f"must be shorter than the route ({length_km:.1f} km), "
                    f"got {r.release_range_km:g}",
                )
    if s.run.flyout == "guided":
        for name, m in s.missiles.items():
            if m.physics is None:
                add(
                    ("missiles", name, "physics"),
                    "run.flyout is 'guided': every missile type needs physics "
                    "(launch_mass_kg, boost_thrust_kn, boost_s, diameter_m, ...)",
                )
    for name, m in s.missiles.items():
        fastest = m.max_range_km * 1000.0 / m.average_speed_mps
        if fastest > 3600.0:
            add(("missiles", name, "average_speed_mps"), "flight to max range would exceed 1 h")
    return problems
