"""The `skydome` Typer application and its consoles, shared by the command modules.

Start-up cost matters here: `skydome --help` and `skydome --version` import
typer and rich only. Command modules import numpy, pandas, scipy and the
engine inside the commands that need them.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

__all__ = ["ScenarioArg", "app", "err", "out"]

app = typer.Typer(
    name="skydome",
    help="Fast, open air-defence engagement simulator (synthetic worlds, public figures).",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
out = Console()
"""Results: stdout."""
err = Console(stderr=True)
"""Progress and errors: stderr."""

ScenarioArg = Annotated[
    str, typer.Argument(help="Scenario file, or the name of a built-in scenario.")
]


def _print_version(value: bool) -> None:
    if value:
        from skydome import __version__

        out.print(f"skydome {__version__}", markup=False, highlight=False)
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print the version and exit.",
            callback=_print_version,
            is_eager=True,
        ),
    ] = False,
) -> None:
    """Fast, open air-defence engagement simulator (synthetic worlds, public figures)."""
