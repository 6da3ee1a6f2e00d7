"""Size limits of a scenario: the work must finish and the arrays must fit.

Per-field bounds (in `skydome.scenario.schema`) catch implausible values; these
limits catch combinations of plausible values that cannot run: a tiny step over
a long run, many large raids, huge inventories. They are checked when a scenario
is validated, before anything allocates arrays, and each message says roughly
how long the run would take or how much memory it would need.

The estimates are calibrated on the built-in default scenario (1,800 engine steps
in about 1.4 s on one core) and on the size of the compiled threat table; they
are orders of magnitude, not promises.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from skydome.scenario.schema import Raid, Scenario

__all__ = [
    "LIMITS",
    "MAX_ASSETS",
    "MAX_BATTERIES",
    "MAX_ENGINE_STEPS",
    "MAX_FALSE_ALARMS_PER_SCAN",
    "MAX_FILE_BYTES",
    "MAX_GUIDANCE_STEPS",
    "MAX_LAUNCHERS",
    "MAX_MISSILES",
    "MAX_MISSILE_TYPES",
    "MAX_RADARS",
    "MAX_RAIDS",
    "MAX_THREATS",
    "MAX_THREAT_ASSET_PAIRS",
    "MAX_THREAT_MEMORY_BYTES",
    "MAX_WAYPOINTS",
    "MAX_WTA_BUDGET_S",
    "MAX_YAML_DEPTH",
    "MAX_YAML_NODES",
    "human_bytes",
    "human_seconds",
    "path_vertices",
    "size_problems",
    "threat_memory_bytes",
]

# --- the file ---------------------------------------------------------------------
MAX_FILE_BYTES = 4 * 1024 * 1024
"""Largest scenario file (the built-ins are about 10 kB)."""
MAX_YAML_DEPTH = 32
"""Deepest nesting of YAML collections (a scenario needs about 6)."""
MAX_YAML_NODES = 1_000_000
"""Most YAML values in a file, counting every use of an alias (`*name`)."""

# --- sections ---------------------------------------------------------------------
MAX_ASSETS = 1_000
MAX_RADARS = 1_000
MAX_BATTERIES = 1_000
MAX_RAIDS = 10_000
MAX_MISSILE_TYPES = 100
MAX_WAYPOINTS = 1_000
"""Per route."""

# --- totals -----------------------------------------------------------------------
MAX_ENGINE_STEPS = 1_000_000
"""run.duration_s / run.step_s."""
MAX_GUIDANCE_STEPS = 20_000_000
"""run.duration_s / run.guidance_step_s, guided flyout only."""
MAX_WTA_BUDGET_S = 86_400.0
"""Decisions x doctrine.wta_time_limit_s, planner 'wta' only: the solver's worst case."""
MAX_THREATS = 200_000
"""Sum of the raids' counts."""
MAX_THREAT_MEMORY_BYTES = 3 << 29  # 1.5 GB
"""Estimated peak memory of compiling the threat table (threats x path vertices)."""
MAX_THREAT_ASSET_PAIRS = 10_000_000
"""Threats x assets: threat evaluation holds (tracks, assets) arrays."""
MAX_LAUNCHERS = 100_000
"""Sum of the batteries' launchers."""
MAX_MISSILES = 1_000_000
"""Every interceptor: launchers x load plus reserve, over all batteries."""
MAX_FALSE_ALARMS_PER_SCAN = 200_000
"""Sum over the radars of false_alarms_per_scan."""

# --- calibration of the estimates -------------------------------------------------
_SECONDS_PER_STEP = 1.4 / 1800.0  # the built-in default scenario
_SECONDS_PER_GUIDANCE_STEP = 1e-4  # one vectorised guidance step, a few missiles
_THREAT_BYTES = 300  # per threat, whatever its path
_VERTEX_BYTES = 32  # per threat and path vertex: waypoint (3) and time
_TURN_VERTEX_BYTES = 24  # per threat and vertex when any raid turns: arc centre, sweep
_PEAK_FACTOR = 6.0  # compile peak / final table (per-raid pieces, concatenation); measured
_PAIR_BYTES = 48  # per threat and asset, a few float temporaries in evaluation

