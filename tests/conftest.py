"""Shared fixtures: a small valid scenario to mutate, built-in scenarios compiled once."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, settings

from skydome.scenario import builtin_text, compile_scenario, load_scenario
from skydome.scenario.compile import SimParams

SMALL = """
name: small
origin: {lat_deg: 0.0, lon_deg: 0.0}
run: {duration_s: 600, step_s: 1.0, seed: 3}
assets:
  - {name: base, position: {east_km: 0, north_km: 0}, value: 10, defended_radius_km: 5}
radars:
  - name: r1
    position: {east_km: 0, north_km: 0}
    mast_height_m: 20
    detection_range_km: 300
    reference_rcs_m2: 1
    max_range_km: 300
    scan_period_s: 2
    sigma_range_m: 30
    sigma_azimuth_mrad: 1
    sigma_elevation_mrad: 1
missiles:
  m1:
    min_range_km: 1
    max_range_km: 120
    max_altitude_km: 25
    average_speed_mps: 1000
    max_target_speed_mps: 3000
    pk: 0.8
batteries:
  - name: b1
    position: {east_km: 0, north_km: 0}
    launchers: 2
    load: {m1: 4}
    fire_channels: {targets: 4, missiles: 8}
raids:
  - name: jets
    type: aircraft
    count: 3
    target: base
    launch_time_s: 0
    launch_spread_s: 30
    rcs_m2: 3
    speed_mps: 250
    route:
      - {east_km: -120, north_km: 0, altitude_m: 5000}
      - {east_km: 0, north_km: 0, altitude_m: 3000}
"""


RUN_SEEDS = settings(
    max_examples=2,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow],
)
"""Hypothesis over whole runs: two seeds, derandomised, no shrinking (a seed is a seed;
shrinking would rerun whole scenarios for minutes)."""


@pytest.fixture()
def small_dict() -> dict[str, Any]:
    """A fresh, mutable copy of the small valid scenario."""
    return copy.deepcopy(yaml.safe_load(SMALL))


def dump(d: dict[str, Any]) -> str:
    """Scenario dict to YAML text."""
    return yaml.safe_dump(d, sort_keys=False)


@pytest.fixture(scope="session")
def default_params() -> SimParams:
    """The built-in default scenario, compiled."""
    return compile_scenario(load_scenario("default"))


@pytest.fixture(scope="session")
def default_text() -> str:
    """YAML text of the built-in default scenario."""
    return builtin_text("default")
