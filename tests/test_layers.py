"""The import-layer contract (pyproject.toml, [tool.importlinter]) holds, and bites.

`lint-imports` runs in a subprocess on the checkout's `src/`; then on copies of
the package with one upward import or one cycle injected, each of which must
break the contract -- so an exception list that grew too wide, or a layer
dropped from the config, shows up here rather than in review.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"


def _lint_imports() -> str:
    exe = Path(sys.executable).with_name("lint-imports")
    found = str(exe) if exe.exists() else shutil.which("lint-imports")
    if found is None:
        pytest.skip("import-linter is not installed (pip install -e '.[test]')")
    return found


def _run(root: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` with `root/pyproject.toml`, `skydome` imported from `root/src`."""
    env = {**os.environ, "PYTHONPATH": str(root / "src")}
    return subprocess.run(
        [_lint_imports(), "--no-cache", "--no-logo"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_contract_is_kept() -> None:
    out = _run(ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "BROKEN" not in out.stdout
    assert "0 broken" in out.stdout


INJECTIONS = [
    # (module to edit, line to append, contract that must break)
    ("geo.py", "import skydome.cli", "Layers"),
    ("constants.py", "import skydome.geo", "Layers"),
    ("tracking/kalman.py", "import skydome.engagement.geometry", "Layers"),
    ("sensors/radar.py", "import skydome.threats", "Layers"),
    ("engagement/geometry.py", "import skydome.scenario.compile", "Layers"),
    ("engagement/geometry.py", "import pydantic", "never read the schema"),
    ("sensors/base.py", "import skydome.sensors.radar", "No import cycles"),
]


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    INJECTIONS,
    ids=[f"{m}:{line.split()[-1]}" for m, line, _ in INJECTIONS],
)
def test_contract_breaks_on_injected_import(
    tmp_path: Path, module: str, line: str, contract: str
) -> None:
    shutil.copytree(
        ROOT / "src" / "skydome",
        tmp_path / "src" / "skydome",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    shutil.copy(PYPROJECT, tmp_path / "pyproject.toml")
    target = tmp_path / "src" / "skydome" / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{line}  # injected\n")
    out = _run(tmp_path)
    assert out.returncode != 0, out.stdout
    broken = out.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken, out.stdout
