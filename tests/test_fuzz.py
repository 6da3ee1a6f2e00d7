"""The CLI fuzz test (`tests/fuzz_cli.py`), run in a child process under limits.

The child pytest gets an address-space limit and a wall-clock timeout: an input
that makes a command allocate without bound, or hang, fails this test instead
of taking the machine (or CI) down with it.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

MEMORY_LIMIT = 6 << 30
"""Address space of the child (bytes); a default run needs well under 1 GiB."""
TIMEOUT_S = 600


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def test_cli_fuzz_within_memory_and_time(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "COLUMNS": "100", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
         "--rootdir", str(root), str(root / "tests" / "fuzz_cli.py")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=TIMEOUT_S,
        preexec_fn=_limit,
    )  # fmt: skip
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-3000:]
    assert " passed" in r.stdout and "failed" not in r.stdout, r.stdout[-2000:]
