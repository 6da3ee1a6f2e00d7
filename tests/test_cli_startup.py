"""The CLI answers at once: help, version and validation import only what they need.

Start-up *time* is measured by benchmarks/bench_cli.py; here we check its cause,
which does not depend on how busy the machine is: the modules imported.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("numpy", "scipy", "pandas", "pyarrow", "matplotlib", "numba", "skydome.engine")

PROBE = """
import sys
sys.argv = ["skydome", *sys.argv[1:]]
from skydome.cli import main
try:
    main()
except SystemExit as e:
    code = e.code
else:
    code = 0
print("HEAVY:" + ",".join(m for m in {heavy!r} if m in sys.modules), file=sys.stderr)
"""


def _imports(*args: str) -> tuple[set[str], subprocess.CompletedProcess[str]]:
    r = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    line = [x for x in r.stderr.splitlines() if x.startswith("HEAVY:")][-1]
    return {m for m in line[len("HEAVY:") :].split(",") if m}, r


@pytest.mark.parametrize(
    "args", [["--help"], ["--version"], ["run", "--help"], ["wta", "--help"]], ids=" ".join
)
def test_help_and_version_import_no_heavy_library(args: list[str]) -> None:
    heavy, r = _imports(*args)
    assert r.returncode == 0, r.stderr
    assert heavy == set(), f"`skydome {' '.join(args)}` imported {sorted(heavy)}"


def test_validate_and_scenarios_do_not_import_the_engine_or_tables() -> None:
    for args in (["validate", "default"], ["scenarios"]):
        heavy, r = _imports(*args)
        assert r.returncode == 0, r.stderr
        assert heavy <= {"numpy"}, f"`skydome {' '.join(args)}` imported {sorted(heavy)}"


def test_version_matches_the_package_metadata() -> None:
    from importlib.metadata import version

    import skydome

    r = subprocess.run(
        [sys.executable, "-m", "skydome", "--version"], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0
    assert r.stdout.strip() == f"skydome {version('skydome')}" == f"skydome {skydome.__version__}"


def test_importing_the_study_package_does_not_load_the_engine() -> None:
    """`skydome.study` exports lazily: a report reading `label` pays for the metrics only."""
    code = (
        "import sys; import skydome.study; from skydome.study import label, MANIFEST_FORMAT; "
        "print(','.join(m for m in ('skydome.engine', 'skydome.tracking.gnn', "
        "'skydome.study.executors', 'skydome.study.runner', 'dask') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
