"""Fuzz the CLI's input edges: every outcome is exit 0, or exit 2 with a clear message.

Run by `tests/test_fuzz.py` in a child pytest under memory and time limits, so a
regression that eats the machine fails the test instead. `hypothesis` mutates
the built-in scenarios, a detections table and WTA instances, and drives them
through the commands in-process (`validate`, `run`, `track`, `wta`). For every
example:

- the command exits 0, or exits 2 with a `UserError` whose message names the
  file (never another exception: that is a traceback for a user);
- on exit 2 no output is left behind (no file, no directory, no temp files);
  on exit 0 the output is complete;
- it finishes within the example deadline.

The examples are derandomised so CI is reproducible; set
`SKYDOME_FUZZ_EXAMPLES=500` (and `SKYDOME_FUZZ_RANDOM=1`) to fuzz harder locally.
"""

from __future__ import annotations

import copy
import json
import math
import os
import tempfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from skydome.cli import app
from skydome.errors import UserError
from skydome.scenario import builtin_names, builtin_text
from tests.conftest import SMALL

EXAMPLES = int(os.environ.get("SKYDOME_FUZZ_EXAMPLES", "60"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=timedelta(seconds=20),
    derandomize=not os.environ.get("SKYDOME_FUZZ_RANDOM"),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)

# Values that have broken parsers before: non-finite and absurd numbers, huge
# integers, markup and HTML in text, placeholders, deep nesting, wrong types.
SPECIAL_FLOATS = [math.nan, math.inf, -math.inf, 1e300, -1e300, 1e-300, 1e-9, 0.0, -1.0, 1e29]
SPECIAL_TEXT = [
    "",
    " ",
    "[red]demo",
    "cruise [/] missile",
    "__DATA__",
    "<img src=x onerror=alert(1)>",
    "{{ 7*7 }}",
    "1e9",
    "nan",
    "a" * 300,
]


def _deep(depth: int) -> Any:
    x: Any = 0
    for _ in range(depth):
        x = [x]
    return x


JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from(SPECIAL_FLOATS),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(SPECIAL_TEXT),
    st.text(max_size=12),
    st.lists(st.integers(min_value=-5, max_value=5), max_size=3),
    st.dictionaries(st.sampled_from(["a", "name", "x"]), st.integers(), max_size=2),
    st.sampled_from([40, 200, 3000]).map(_deep),
)
SCALE = st.sampled_from([0.0, -1.0, 1e-9, 1e-3, 10.0, 1e6, 1e12, 1e300])


def _children(node: Any) -> list[Any]:
    if isinstance(node, dict):
        return list(node)
    if isinstance(node, list):
        return list(range(len(node)))
    return []


def mutate(data: st.DataObject, doc: Any) -> Any:
    """Apply one random mutation somewhere in a YAML/JSON-like document; return the root."""
    parent: Any = None
    key: Any = None
    node = doc
    while children := _children(node):
        descend: bool = data.draw(st.booleans(), label="descend")
        if not descend:
            break
        parent, key = node, data.draw(st.sampled_from(children), label="child")
        node = node[key]
    op = data.draw(st.sampled_from(["replace", "delete", "extra", "scale", "duplicate"]))
    if op == "replace" or parent is None and op in ("delete", "scale"):
        value = data.draw(JUNK, label="junk")
        if parent is None:
            return value
        parent[key] = value
    elif op == "delete":
        del parent[key]
    elif op == "extra" and isinstance(node, dict):
        node[data.draw(st.sampled_from(["nmae", "speed_kmh", "extra", "<b>"]))] = 1
    elif op == "scale" and isinstance(node, int | float) and not isinstance(node, bool):
        with np.errstate(all="ignore"):
            parent[key] = float(node) * data.draw(SCALE, label="scale")
    elif op == "duplicate" and isinstance(node, list) and node:
        # Shared, not copied: YAML writes them as anchors and aliases, which loaders must bound.
        node.extend(node[:1] * data.draw(st.sampled_from([1, 5, 1000])))
    return doc


def mutated(data: st.DataObject, doc: Any) -> Any:
    doc = copy.deepcopy(doc)
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        doc = mutate(data, doc)
    return doc


def invoke(args: list[str]) -> tuple[int, str]:
    """Run a command in-process as `skydome.cli.main` would: (exit code, message)."""
    r = CliRunner().invoke(app, args, catch_exceptions=True)
    if isinstance(r.exception, UserError):
        return 2, str(r.exception)
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        raise r.exception  # a traceback a user would see: the fuzz test fails here
    return r.exit_code, r.output


def _listing(d: Path) -> set[str]:
    return {str(p.relative_to(d)) for p in d.rglob("*")}


def check(args: Callable[[Path], list[str]], inputs: dict[str, str | bytes], out: str) -> int:
    """Write `inputs` to a fresh directory, run the command; check the outcome's rules."""
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        for name, body in inputs.items():
            if isinstance(body, bytes):
                (d / name).write_bytes(body)
            else:
                (d / name).write_text(body, encoding="utf-8")
        before = _listing(d)
        code, msg = invoke(args(d))
        event(f"exit {code}")
        assert code in (0, 2), f"exit {code}: {msg}"
        made = _listing(d) - before
        if code == 2:
            assert "Traceback" not in msg
            assert any(name in msg for name in inputs) or "--" in msg, msg
            assert not made, f"exit 2 left {sorted(made)} behind: {msg}"
        elif out:
            assert out in made, f"exit 0 but {out} was not written"
            # Temp files and locks live beside the output; none may outlive the command.
            hidden = [m for m in made if "/" not in m and m.startswith(".")]
            assert not hidden, f"temp files left behind: {hidden}"
        return code


