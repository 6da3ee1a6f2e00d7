"""The crowded-sky built-in: decoys, friendly traffic, IFF and rules of engagement (issue 15).

The data test checks the design from the YAML alone (friendly routes never
inbound to a defended asset, decoys in the strike wave's profile); the run
tests check the engagement invariants over seeds and flyouts, the rules of
engagement as variants, and that the command line runs it end to end.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from skydome import compile_scenario, simulate
from skydome.engine import RunResult
from skydome.engine.identification import inbound
from skydome.events import EVENT_KINDS
from skydome.results import summarize
from skydome.scenario import builtin_text, load_scenario
from skydome.scenario.compile import SimParams
from skydome.scenario.compile_identification import DECOY, FRIENDLY, HOSTILE
from tests.cli import sky
from tests.conftest import RUN_SEEDS
from tests.test_decoys import launches_at
from tests.test_engine import check_invariants
from tests.test_kill_chain import check_kill_chain

K = {k: i for i, k in enumerate(EVENT_KINDS)}


def _data() -> dict[str, Any]:
    d: dict[str, Any] = yaml.safe_load(builtin_text("crowded-sky"))
    return d


def _params(flyout: str = "kinematic", **ident: Any) -> SimParams:
    s = load_scenario("crowded-sky")
    assert s.identification is not None
    s = s.model_copy(
        update={
            "run": s.run.model_copy(update={"flyout": flyout}),
            "identification": s.identification.model_copy(update=ident),
        }
    )
    return compile_scenario(s)


def _segment_distance_km(
    p: tuple[float, float], a: tuple[float, float], b: tuple[float, float]
) -> float:
    """Ground distance from point p to the segment a-b, km (by hand)."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    f = max(0.0, min(1.0, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / (dx * dx + dy * dy)))
    return math.hypot(a[0] + f * dx - p[0], a[1] + f * dy - p[1])


def test_the_design_from_the_yaml() -> None:
    """Friendly routes stay outside the identification zone; decoys fly the strike profile.

    Every friendly leg (widened by the raid's lateral spread) keeps more than the
    zone plus 3 km from every asset: position errors (under 1 km at these
    ranges) can never bring a friend inside it, so weapons_tight never declares
    one hostile. Each leg is also not inbound on its own heading.
    """
    d = _data()
    kinds = {r["name"]: r.get("kind", "hostile") for r in d["raids"]}
    assert set(kinds.values()) == {"hostile", "decoy", "friendly"}
    zone = d["identification"]["iff"]["hostile_zone_km"]
    p = _params()
    for r in d["raids"]:
        if r.get("kind") != "friendly":
            continue
        assert "target" not in r
        spread = r.get("lateral_spacing_km", 0.0) * (r["count"] - 1) / 2
        pts = [(w["east_km"], w["north_km"]) for w in r["route"]]
        for a, b in zip(pts, pts[1:], strict=False):
            for asset in d["assets"]:
                c = (asset["position"]["east_km"], asset["position"]["north_km"])
                assert _segment_distance_km(c, a, b) - spread > zone + 3.0, (r["name"], a, b)
            pos = np.array([[a[0] * 1e3, a[1] * 1e3, 0.0]])
            vel = np.array([[b[0] - a[0], b[1] - a[1], 0.0]])
            assert not inbound(pos, vel, p.assets).any()
    strike = next(r for r in d["raids"] if r["name"] == "strike-wave")
    decoy = next(r for r in d["raids"] if r.get("kind") == "decoy")
    assert decoy["rcs_m2"] == strike["rcs_m2"] and decoy["speed_mps"] == strike["speed_mps"]
    assert "source" in decoy and "source" in d["identification"]["iff"]
    # the zone leaves time to engage the strike wave before its release point
    assert zone > strike["release_range_km"] + 10


def _check_run(r: RunResult) -> None:
    check_invariants(r)
    check_kill_chain(r)
    ev, ip = r.events, r.params.identity
    assert ip is not None
    # friendlies and decoys never leak and never damage; fratricides are kills of friendlies
    leaked = ev.threat_id[ev.kind == K["leak"]]
    assert (ip.kind[leaked] == HOSTILE).all()
    fr = ev.threat_id[ev.kind == K["fratricide"]]
    killed_friends = ev.threat_id[(ev.kind == K["kill"]) & (ip.kind[ev.threat_id] == FRIENDLY)]
    assert sorted(fr.tolist()) == sorted(killed_friends.tolist())
    s = summarize(r)["identification"]
    assert s["fratricide"] == s["friendly"]["killed"]
    assert s["decoy"]["rounds"] == int(launches_at(r, DECOY).sum())


@pytest.mark.parametrize("flyout", ["kinematic", "guided"])
@RUN_SEEDS
@given(seed=st.integers(0, 2**31 - 1))
def test_crowded_sky_keeps_every_engagement_invariant(flyout: str, seed: int) -> None:
    _check_run(simulate(_params(flyout), seed=seed))


