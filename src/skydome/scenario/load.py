"""Read a scenario file: safe YAML, pydantic validation, cross-references.

Every failure becomes a `ScenarioError` naming the file, the field path, the
line when known, and what was expected.
"""

from __future__ import annotations

import difflib
import math
import typing
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pydantic import BaseModel, ValidationError

from skydome.errors import Problem, ScenarioError, field_path
from skydome.scenario.builtin import builtin_names, builtin_path
from skydome.scenario.limits import MAX_FILE_BYTES, MAX_YAML_DEPTH, MAX_YAML_NODES
from skydome.scenario.schema import NAME_PATTERN, NAME_RULE, Scenario, unwrap_type
from skydome.scenario.schema.weapons import against_problems
from skydome.threats import route_length_m

__all__ = [
    "SCHEMA_HINT",
    "load_scenario",
    "parse_scenario",
    "problems_from_validation",
    "read_yaml",
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
        size = path.stat().st_size
        _check_size(size, str(spec), "scenario")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ScenarioError(str(spec), [Problem("", f"cannot be read: {e}")]) from None
    return parse_scenario(text, str(spec))


def parse_scenario(text: str, file: str = "<string>") -> Scenario:
    """Validate scenario YAML text; `file` is only used in messages."""
    data, root = read_yaml(text, file)
    if not isinstance(data, dict):
        got = "an empty file" if data is None else f"a {type(data).__name__}"
        raise ScenarioError(
            file, [Problem("", f"expected a mapping of scenario fields, got {got}")]
        )
    if "systems" in data:  # system templates (docs/systems.md), expanded before validation
        data = _expand_systems(data, root, file)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as e:
        raise ScenarioError(file, problems_from_validation(e, root, model=Scenario)) from None
    problems = _cross_reference_problems(scenario, root)
    if problems:
        raise ScenarioError(file, problems)
    return scenario


def _expand_systems(data: dict[str, Any], root: yaml.Node | None, file: str) -> dict[str, Any]:
    """`skydome.scenario.systems.expand_systems`, its issues located and worded as problems.

    Raises:
        ScenarioError: every issue of the `systems:` section, with field path and line.
    """
    from skydome.scenario.systems import SystemUse, expand_systems

    expanded, issues = expand_systems(data)
    problems: list[Problem] = []
    for loc, issue in issues:
        line = _line_of(root, loc)
        if isinstance(issue, ValidationError):
            for p in problems_from_validation(issue, None, model=SystemUse):
                where = field_path(loc) + ("." + p.path if p.path else "")
                problems.append(Problem(where, p.message, line))
        else:
            problems.append(Problem(field_path(loc), issue, line))
    if problems:
        raise ScenarioError(file, problems)
    return expanded


# --------------------------------------------------------------------------- YAML


def _check_size(n_bytes: int, file: str, what: str) -> None:
    if n_bytes > MAX_FILE_BYTES:
        raise ScenarioError(
            file,
            [
                Problem(
                    "",
                    f"is {n_bytes / 2**20:,.1f} MB; a {what} file may be at most "
                    f"{MAX_FILE_BYTES / 2**20:g} MB (the built-in scenarios are about 10 kB)",
                )
            ],
            what,
        )


class _TooDeep(yaml.YAMLError):
    """Collections nested deeper than `MAX_YAML_DEPTH` (raised while composing)."""

    def __init__(self, mark: yaml.Mark | None) -> None:
        super().__init__("too deep")
        self.mark = mark


_DEEP = f"nested more than {MAX_YAML_DEPTH} levels deep (a scenario needs about 6)"


def _construct_object(loader: yaml.constructor.SafeConstructor, node: yaml.Node, deep: bool) -> Any:
    """`SafeConstructor.construct_object`, with unreadable scalars as located YAML errors.

    PyYAML raises a bare ValueError for, e.g., a 5,000-digit integer or the date
    2024-13-45; that would escape as a traceback.
    """
    try:
        return yaml.constructor.SafeConstructor.construct_object(loader, node, deep)
    except (ValueError, OverflowError) as e:
        what = _shown(node.value, 40) if isinstance(node, yaml.ScalarNode) else "a value"
        reason = str(e).split(";")[0]
        raise yaml.constructor.ConstructorError(
            None, None, f"cannot read {what}: {reason}", node.start_mark
        ) from None


class _PyLoader(yaml.SafeLoader):
    """Pure-Python safe loader; the composer (recursive) stops at `MAX_YAML_DEPTH`."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self._depth >= MAX_YAML_DEPTH:
            raise _TooDeep(self.peek_event().start_mark)  # type: ignore[no-untyped-call]
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """See `_construct_object`."""
        return _construct_object(self, node, deep)


_LOADERS: list[type[Any]] = [_PyLoader]
if getattr(yaml, "__with_libyaml__", False):

    class _CLoader(yaml.CSafeLoader):
        """libyaml safe loader (ten times faster); libyaml stops at 1,000 levels."""

        def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
            """See `_construct_object`."""
            return _construct_object(self, node, deep)

    _LOADERS.insert(0, _CLoader)


def read_yaml(text: str, file: str, what: str = "scenario") -> tuple[Any, yaml.Node | None]:
    """Safe-load YAML text, refusing what would crash, hang or mislead later.

    Beyond `yaml.safe_load`: duplicate keys are errors (YAML would keep the last
    value silently), nesting is limited to `MAX_YAML_DEPTH` levels (deeper input
    used to end in a RecursionError), the number of values counting every use
    of an alias to `MAX_YAML_NODES` (a "billion laughs" file would expand past
    memory), recursive aliases are refused, and unreadable scalars are reported
    with their line.

    Args:
        text: the YAML document.
        file: name used in messages.
        what: kind of file, used in messages ("scenario", "tracker config", ...).

    Returns:
        The data (None for an empty document) and the composed node tree (for
        the lines of later problems).

    Raises:
        ScenarioError: every problem found, with its line.
    """
    _check_size(len(text), file, what)
    loader = _LOADERS[0](text)
    try:
        try:
            root: yaml.Node | None = loader.get_single_node()
            if root is not None:
                problems = _tree_problems(root)
                if problems:
                    raise ScenarioError(file, problems, what)
            data = loader.construct_document(root) if root is not None else None
        except _TooDeep as e:
            line = e.mark.line + 1 if e.mark is not None else None
            raise ScenarioError(file, [Problem("", _DEEP, line)], what) from None
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            line = mark.line + 1 if mark is not None else None
            problem = getattr(e, "problem", None) or str(e)
            msg = _DEEP if "maximum nesting depth" in problem else f"invalid YAML: {problem}"
            raise ScenarioError(file, [Problem("", msg, line)], what) from None
    finally:
        loader.dispose()
    return data, root


def _children(node: yaml.Node) -> list[tuple[int | str, yaml.Node]]:
    if isinstance(node, yaml.MappingNode):
        return [(k.value if isinstance(k, yaml.ScalarNode) else "?", v) for k, v in node.value]
    if isinstance(node, yaml.SequenceNode):
        return list(enumerate(node.value))
    return []


_MERGE_TAG = "tag:yaml.org,2002:merge"


def _tree_problems(root: yaml.Node) -> list[Problem]:
    """Duplicate keys, depth, cycles and expanded size of a composed tree, iteratively.

    An alias is the same node object as its anchor, so each node is visited once;
    its expanded size (what pydantic would walk) is summed bottom-up.
    """
    problems: list[Problem] = []
    size: dict[int, int] = {}
    height: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, tuple[int | str, ...], bool]] = [(root, (), False)]
    while stack:
        node, loc, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            kids = [id(c) for _, c in _children(node)]
            size[key] = 1 + sum(size[k] for k in kids)
            height[key] = 1 + max((height[k] for k in kids), default=0)
            if size[key] > MAX_YAML_NODES:
                where = field_path(loc) or "the file"
                return [
                    Problem(
                        field_path(loc),
                        f"{where} holds more than {MAX_YAML_NODES:,} values (counting every "
                        "use of an alias)",
                        node.start_mark.line + 1,
                    )
                ]
            continue
        if key in size:
            continue  # an alias of a node already checked
        line = node.start_mark.line + 1
        if key in on_path:
            return [Problem(field_path(loc), "an alias refers to its own anchor", line)]
        if len(loc) >= MAX_YAML_DEPTH:
            return [Problem(field_path(loc), _DEEP, line)]
        on_path.add(key)
        stack.append((node, loc, True))
        if isinstance(node, yaml.MappingNode):
            first: dict[str, int] = {}
            for k, _ in node.value:
                if not isinstance(k, yaml.ScalarNode) or k.tag == _MERGE_TAG:
                    continue
                k_line = k.start_mark.line + 1
                if k.value in first:
                    problems.append(
                        Problem(
                            field_path((*loc, k.value)),
                            f"duplicate key {k.value!r} (first given on line "
                            f"{first[k.value]}); give each field once",
                            k_line,
                        )
                    )
                first.setdefault(k.value, k_line)
        for part, child in reversed(_children(node)):
            stack.append((child, (*loc, part), False))
    if height.get(id(root), 0) > MAX_YAML_DEPTH:
        problems.append(Problem("", _DEEP + " through aliases", root.start_mark.line + 1))
    return sorted(problems, key=lambda p: p.line or 0)


# --------------------------------------------------------------------------- messages


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


def _shown(value: Any, limit: int = 100) -> str:
    """`repr` of user input for a message: verbatim, but never a page long.

    Huge integers are described, not printed (and Python refuses to print ints of
    more than 4,300 digits).
    """
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"an integer of about {int((value.bit_length() - 1) * 0.30103) + 1:,} digits"
    text = repr(value)
    return (
        text
        if len(text) <= limit
        else text[: limit - 5] + ("...'" if isinstance(value, str) else "...")
    )


_UNIT_HINTS = {"_km": "metres", "_s": "milliseconds", "_m": "millimetres"}

SCHEMA_HINT = "`skydome schema` lists the fields"
"""The default `schema_hint` of `problems_from_validation` (scenario files)."""


def problems_from_validation(
    e: ValidationError,
    root: yaml.Node | None = None,
    model: type[BaseModel] | None = None,
    schema_hint: str | None = SCHEMA_HINT,
) -> list[Problem]:
    """One `Problem` per pydantic error, with field path and (given a YAML tree) line.

    Args:
        e: the validation error.
        root: the composed YAML tree of the input, for line numbers (None: no lines).
        model: the model validated, to suggest the nearest valid field for an
            unknown one ("did you mean ...?") and to list the valid fields.
        schema_hint: where the user finds the fields, appended to an unknown-field
            message when no field is suggested (None: nothing). The default names
            `skydome schema`, which documents scenario files only.
    """
    return [_problem_from_pydantic(err, root, model, schema_hint) for err in e.errors()]


def _fields_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str] | None:
    """Field names of the model found by following `loc` from `model` (None: not a model)."""
    tp: Any = model
    for part in loc:
        tp = unwrap_type(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            by_name = {(f.alias or n): f for n, f in tp.model_fields.items()}
            if str(part) not in by_name:
                return None
            tp = by_name[str(part)].annotation
        elif typing.get_origin(tp) in (list, tuple) and isinstance(part, int):
            tp = typing.get_args(tp)[0]
        elif typing.get_origin(tp) is dict:
            tp = typing.get_args(tp)[1]
        else:
            return None
    tp = unwrap_type(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [f.alias or n for n, f in tp.model_fields.items()]
    return None


def _unknown_field(
    loc: tuple[int | str, ...], model: type[BaseModel] | None, schema_hint: str | None
) -> str:
    fields = _fields_at(model, loc[:-1]) if model is not None and loc else None
    if fields:
        close = difflib.get_close_matches(str(loc[-1]), fields, n=1, cutoff=0.6)
        if close:
            return f"unknown field; did you mean {close[0]!r}?"
        return f"unknown field; the fields here are: {', '.join(fields)}"
    hint = f"; {schema_hint}" if schema_hint else ""
    return f"unknown field (check the spelling{hint})"


def _message(kind: str, msg: str, inp: Any, ctx: dict[str, Any]) -> tuple[str, bool]:
    """A pydantic message in the user's words; True: append the input ("got ...")."""
    if kind == "finite_number":
        return f"must be a finite number, got {inp}", False
    if kind in ("int_parsing", "int_parsing_size", "int_from_float"):
        number = not isinstance(inp, str)
        if isinstance(inp, str):
            try:
                number = math.isfinite(float(inp))
            except ValueError:
                pass
        if not number:
            return f"expected an integer (a whole number), got {_shown(inp)}", False
        if kind == "int_parsing_size" or (isinstance(inp, float) and abs(inp) >= 2**63):
            return f"expected an integer (a whole number), got {_shown(inp)}, far too large", False
        return f"expected an integer (a whole number), got {_shown(inp)}", False
    if kind == "float_type" and isinstance(inp, int) and not isinstance(inp, bool):
        return f"expected a number within the bounds, got {_shown(inp)}", False
    if kind == "string_pattern_mismatch":
        rule = NAME_RULE if ctx.get("pattern") == NAME_PATTERN else msg
        return f"{rule}; got {_shown(inp)}", False
    if kind in ("bool_not_number", "scenario_limit"):
        return msg, False
    return msg, not isinstance(inp, dict | list)


def _problem_from_pydantic(
    err: Any, root: yaml.Node | None, model: type[BaseModel] | None, schema_hint: str | None
) -> Problem:
    # pydantic puts model-validator errors and union branches in `loc` too; keep
    # only the real field path so the message points where the user must look.
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    kind = err["type"]
    inp = err.get("input")
    prefix = ""
    line_loc = loc
    if loc and loc[-1] == "[key]":  # a mapping key, not its value, is wrong
        prefix = f"key {_shown(loc[-2])}: "
        line_loc = loc[:-1]
        loc = loc[:-2]
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if kind == "extra_forbidden":
        msg = _unknown_field(loc, model, schema_hint)
    elif kind == "missing":
        msg = "required field is missing"
    else:
        msg, got = _message(kind, msg, inp, err.get("ctx") or {})
        if got:
            msg += f" (got {_shown(inp)})"
    if kind in ("less_than_equal", "less_than") and loc and isinstance(loc[-1], str):
        for suffix, smaller in _UNIT_HINTS.items():
            if loc[-1].endswith(suffix):
                msg += f"; the unit is in the name ({suffix[1:]}): was it given in {smaller}?"
                break
    return Problem(field_path(loc), prefix + msg, _line_of(root, line_loc))


def _cross_reference_problems(s: Scenario, root: yaml.Node | None) -> list[Problem]:
    """Names that must exist or be unique: what per-field validation cannot see."""
    problems: list[Problem] = []

    def add(loc: tuple[int | str, ...], msg: str) -> None:
        problems.append(Problem(field_path(loc), msg, _line_of(root, loc)))

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
        for j, name in enumerate(b.radars or []):
            if name not in radars:
                add(
                    ("batteries", i, "radars", j),
                    f"radar {name!r} not found (radars: {', '.join(radars)})",
                )
    for loc, msg in against_problems(s.missiles, types):
        add(loc, msg)
    doc = s.doctrine
    for section, keys in (
        ("type_weights", doc.type_weights),
        ("threat_values", doc.threat_values),
        ("engage_with", doc.engage_with),
        ("expected_threats", doc.expected_threats),
    ):
        for label in keys:
            if label not in types:
                add(
                    ("doctrine", section, label),
                    f"no raid has type {label!r} (types: {', '.join(sorted(types))})",
                )
    for section, keys in (
        ("min_threat_value", doc.min_threat_value),
        ("reserve_share", doc.reserve_share),
    ):
        for mtype in keys:
            if mtype not in s.missiles:
                add(
                    ("doctrine", section, mtype),
                    f"missile type {mtype!r} is not in the missiles library "
                    f"(library has: {', '.join(library)})",
                )
    for label, allowed in doc.engage_with.items():
        for k, mtype in enumerate(allowed):
            if mtype not in s.missiles:
                add(
                    ("doctrine", "engage_with", label, k),
                    f"missile type {mtype!r} is not in the missiles library "
                    f"(library has: {', '.join(library)})",
                )
    for i, r in enumerate(s.raids):
        if r.arm is not None:  # an anti-radiation missile attacks a radar
            if r.target not in radars:
                add(
                    ("raids", i, "target"),
                    f"raid has arm: target must name a radar, {r.target!r} is not one "
                    f"(radars: {', '.join(radars)})",
                )
        elif r.target is not None and r.target not in assets:
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
        if r.route is not None and r.arm is None:  # an ARM has no release range
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
    if s.identification is not None:
        names = sections["batteries"]
        for bname in s.identification.battery_rules:
            if bname not in names:
                add(
                    ("identification", "battery_rules", bname),
                    f"battery {bname!r} not found (batteries: {', '.join(sorted(names))})",
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
