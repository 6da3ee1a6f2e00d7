"""Study plans: the scenario, the grid of settings, the seed, validated before anything runs.

A *study* runs `n` replications of each *cell* of a scenario: one cell for
``skydome mc`` (a sweep with no settings), the full grid of settings for
``skydome sweep``. Every cell is applied to the scenario data, validated by the
normal loader and compiled here, so a bad path or value ends before any
replication runs.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import yaml

from skydome.errors import ScenarioError, UserError
from skydome.scenario import Scenario, SimParams, compile_scenario, load_scenario, parse_scenario
from skydome.study.metrics import metric_columns, summary_metric_names
from skydome.study.options import OptionError

__all__ = ["MAX_CELLS", "Cell", "Setting", "StudyPlan", "parse_setting", "plan_study"]

MAX_CELLS = 10_000
"""Largest sweep grid: every cell is validated and compiled before anything runs."""

ProgressFn = Callable[[int, int], None]
"""Called with (done, planned) as the work advances."""


@dataclass(frozen=True)
class Setting:
    """One ``--set PATH=V1,V2,...``: a scenario field and the values it sweeps.

    Attributes:
        arg: the argument as given, for messages.
        path: dotted path into the scenario data (list indices as numbers,
            list items also by their `name`, mapping keys by name).
        values: the values, parsed as YAML scalars (4 -> int, 0.7 -> float).
    """

    arg: str
    path: str
    values: tuple[Any, ...]


def _split_values(text: str) -> list[str]:
    """Split at commas outside brackets and quotes: ``1,[2,3],'a,b'`` -> 3 values."""
    parts: list[str] = []
    depth = 0
    quote = ""
    cur = ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        cur += ch
    parts.append(cur)
    return [p.strip() for p in parts]


def parse_setting(arg: str) -> Setting:
    """Parse one ``--set PATH=V1,V2,...`` argument.

    Raises:
        UserError: malformed argument (no `=`, empty path segment, empty value).
    """
    where = f"--set {arg}"
    if "=" not in arg:
        raise UserError(f"{where}: expected PATH=VALUE[,VALUE...], e.g. batteries.0.launchers=4,8")
    path, _, text = arg.partition("=")
    path = path.strip()
    if not path or any(not seg.strip() for seg in path.split(".")):
        raise UserError(f"{where}: empty field name in the path {path!r}")
    values: list[Any] = []
    parts = _split_values(text)
    if len(parts) > MAX_CELLS:
        raise UserError(
            f"--set {path.strip()}=...: {len(parts):,} values; at most {MAX_CELLS:,} cells "
            "per sweep: give fewer values"
        )
    for v in parts:
        if not v:
            raise UserError(f"{where}: empty value (give values separated by commas)")
        try:
            values.append(yaml.safe_load(v))
        except yaml.YAMLError:
            raise UserError(f"{where}: cannot read the value {v!r}") from None
    if path in ("run.seed",):
        raise UserError(
            f"{where}: replications take their seeds from the study's --seed, not from "
            "run.seed; sweep designs, and compare them with common random numbers"
        )
    return Setting(arg, ".".join(seg.strip() for seg in path.split(".")), tuple(values))


def _is_index(seg: str) -> bool:
    return seg.isdigit() or (seg.startswith("-") and seg[1:].isdigit())


def _apply_setting(data: dict[str, Any], s: Setting, value: Any) -> tuple[int | str, ...]:
    """Set `s.path` to `value` in the raw scenario data; return the resolved location.

    Missing mapping keys are created (the loader then rejects unknown ones);
    list items are addressed by index or by their `name`.
    """
    segs = s.path.split(".")
    loc: list[int | str] = []
    node: Any = data

    def here() -> str:
        return ".".join(segs[: len(loc)]) or "(the scenario)"

    for depth, seg in enumerate(segs):
        last = depth == len(segs) - 1
        if isinstance(node, dict):
            if last:
                node[seg] = value
            else:
                node = node.setdefault(seg, {})
            loc.append(seg)
        elif isinstance(node, list):
            if _is_index(seg):
                i = int(seg)
                if not 0 <= i < len(node):
                    raise UserError(
                        f"--set {s.arg}: index {i} is out of range: {here()} has "
                        f"{len(node)} item{'s' if len(node) != 1 else ''}"
                    )
            else:
                named = [j for j, it in enumerate(node) if isinstance(it, dict)]
                hits = [j for j in named if node[j].get("name") == seg]
                if not hits:
                    names = ", ".join(str(node[j].get("name")) for j in named)
                    raise UserError(
                        f"--set {s.arg}: {here()} has no item named {seg!r} "
                        f"(give an index, or one of: {names})"
                    )
                i = hits[0]
            if last:
                node[i] = value
            else:
                node = node[i]
            loc.append(i)
        else:
            raise UserError(
                f"--set {s.arg}: {here()} is a value ({node!r}), not a section: "
                f"it has no field {seg!r}"
            )
    return tuple(loc)


def _loc_str(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out


@dataclass(frozen=True)
class Cell:
    """One design alternative of a study.

    Attributes:
        index: position in the grid (0 for a plain study).
        values: the value of each setting in this cell (empty for a plain study).
        scenario: the validated scenario with those values applied.
        params: its compiled form.
    """

    index: int
    values: tuple[Any, ...]
    scenario: Scenario
    params: SimParams


@dataclass(frozen=True)
class StudyPlan:
    """A validated study: the scenario, the grid of settings, the study seed.

    Attributes:
        label: the scenario as the user named it (file or built-in name).
        name: the scenario's `name`.
        digest: SHA-256 of the validated base scenario (content, not formatting).
        seed: study seed; replication `i` runs with
            `skydome.seeding.replication_seed(seed, i)`.
        settings: the swept settings, slowest-varying first.
        cells: the full grid, `prod(len(s.values))` cells, in row-major order.
        columns: the union of the cells' metric columns, in order, with their types.
    """

    label: str
    name: str
    digest: str
    seed: int
    settings: tuple[Setting, ...]
    cells: tuple[Cell, ...]
    columns: tuple[tuple[str, pa.DataType], ...]

    @property
    def is_sweep(self) -> bool:
        """True when the study sweeps settings."""
        return bool(self.settings)

    @property
    def metric_names(self) -> tuple[str, ...]:
        """Every metric name the study summary reports (what a stopping rule may watch)."""
        return summary_metric_names([c for c, _ in self.columns])


def _digest(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def plan_study(
    scenario: str | Path | Scenario,
    sets: Sequence[str] = (),
    seed: int | None = None,
    *,
    progress: ProgressFn | None = None,
) -> StudyPlan:
    """Validate a study before anything runs: the scenario and every cell of the grid.

    Each cell's values are applied to the scenario data and the result is
    validated by the normal loader, so a bad path or value ends here with one
    message naming the ``--set`` argument.

    Args:
        scenario: a scenario file, a built-in name, or a loaded `Scenario`.
        sets: ``PATH=V1,V2,...`` settings; the grid is their Cartesian product.
        seed: study seed (default: the scenario's `run.seed`).
        progress: called with (cells planned, cells in the grid) as each cell is
            validated and compiled.

    Returns:
        The plan.

    Raises:
        UserError: invalid scenario, malformed or invalid setting, a grid of more
            than `MAX_CELLS` cells, or negative seed.
    """
    if seed is not None and seed < 0:
        raise OptionError("seed", f"expected a non-negative integer, got {seed}")
    settings = tuple(parse_setting(s) for s in sets)
    n_cells = math.prod(len(s.values) for s in settings)
    if n_cells > MAX_CELLS:
        sizes = " x ".join(f"{len(s.values):,}" for s in settings)
        raise UserError(
            f"--set: the grid has {n_cells:,} cells ({sizes} values); at most {MAX_CELLS:,} "
            "per sweep: give fewer values, or split the sweep"
        )
    base = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    label = base.name if isinstance(scenario, Scenario) else str(scenario)
    study_seed = base.run.seed if seed is None else seed
    raw = base.model_dump(mode="json")
    cells: list[Cell] = []
    if progress is not None:
        progress(0, n_cells)
    for index, values in enumerate(itertools.product(*(s.values for s in settings))):
        data = copy.deepcopy(raw)
        locs = [_apply_setting(data, s, v) for s, v in zip(settings, values, strict=True)]
        if index == 0:
            _check_distinct(settings, locs)
        sc = base if not settings else _validate_cell(data, label, settings, values, locs)
        cells.append(Cell(index, tuple(values), sc, compile_scenario(sc)))
        if progress is not None:
            progress(index + 1, n_cells)
    columns: dict[str, pa.DataType] = {}
    for c in cells:
        for name, typ in metric_columns(c.params):
            columns.setdefault(name, typ)
    return StudyPlan(
        label=label,
        name=base.name,
        digest=_digest(raw),
        seed=study_seed,
        settings=settings,
        cells=tuple(cells),
        columns=tuple(columns.items()),
    )


def _check_distinct(settings: tuple[Setting, ...], locs: list[tuple[int | str, ...]]) -> None:
    """Two settings of one field (by index and by name, say) would overwrite each other."""
    seen: dict[tuple[int | str, ...], Setting] = {}
    for s, loc in zip(settings, locs, strict=True):
        if loc in seen:
            raise UserError(
                f"--set {s.arg}: sets {_loc_str(loc)}, already swept by --set {seen[loc].arg}"
            )
        seen[loc] = s


def _validate_cell(
    data: dict[str, Any],
    label: str,
    settings: tuple[Setting, ...],
    values: tuple[Any, ...],
    locs: list[tuple[int | str, ...]],
) -> Scenario:
    try:
        return parse_scenario(yaml.safe_dump(data, sort_keys=False), label)
    except ScenarioError as e:
        paths = [_loc_str(loc) for loc in locs]

        def related(problem_path: str, p: str) -> bool:
            return (
                problem_path == p
                or problem_path.startswith((p + ".", p + "["))
                or p.startswith((problem_path + ".", problem_path + "["))
            )

        blamed = [
            i for i, p in enumerate(paths) if any(related(pr.path, p) for pr in e.problems)
        ] or list(range(len(settings)))
        which = "; ".join(f"--set {settings[i].arg} (value {values[i]!r})" for i in blamed)
        lines = [f"{which}: makes {label} invalid:"]
        lines += [f"  {pr.path or '(file)'}: {pr.message}" for pr in e.problems]
        raise UserError("\n".join(lines)) from None