LIMITS: list[tuple[str, str, str]] = [
    ("file size", f"{MAX_FILE_BYTES // (1024 * 1024)} MB", "checked before parsing"),
    ("YAML nesting", f"{MAX_YAML_DEPTH} levels", "a scenario needs about 6"),
    ("YAML values", f"{MAX_YAML_NODES:,}", "counting every use of an alias"),
    ("assets", f"{MAX_ASSETS:,}", ""),
    ("radars", f"{MAX_RADARS:,}", ""),
    ("batteries", f"{MAX_BATTERIES:,}", ""),
    ("raids", f"{MAX_RAIDS:,}", ""),
    ("missile types", f"{MAX_MISSILE_TYPES:,}", ""),
    ("waypoints per route", f"{MAX_WAYPOINTS:,}", ""),
    (
        "engine steps",
        f"{MAX_ENGINE_STEPS:,}",
        "run.duration_s / run.step_s; the default scenario has 1,800 (about 1.4 s)",
    ),
    (
        "guidance steps",
        f"{MAX_GUIDANCE_STEPS:,}",
        "run.duration_s / run.guidance_step_s, guided flyout only",
    ),
    (
        "WTA time budget",
        f"{MAX_WTA_BUDGET_S / 3600:g} hours",
        "planner 'wta' only: decisions (duration_s / max(decision_period_s, step_s)) x "
        "wta_time_limit_s, the solver's worst case",
    ),
    ("threats", f"{MAX_THREATS:,}", "sum of the raids' count"),
    (
        "threat memory",
        f"{MAX_THREAT_MEMORY_BYTES / 1024**3:g} GB",
        f"estimated peak while compiling: {_PEAK_FACTOR:g} x threats x ({_THREAT_BYTES} + "
        f"{_VERTEX_BYTES} x path vertices) bytes ({_VERTEX_BYTES + _TURN_VERTEX_BYTES} "
        "with turn_g); a route has as many path vertices as waypoints (2 more with "
        "terminal, about twice as many with turn_g), every threat as many as the longest",
    ),
    ("threats x assets", f"{MAX_THREAT_ASSET_PAIRS:,}", "threat evaluation is per pair"),
    ("launchers", f"{MAX_LAUNCHERS:,}", "sum over the batteries"),
    ("interceptors", f"{MAX_MISSILES:,}", "launchers x load + reserve, all batteries"),
    (
        "false alarms per scan",
        f"{MAX_FALSE_ALARMS_PER_SCAN:,}",
        "sum of false_alarms_per_scan over the radars",
    ),
]
"""(what, limit, note) rows for the scenario reference."""


def human_seconds(s: float) -> str:
    """A duration in the largest sensible unit, e.g. 'about 3 hours'."""
    for unit, size in (("years", 365.25 * 86_400.0), ("days", 86_400.0), ("hours", 3600.0)):
        if s >= 2.0 * size:
            return f"about {s / size:,.0f} {unit}"
    if s >= 120.0:
        return f"about {s / 60.0:,.0f} minutes"
    return f"about {s:,.0f} s"


def human_bytes(b: float) -> str:
    """A memory size in MB or GB."""
    if b >= 1024.0**3:
        return f"about {b / 1024.0**3:,.1f} GB"
    return f"about {b / 1024.0**2:,.0f} MB"


def path_vertices(r: Raid) -> int:
    """Vertices of a raid's compiled path: `skydome.threats` pads its rows to the largest."""
    if r.route is None:
        return 0
    k = len(r.route) + (2 if r.terminal is not None else 0)  # pop-up start and top
    k += 1 if r.arm is not None else 0  # an ARM's route ends at its radar
    return 2 * k - 2 if r.turn_g is not None else k


def threat_memory_bytes(n_threats: int, vertices: int, turns: bool) -> float:
    """Estimated peak bytes of compiling the threat table (rows padded to `vertices`)."""
    per_vertex = _VERTEX_BYTES + (_TURN_VERTEX_BYTES if turns else 0)
    return _PEAK_FACTOR * n_threats * (_THREAT_BYTES + per_vertex * max(vertices, 2))


