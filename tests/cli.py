"""Run the `skydome` command as a user meets it: a real process, a clean environment."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

__all__ = ["SKYDOME", "sky"]

SKYDOME = [sys.executable, "-m", "skydome"]
"""The command line that starts skydome from the test's interpreter."""

CLEAN_ENV = {"COLUMNS": "200", "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"}
"""Wide enough that messages are not wrapped; nothing inherited from the caller."""


def sky(
    *args: str,
    cwd: Path | None = None,
    timeout: float = 300.0,
    inherit_env: bool = False,
    memory_limit: int | None = None,
) -> subprocess.CompletedProcess[str]:
    """`skydome ARGS...` in a subprocess, output captured as text.

    Args:
        args: the command's arguments.
        cwd: working directory.
        timeout: seconds before the test fails instead of hanging.
        inherit_env: keep the caller's environment (plus COLUMNS) instead of a clean one.
        memory_limit: address-space limit of the process, bytes (None: none), so a
            regression that allocates without bound fails fast.
    """

    def limit() -> None:
        if memory_limit is not None:
            resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))

    return subprocess.run(
        [*SKYDOME, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "200"} if inherit_env else CLEAN_ENV,
        preexec_fn=limit if memory_limit is not None else None,
    )