def _yaml(doc: Any) -> str:
    try:
        return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    except RecursionError:  # our own serialiser, not the code under test
        return "x: " + "[" * 3000 + "]" * 3000 + "\n"


BUILTINS = {name: yaml.safe_load(builtin_text(name)) for name in builtin_names()}
SMALL_DOC = yaml.safe_load(SMALL)


@FUZZ
@given(data=st.data(), name=st.sampled_from(sorted(BUILTINS)))
def test_validate_survives_mutated_scenarios(data: st.DataObject, name: str) -> None:
    text = _yaml(mutated(data, BUILTINS[name]))
    check(lambda d: ["validate", str(d / "s.yaml")], {"s.yaml": text}, "")


def _runnable(doc: Any) -> bool:
    """Small enough to simulate inside the deadline (validation bounds are fuzzed above)."""
    try:
        run = doc["run"]
        steps = float(run["duration_s"]) / float(run["step_s"])
        threats = sum(int(r["count"]) for r in doc["raids"])
    except (KeyError, TypeError, ValueError, OverflowError, ZeroDivisionError):
        return True  # invalid: validation refuses it quickly
    return bool(steps <= 5000 and threats <= 200) or not math.isfinite(steps)


@settings(FUZZ, max_examples=max(EXAMPLES // 3, 5))
@given(data=st.data())
def test_run_survives_mutated_scenarios(data: st.DataObject) -> None:
    doc = mutated(data, SMALL_DOC)
    if not _runnable(doc):
        doc["run"] = dict(SMALL_DOC["run"])
    check(
        lambda d: ["run", str(d / "s.yaml"), "--out", str(d / "out"), "--record-every", "20"],
        {"s.yaml": _yaml(doc)},
        "out",
    )


def _detections() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    t = np.repeat(np.arange(20) * 2.0, 3)
    k = np.tile(np.arange(3), 20)
    pos = np.stack([-50e3 + 250.0 * t + 20e3 * k, 10e3 * k + 0 * t, 5e3 + 0 * t], axis=1)
    pos += rng.normal(0.0, 30.0, pos.shape)
    return pd.DataFrame({"time_s": t, "x_m": pos[:, 0], "y_m": pos[:, 1], "z_m": pos[:, 2]})


DETECTIONS = _detections()
CELL_JUNK = st.one_of(
    st.sampled_from(SPECIAL_FLOATS), st.sampled_from(SPECIAL_TEXT), st.none(), st.booleans()
)


@FUZZ
@given(data=st.data(), fmt=st.sampled_from(["csv", "parquet"]))
def test_track_survives_mutated_detections(data: st.DataObject, fmt: str) -> None:
    df = DETECTIONS.copy()
    for _ in range(data.draw(st.integers(1, 3))):
        col = data.draw(st.sampled_from(list(df.columns) + ["sensor", "sigma_x_m"]))
        op = data.draw(st.sampled_from(["cell", "column", "drop", "datetime", "rows"]))
        if op == "cell" and col in df and len(df):
            row = data.draw(st.integers(0, len(df) - 1))
            df[col] = df[col].astype(object)
            df.loc[row, col] = data.draw(CELL_JUNK)
        elif op == "column":
            df[col] = data.draw(CELL_JUNK)
        elif op == "drop" and col in df:
            df = df.drop(columns=col)
        elif op == "datetime" and col in df:
            df[col] = pd.Timestamp("2026-01-01") + pd.to_timedelta(np.arange(len(df)), unit="s")
        elif op == "rows":
            df = df.iloc[: data.draw(st.sampled_from([0, 1, 2]))]
    name = f"d.{fmt}"
    if fmt == "csv":
        body: str | bytes = df.to_csv(index=False)
    else:
        try:
            with tempfile.NamedTemporaryFile(suffix=".parquet") as f:
                df.to_parquet(f.name)
                body = Path(f.name).read_bytes()
        except (ValueError, TypeError, OverflowError, ImportError):  # pyarrow cannot store it
            body, name = df.to_csv(index=False), "d.csv"
    check(
        lambda d: ["track", str(d / name), "--out", str(d / "t.parquet")], {name: body}, "t.parquet"
    )


WTA_BASE = {
    "values": [100.0, 50.0, 30.0],
    "pk": [[0.8, 0.6, 0.5], [0.7, 0.9, 0.4]],
    "weapon_counts": [2, 3],
    "costs": [1.0, 1.0],
}


@FUZZ
@given(data=st.data(), solver=st.sampled_from(["auto", "exact", "heuristic", "lns"]))
def test_wta_survives_mutated_instances(data: st.DataObject, solver: str) -> None:
    doc = mutated(data, WTA_BASE)
    try:
        text = json.dumps(doc)
    except (ValueError, RecursionError):
        text = "[" * 100_000
    check(
        lambda d: [
            "wta", str(d / "i.json"), "--out", str(d / "r.json"),
            "--solver", solver, "--time-limit", "1",
        ],
        {"i.json": text},
        "r.json",
    )  # fmt: skip