def size_problems(s: Scenario) -> list[tuple[tuple[int | str, ...], str]]:
    """Totals over the whole scenario beyond the limits, as (field path, message)."""
    out: list[tuple[tuple[int | str, ...], str]] = []
    run = s.run
    steps = run.duration_s / run.step_s
    if steps > MAX_ENGINE_STEPS:
        out.append((
            ("run", "step_s"),
            f"{steps:,.0f} engine steps (duration_s / step_s = {run.duration_s:g} / "
            f"{run.step_s:g}), over the limit of {MAX_ENGINE_STEPS:,}: at the default "
            f"scenario's pace (1,800 steps in about 1.4 s) the run would take "
            f"{human_seconds(steps * _SECONDS_PER_STEP)}; use a larger step_s or a "
            "shorter duration_s",
        ))  # fmt: skip
    if run.flyout == "guided":
        guidance = run.duration_s / run.guidance_step_s
        if guidance > MAX_GUIDANCE_STEPS:
            out.append((
                ("run", "guidance_step_s"),
                f"{guidance:,.0f} guidance steps (duration_s / guidance_step_s = "
                f"{run.duration_s:g} / {run.guidance_step_s:g}), over the limit of "
                f"{MAX_GUIDANCE_STEPS:,}: with missiles in the air the flyout alone would "
                f"take {human_seconds(guidance * _SECONDS_PER_GUIDANCE_STEP)}; use a larger "
                "guidance_step_s or a shorter duration_s",
            ))  # fmt: skip
    doc = s.doctrine
    if doc.planner == "wta":
        decisions = math.ceil(run.duration_s / max(doc.decision_period_s, run.step_s))
        budget = decisions * doc.wta_time_limit_s
        if budget > MAX_WTA_BUDGET_S:
            out.append((
                ("doctrine", "wta_time_limit_s"),
                f"{decisions:,} decisions x {doc.wta_time_limit_s:g} s allow the WTA solver "
                f"{human_seconds(budget)} in all, over the limit of "
                f"{MAX_WTA_BUDGET_S / 3600:g} hours: use a smaller wta_time_limit_s or a "
                "longer decision_period_s",
            ))  # fmt: skip

    n = sum(r.count for r in s.raids)
    vertices = [path_vertices(r) for r in s.raids]
    widest = max(range(len(vertices)), key=vertices.__getitem__)
    turns = any(r.turn_g is not None for r in s.raids)
    memory = threat_memory_bytes(n, vertices[widest], turns)
    if n > MAX_THREATS:
        out.append((
            ("raids",),
            f"{n:,} threats in {len(s.raids):,} raids (the sum of count), over the limit "
            f"of {MAX_THREATS:,}: compiling them alone would need {human_bytes(memory)} of "
            "memory",
        ))  # fmt: skip
    elif memory > MAX_THREAT_MEMORY_BYTES:
        out.append((
            ("raids", widest, "route"),
            f"{n:,} threats on paths of up to {vertices[widest]:,} vertices (this "
            f"route's{', with turns' if turns else ''}) would need {human_bytes(memory)} of "
            f"memory for the threat table, over the limit of "
            f"{MAX_THREAT_MEMORY_BYTES / 1024**3:g} GB: use fewer waypoints or fewer threats",
        ))  # fmt: skip
    pairs = n * len(s.assets)
    if n <= MAX_THREATS and pairs > MAX_THREAT_ASSET_PAIRS:
        out.append((
            ("assets",),
            f"{n:,} threats x {len(s.assets):,} assets = {pairs:,} pairs, over the limit "
            f"of {MAX_THREAT_ASSET_PAIRS:,}: threat evaluation would need "
            f"{human_bytes(pairs * _PAIR_BYTES)} per decision",
        ))  # fmt: skip

    launchers = sum(b.launchers for b in s.batteries)
    if launchers > MAX_LAUNCHERS:
        out.append((
            ("batteries",),
            f"{launchers:,} launchers in all, over the limit of {MAX_LAUNCHERS:,}",
        ))  # fmt: skip
    missiles = sum(
        b.launchers * sum(b.load.values()) + sum(b.reserve.values()) for b in s.batteries
    )
    if missiles > MAX_MISSILES:
        out.append((
            ("batteries",),
            f"{missiles:,} interceptors in all (launchers x load + reserve), over the "
            f"limit of {MAX_MISSILES:,}",
        ))  # fmt: skip
    alarms = sum(r.false_alarms_per_scan for r in s.radars)
    if alarms > MAX_FALSE_ALARMS_PER_SCAN:
        out.append((
            ("radars",),
            f"{alarms:,.0f} false alarms per scan over all radars, over the limit of "
            f"{MAX_FALSE_ALARMS_PER_SCAN:,}: every one is a detection the tracker must "
            "associate",
        ))  # fmt: skip
    return out