@RUN_SEEDS
@given(seed=st.integers(0, 2**31 - 1))
def test_crowded_sky_under_weapons_tight_engages_no_friendly(seed: int) -> None:
    """Friendly routes stay outside the identification zone (test above): none is hostile.

    So none is engaged, whatever its transponder (failures here 50 %).
    """
    p = _params(rules_of_engagement="weapons_tight")
    assert p.identity is not None
    p = replace(p, identity=replace(p.identity, iff_failure=0.5))
    r = simulate(p, seed=seed)
    assert launches_at(r, FRIENDLY).sum() == 0
    assert launches_at(r, HOSTILE).sum() > 0
    _check_run(r)


def test_crowded_sky_on_hold_launches_nothing() -> None:
    r = simulate(_params(rules_of_engagement="hold"), seed=3)
    assert not (r.events.kind == K["launch"]).any()
    _check_run(r)


def test_crowded_sky_runs_mc_and_reports_from_the_command_line(tmp_path: Path) -> None:
    """`skydome run`, `skydome report`, `skydome mc -n 2 --set ...` and a two-cell sweep."""
    run_dir = tmp_path / "run"
    out = sky("run", "crowded-sky", "--out", str(run_dir), "--seed", "2")
    assert out.returncode == 0, out.stderr
    summary = json.loads((run_dir / "summary.json").read_text())
    assert set(summary["identification"]) == {"hostile", "decoy", "friendly", "fratricide"}
    rep = sky("report", str(run_dir))
    assert rep.returncode == 0, rep.stderr
    html = (run_dir / "report.html").read_text()
    assert '"side":[' in html and '"fratricides":' in html  # friendlies and decoys drawn apart
    assert "recognised decoy" in html
    mc_dir = tmp_path / "mc"
    mc = sky(
        "mc", "crowded-sky", "-n", "2", "-j", "1", "--out", str(mc_dir),
        "--set", "identification.iff.failure_rate=0.5",
        "--set", "identification.rules_of_engagement=weapons_tight",
    )  # fmt: skip
    assert mc.returncode == 0, mc.stderr
    rows = pd.read_parquet(mc_dir / "replications.parquet")
    assert len(rows) == 2
    assert (rows["identification.rules_of_engagement"] == "weapons_tight").all()
    assert (rows["killed.friendly fighter"] == 0).all()  # weapons_tight: no fratricide
    bad = sky("mc", "crowded-sky", "-n", "2", "--set", "identification.iff.failure_rate=0.1,0.2")
    assert bad.returncode == 2 and "give one value" in bad.stderr


def test_study_rows_count_rounds_at_decoys_and_fratricides() -> None:
    """The study columns per side equal the run summary's identification block (rounds at
    decoys, friendlies killed), and exist only in a scenario with an identification."""
    from skydome.study.metrics import metric_columns, replication_row

    p = compile_scenario(load_scenario("crowded-sky"))
    s = summarize(simulate(p, seed=2))
    row = replication_row(s)
    names = [n for n, _ in metric_columns(p)]
    for side in ("hostile", "decoy", "friendly"):
        assert f"rounds_at.{side}" in names and f"killed_side.{side}" in names
        assert row[f"rounds_at.{side}"] == s["identification"][side]["rounds"]
        assert row[f"killed_side.{side}"] == s["identification"][side]["killed"]
    assert row["killed_side.friendly"] == s["identification"]["fratricide"]
    assert row["rounds_at.decoy"] > 0
    plain = [n for n, _ in metric_columns(compile_scenario(load_scenario("default")))]
    assert not any(n.startswith(("rounds_at.", "killed_side.")) for n in plain)


def test_headline_counts_are_of_the_attack_not_decoys_or_friendlies() -> None:
    """Every friendly transponder failed (weapons_free: friends shot down): the summary's
    threats count, kills, leakers and airborne are over hostile raids only; a fratricide
    is no kill, and decoys and friendlies are reported in the identification block."""
    s = load_scenario("crowded-sky")
    ident = s.identification
    assert ident is not None
    iff = ident.iff.model_copy(update={"failure_rate": 1.0})
    s = s.model_copy(update={"identification": ident.model_copy(update={"iff": iff})})
    p = compile_scenario(s)
    r = simulate(p, seed=2)
    summary = summarize(r)
    assert p.identity is not None
    hostile = p.identity.kind == HOSTILE
    killed = np.isfinite(r.kill_time_s)
    th = summary["threats"]
    assert th["count"] == int(hostile.sum()) < p.threats.n
    assert th["killed"] == int((killed & hostile).sum())
    assert summary["identification"]["fratricide"] > 0  # the case the test is about
    assert th["killed"] + th["leaked"] + th["airborne_at_end"] == th["count"]
