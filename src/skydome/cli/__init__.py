"""The `skydome` command.

Each module registers its commands on the shared Typer app. Bad input never
shows a traceback: every `UserError` is printed as one message on stderr and
the command exits with code 2.
"""

from __future__ import annotations

import sys

from skydome.cli import missiles as _missiles  # noqa: F401  (registers its commands)
from skydome.cli import report as _report  # noqa: F401
from skydome.cli import run as _run  # noqa: F401
from skydome.cli import study as _study  # noqa: F401
from skydome.cli import systems as _systems  # noqa: F401
from skydome.cli import track as _track  # noqa: F401
from skydome.cli import wta as _wta  # noqa: F401
from skydome.cli._app import app, err
from skydome.errors import UserError

__all__ = ["app", "main"]


def main() -> None:
    """Entry point: run the app, turning user errors into exit code 2."""
    try:
        app()
    except UserError as e:
        err.print(str(e), markup=False, highlight=False, soft_wrap=True)
        sys.exit(2)
