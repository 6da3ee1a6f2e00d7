"""The metrics registry: every study metric declared once, everything else derived.

A `Metric` has a name, a column type (replication metrics) or none (summary
statistics computed across replications), a label, and an estimator. From
the registry come the columns of `replications.parquet` (`metric_columns`),
the values of one row (`replication_row`), the per-cell estimates in
`summary.json` and `summary.parquet` (`cell_estimates`), and the labels of
the command-line tables and of the study report (`label`).

Per-type metrics are families: ``fired.{}`` has one column per missile type,
``killed.{}`` one per threat type, ``damage.{}`` one per asset. Names in the
scenario cannot contain dots, so the dotted column names are unambiguous.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from skydome.scenario import SimParams
from skydome.scenario.compile_identification import KINDS
from skydome.stats import Estimate, mean_estimate, proportion_estimate, ratio_estimate

__all__ = [
    "COLUMN_METRICS",
    "PROPORTIONS",
    "SUMMARY_METRICS",
    "Metric",
    "Row",
    "cell_estimates",
    "label",
    "metric_columns",
    "replication_row",
    "summary_metric_names",
]

Row = dict[str, Any]
F64Array = np.ndarray[Any, np.dtype[np.float64]]
Estimator = Literal["wilson", "t", "delta"]
Per = Literal["missile", "threat_type", "asset", "radar", "side"]
Columns = Callable[[str], F64Array]
"""Column name -> the cell's values of that column (nan where undefined)."""


@dataclass(frozen=True)
class Metric:
    """One study metric.

    Attributes:
        name: column or summary key; ``"fired.{}"`` for a family, one per item.
        label: how tables and reports name it; ``{}`` takes the item's name.
        estimator: how a cell's summary estimates it: ``"wilson"`` (a proportion),
            ``"t"`` (a mean), ``"delta"`` (a ratio of means); None: not summarised.
        dtype: the replication column's type; None for a summary statistic.
        per: a family's items: ``"missile"``, ``"threat_type"``, ``"asset"``,
            ``"radar"`` (radars only in a scenario with emission control or
            anti-radiation missiles: no column otherwise) or ``"side"`` (hostile,
            decoy, friendly: only in a scenario with an identification).
        value: a replication's value from its run summary (a family: item -> value).
        statistic: a summary statistic's estimate from the cell's columns.
    """

    name: str
    label: str
    estimator: Estimator | None
    dtype: pa.DataType | None = None
    per: Per | None = None
    value: Callable[[Mapping[str, Any]], Any] | None = None
    statistic: Callable[[Columns, float], Estimate] | None = None

    def names(self, params: SimParams) -> tuple[str, ...]:
        """The column names of this metric for a scenario (one, or one per item)."""
        if self.per is None:
            return (self.name,)
        items = {
            "missile": params.missiles.names,
            "threat_type": params.threats.type_names,
            "asset": params.assets.names,
            "radar": params.radars.names if params.emission is not None else (),
            "side": KINDS if params.identity is not None else (),
        }[self.per]
        return tuple(self.name.format(it) for it in items)


def _by_type(s: Mapping[str, Any]) -> list[dict[str, Any]]:
    return list(s["threats"]["by_type"])


def _damage(s: Mapping[str, Any]) -> float:
    total = sum(a["value"] for a in s["assets"])
    left = sum(a["value_left"] for a in s["assets"])
    return round(1.0 - left / total, 9) if total else 0.0


