"""The code stays lint-clean, formatted and type-checked: part of the suite, not a habit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "args",
    [
        ["ruff", "check", "src", "tests", "benchmarks", "examples", "tools"],
        ["ruff", "format", "--check", "src", "tests", "benchmarks", "examples", "tools"],
        ["mypy"],
    ],
    ids=["ruff-check", "ruff-format", "mypy"],
)
def test_tool_is_clean(args: list[str]) -> None:
    res = subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert res.returncode == 0, res.stdout + res.stderr


def test_scenario_reference_is_current() -> None:
    from skydome.scenario.reference import markdown_reference

    doc = (ROOT / "docs" / "scenario.md").read_text(encoding="utf-8")
    assert doc == markdown_reference() + "\n", (
        "docs/scenario.md is stale: run `skydome schema --markdown > docs/scenario.md`"
    )
