"""The `skydome` Typer application and its consoles, shared by the command modules."""

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
