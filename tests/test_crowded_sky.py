"""The crowded-sky built-in: decoys, friendly traffic, IFF and rules of engagement (issue 15).

The data test checks the design from the YAML alone (friendly routes never
inbound to a defended asset, decoys in the strike wave's profile); the run
tests check the engagement invariants over seeds and flyouts, the rules of
engagement as variants, and that the command line runs it end to end.
"""

from __future__ import annotations

import json
import math
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


def test_the_design_from_the_yaml() -> None:
    """Friendly legs never point inside a defended radius; decoys fly the strike profile."""
    d = _data()
    kinds = {r["name"]: r.get("kind", "hostile") for r in d["raids"]}
    assert set(kinds.values()) == {"hostile", "decoy", "friendly"}
    assets = d["assets"]
    for r in d["raids"]:
        if r.get("kind") != "friendly":
            continue
        assert "target" not in r
        pts = [(w["east_km"], w["north_km"]) for w in r["route"]]
        for (x0, y0), (x1, y1) in zip(pts, pts[1:], strict=False):
            pos = np.array([[x0 * 1e3, y0 * 1e3, 0.0]])
            vel = np.array([[x1 - x0, y1 - y0, 0.0]])
            for a in assets:
                ax, ay = a["position"]["east_km"], a["position"]["north_km"]
                # straight-leg closest approach, by hand, well outside every radius
                t = max(
                    0.0,
                    ((ax - x0) * (x1 - x0) + (ay - y0) * (y1 - y0))
                    / ((x1 - x0) ** 2 + (y1 - y0) ** 2),
                )
                t = min(t, 1.0)
                cpa = math.hypot(x0 + t * (x1 - x0) - ax, y0 + t * (y1 - y0) - ay)
                assert cpa > 3 * a["defended_radius_km"], (r["name"], cpa)
            p = _params()
            assert not inbound(pos, vel, p.assets).any()
    strike = next(r for r in d["raids"] if r["name"] == "strike-wave")
    decoy = next(r for r in d["raids"] if r.get("kind") == "decoy")
    assert decoy["rcs_m2"] == strike["rcs_m2"] and decoy["speed_mps"] == strike["speed_mps"]
    assert "source" in decoy and "source" in d["identification"]["iff"]


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
    """Friendly routes are never inbound (test above): none is hostile, none engaged."""
    r = simulate(_params(rules_of_engagement="weapons_tight"), seed=seed)
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