def _radars(s: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per-radar rows of the summary (none without emission control or ARMs)."""
    return list(s.get("radars", {}).get("by_radar", []))


def _sides(s: Mapping[str, Any], key: str) -> dict[str, int]:
    """Per side (hostile, decoy, friendly) a count of the summary's identification block."""
    ident = s.get("identification")
    return {} if ident is None else {k: ident[k][key] for k in KINDS}


def _kill_fraction(s: Mapping[str, Any]) -> float | None:
    th = s["threats"]
    return th["killed"] / th["count"] if th["count"] else None


_I64, _F64 = pa.int64(), pa.float64()

COLUMN_METRICS: tuple[Metric, ...] = (
    Metric("threats", "threats in the raid", None, _I64, value=lambda s: s["threats"]["count"]),
    Metric("killed", "threats killed", "t", _I64, value=lambda s: s["threats"]["killed"]),
    Metric("leaked", "leakers", "t", _I64, value=lambda s: s["threats"]["leaked"]),
    Metric(
        "airborne_at_end", "airborne at the end", "t", _I64,
        value=lambda s: s["threats"]["airborne_at_end"],
    ),
    Metric(
        "detected", "threats detected", "t", _I64,
        value=lambda s: sum(t["detected"] for t in _by_type(s)),
    ),
    Metric(
        "engaged", "threats engaged", "t", _I64,
        value=lambda s: sum(t["engaged"] for t in _by_type(s)),
    ),
    Metric("kill_fraction", "fraction of threats killed", "t", _F64, value=_kill_fraction),
    Metric("fired", "missiles fired", "t", _I64, value=lambda s: s["missiles"]["fired"]),
    Metric(
        "fired.{}", "missiles fired: {}", "t", _I64, "missile",
        value=lambda s: {m["type"]: m["fired"] for m in s["missiles"]["by_type"]},
    ),
    Metric(
        "kills.{}", "kills by {}", "t", _I64, "missile",
        value=lambda s: {m["type"]: m["kills"] for m in s["missiles"]["by_type"]},
    ),
    Metric(
        "killed.{}", "{} killed", "t", _I64, "threat_type",
        value=lambda s: {t["type"]: t["killed"] for t in _by_type(s)},
    ),
    Metric(
        "leaked.{}", "{} leaked", "t", _I64, "threat_type",
        value=lambda s: {t["type"]: t["leaked"] for t in _by_type(s)},
    ),
    Metric("damage", "damage (share of asset value)", "t", _F64, value=_damage),
    Metric(
        "damage.{}", "damage to {}", "t", _F64, "asset",
        value=lambda s: {a["name"]: a["damage_fraction"] for a in s["assets"]},
    ),
    Metric(
        "first_detection_s", "first detection (s)", "t", _F64,
        value=lambda s: s["first_detection_s"],
    ),
    Metric(
        "first_launch_s", "first launch (s)", "t", _F64, value=lambda s: s["first_launch_s"]
    ),
    Metric(
        "radar_destroyed.{}", "{} destroyed", "t", _I64, "radar",
        value=lambda s: {r["name"]: int(r["destroyed_s"] is not None) for r in _radars(s)},
    ),
    Metric(
        "radar_off_s.{}", "{} silent (s)", "t", _F64, "radar",
        value=lambda s: {r["name"]: r["off_s"] for r in _radars(s)},
    ),
    Metric(
        "rounds_at.{}", "rounds fired at: {}", "t", _I64, "side",
        value=lambda s: _sides(s, "rounds"),
    ),
    Metric(
        "killed_side.{}", "killed, side: {}", "t", _I64, "side",
        value=lambda s: _sides(s, "killed"),
    ),
)  # fmt: skip
"""Replication metrics, in column order: counts, fractions, per type and asset, times."""

SUMMARY_METRICS: tuple[Metric, ...] = (
    Metric(
        "p_no_leaker", "P(no leaker)", "wilson",
        statistic=lambda col, conf: proportion_estimate(col("leaked") == 0, conf),
    ),
    Metric(
        "p_raid_annihilated", "P(raid annihilated)", "wilson",
        statistic=lambda col, conf: proportion_estimate(col("killed") == col("threats"), conf),
    ),
    Metric(
        "missiles_per_kill", "missiles per kill", "delta",
        statistic=lambda col, conf: ratio_estimate(col("fired"), col("killed"), conf),
    ),
)  # fmt: skip
"""Statistics over a cell's replications, reported before the means of the columns."""

PROPORTIONS: dict[str, str] = {
    "p_no_leaker": "no threat leaked",
    "p_raid_annihilated": "every threat was killed",
}
"""Per-replication events whose probability the study summary estimates (Wilson)."""

_BY_NAME = {m.name: m for m in (*SUMMARY_METRICS, *COLUMN_METRICS)}


def label(name: str) -> str:
    """How tables and reports name metric `name` (``fired.40N6`` -> ``missiles fired: 40N6``)."""
    m = _BY_NAME.get(name)
    if m is not None:
        return m.label
    head, _, item = name.partition(".")
    fam = _BY_NAME.get(f"{head}.{{}}")
    return fam.label.format(item) if item and fam is not None else name


def metric_columns(params: SimParams) -> tuple[tuple[str, pa.DataType], ...]:
    """The metric columns of a replication row for a scenario, in order, with their types.

    Counts per replication: `threats`, `killed`, `leaked`, `airborne_at_end`,
    `detected`, `engaged`, `fired`; `kill_fraction` (killed / threats);
    `fired.TYPE` and `kills.TYPE` per missile type; `killed.TYPE` and
    `leaked.TYPE` per threat type; `damage` (fraction of the total asset value
    destroyed) and `damage.ASSET` per asset; `first_detection_s` and
    `first_launch_s` (null: never); with emission control or ARMs,
    `radar_destroyed.RADAR` (0/1) and `radar_off_s.RADAR` (time silent) per radar;
    with an identification, `rounds_at.SIDE` (missiles launched at hostile, decoy
    and friendly aircraft) and `killed_side.SIDE` (`killed_side.friendly`: fratricide).
    """
    cols: list[tuple[str, pa.DataType]] = []
    for m in COLUMN_METRICS:
        assert m.dtype is not None
        cols += [(name, m.dtype) for name in m.names(params)]
    return tuple(cols)


def replication_row(summary: Mapping[str, Any]) -> Row:
    """The metric columns of one replication, from `skydome.results.summarize(result)`.

    Args:
        summary: the run summary.

    Returns:
        Column name -> value, in the order of `metric_columns`.
    """
    row: Row = {}
    for m in COLUMN_METRICS:
        assert m.value is not None
        v = m.value(summary)
        if m.per is None:
            row[m.name] = v
        else:
            row.update({m.name.format(k): x for k, x in v.items()})
    return row


def _column(rows: Sequence[Row], name: str) -> F64Array:
    return np.array(
        [np.nan if r.get(name) is None else float(r[name]) for r in rows], dtype=np.float64
    )


def cell_estimates(
    rows: Sequence[Row],
    columns: Sequence[str],
    confidence: float = 0.95,
) -> dict[str, Estimate]:
    """The study summary of one cell: every metric with its confidence interval.

    The `SUMMARY_METRICS` first (`p_no_leaker` and `p_raid_annihilated`:
    Wilson; `missiles_per_kill`, total fired over total kills: delta method),
    then the mean (t) of every summarised column, over the replications where
    it is defined (`first_launch_s` only where a missile was launched).

    Args:
        rows: the cell's replication rows.
        columns: the metric column names to summarise.
        confidence: nominal coverage of the intervals.

    Returns:
        Metric name -> estimate, summary statistics first.
    """
    cache: dict[str, F64Array] = {}

    def col(name: str) -> F64Array:
        if name not in cache:
            cache[name] = _column(rows, name)
        return cache[name]

    out: dict[str, Estimate] = {}
    for m in SUMMARY_METRICS:
        assert m.statistic is not None
        out[m.name] = m.statistic(col, confidence)
    for c in columns:
        if _summarised(c) and c not in out:
            out[c] = mean_estimate(col(c), confidence)
    return out


def _summarised(column: str) -> bool:
    m = _BY_NAME.get(column) or _BY_NAME.get(column.partition(".")[0] + ".{}")
    return m is None or m.estimator is not None


def summary_metric_names(columns: Sequence[str]) -> tuple[str, ...]:
    """Every metric name a study summary reports, for these replication columns."""
    return (*(m.name for m in SUMMARY_METRICS), *(c for c in columns if _summarised(c)))
