"""`skydome missiles`: each type's envelope from its own physics, as a user meets it."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.cli import sky
from tests.conftest import SMALL


def test_missiles_prints_every_type_and_writes_the_figure(tmp_path: Path) -> None:
    fig = tmp_path / "env.png"
    r = sky("missiles", "default", "--figure", str(fig))
    assert r.returncode == 0, r.stderr
    for name in ("40N6-class", "48N6-class", "9M96E2-class", "9M96E-class"):
        assert name in r.stdout
    # The tabled figures and their source are shown beside what the physics reaches.
    assert "tabled 400" in r.stdout and "max range public" in r.stdout
    assert "time of flight" in r.stdout
    assert fig.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # Written atomically: no temporary file left beside it.
    assert [p.name for p in tmp_path.iterdir()] == ["env.png"]


def test_a_bad_scenario_exits_2_with_a_message(tmp_path: Path) -> None:
    r = sky("missiles", str(tmp_path / "nope.yaml"), "--figure", str(tmp_path / "f.png"))
    assert r.returncode == 2
    assert "nope.yaml" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "f.png").exists()


def test_a_library_without_physics_exits_2_naming_the_types(tmp_path: Path) -> None:
    f = tmp_path / "small.yaml"
    f.write_text(yaml.safe_dump(yaml.safe_load(SMALL)))
    r = sky("missiles", str(f), "--figure", str(tmp_path / "f.png"))
    assert r.returncode == 2
    assert "m1" in r.stderr and "physics" in r.stderr and "Traceback" not in r.stderr


def test_a_bad_figure_name_exits_2(tmp_path: Path) -> None:
    r = sky("missiles", "--figure", str(tmp_path / "f.txt"))
    assert r.returncode == 2 and ".png" in r.stderr and "Traceback" not in r.stderr
