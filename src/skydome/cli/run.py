"""Single runs and scenario files: `run`, `validate`, `schema`, `scenarios`, `init`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from skydome.cli._app import ScenarioArg, app, err, out
from skydome.errors import UserError
from skydome.scenario import (
    Scenario,
    builtin_names,
    builtin_text,
    compile_scenario,
    load_scenario,
    resolve_scenario_path,
)

__all__ = ["init", "run", "scenarios", "schema", "validate"]


@app.command()
def run(
    scenario: ScenarioArg = "default",
    seed: Annotated[
        int | None, typer.Option(help="Replication seed (default: the file's).")
    ] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Output directory (default: runs/NAME-sSEED).")
    ] = None,
    record_every: Annotated[
        float,
        typer.Option(
            "--record-every", help="Sample truth and tracks every S seconds (0: off).", min=0.0
        ),
    ] = 5.0,
    report: Annotated[
        bool, typer.Option("--report", help="Also write report.html and the figures.")
    ] = False,
) -> None:
    """Run one replication; print a summary and write the run directory.

    The directory holds summary.json, events.parquet, trajectories.parquet,
    tracks.parquet and scenario.yaml; `skydome report DIR` turns it into a replay.
    """
    from skydome.engine import simulate
    from skydome.results import write_run

    if seed is not None and seed < 0:
        raise UserError(f"--seed: expected a non-negative integer, got {seed}")
    path = resolve_scenario_path(scenario)
    params = compile_scenario(load_scenario(scenario))
    text = path.read_text(encoding="utf-8")
    used_seed = params.seed if seed is None else seed
    target = out_dir if out_dir is not None else Path("runs") / f"{params.name}-s{used_seed}"
    _check_writable(target)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[sim]}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task(f"simulating {params.name}", total=1.0, sim="")

        def progress(f: float) -> None:
            bar.update(task, completed=f, sim=f"t = {f * params.duration_s:,.0f} s")

        result = simulate(
            params,
            seed=used_seed,
            progress=progress,
            record_every_s=record_every if record_every > 0 else None,
        )
    summary = write_run(result, target, scenario_text=text)
    _print_summary(summary)
    out.print(f"wrote {target}/ (summary.json, events.parquet, ...)")
    if report:
        from skydome.report import write_report

        html = write_report(target)
        out.print(f"report: {html}")
    else:
        out.print(f"replay and figures: skydome report {target}")


def _check_writable(target: Path) -> None:
    """Fail before a long run, not after it, when the output cannot be written."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"{target}: cannot create output directory: {e}") from None
    if target.exists() and not target.is_dir():
        raise UserError(f"{target}: exists and is not a directory")


def _print_summary(s: dict[str, Any]) -> None:
    t = Table(
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        title=f"{s['scenario']}  (seed {s['seed']}, {s['duration_s']:g} s simulated)",
        caption="det detected, trk tracked, eng engaged, air still airborne at the end, "
        "km median range at first detection",
    )
    cols = ("count", "detected", "tracked", "engaged", "killed", "leaked", "airborne_at_end")
    heads = ("n", "det", "trk", "eng", "kill", "leak", "air")
    t.add_column("threat type", no_wrap=True)
    for h in heads:
        t.add_column(h, justify="right")
    t.add_column("km", justify="right")
    for row in s["threats"]["by_type"]:
        km = row["median_detection_range_km"]
        t.add_row(row["type"], *(str(row[c]) for c in cols), "-" if km is None else f"{km:.0f}")
    tot = s["threats"]
    t.add_row(
        "all",
        str(tot["count"]),
        *(str(sum(r[c] for r in tot["by_type"])) for c in cols[1:]),
        "",
        style="bold",
    )
    out.print(t)
    m = Table(title="interceptors")
    for c in ("type", "start", "fired", "kills", "left"):
        m.add_column(c, justify="left" if c == "type" else "right")
    for row in s["missiles"]["by_type"]:
        m.add_row(
            row["type"], str(row["start"]), str(row["fired"]), str(row["kills"]), str(row["left"])
        )
    out.print(m)
    a = Table(title="defended assets")
    for c in ("asset", "value", "value left", "damage"):
        a.add_column(c, justify="left" if c == "asset" else "right")
    for row in s["assets"]:
        a.add_row(
            row["name"],
            f"{row['value']:g}",
            f"{row['value_left']:.1f}",
            f"{row['damage_fraction']:.0%}",
        )
    out.print(a)

    def ts(x: float | None) -> str:
        return "never" if x is None else f"{x:g} s"

    per_kill = s["missiles"]["per_kill"]
    out.print(
        f"first detection {ts(s['first_detection_s'])}, first launch {ts(s['first_launch_s'])}, "
        f"missiles per kill {'-' if per_kill is None else f'{per_kill:.2f}'}"
    )


@app.command()
def validate(file: Annotated[str, typer.Argument(help="Scenario file to check.")]) -> None:
    """Check a scenario file; report every problem with its field path and line."""
    s = load_scenario(file)
    params = compile_scenario(s)
    out.print(
        f"{file}: ok -- {params.threats.n} threats in {len(s.raids)} raids, "
        f"{params.radars.n} radars, {len(s.batteries)} batteries, "
        f"{int(params.batteries.inventory.sum())} interceptors"
    )


@app.command()
def schema(
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print the Markdown reference instead.")
    ] = False,
) -> None:
    """Print the scenario JSON Schema (for editor completion and validation)."""
    if markdown:
        from skydome.scenario.reference import markdown_reference

        sys.stdout.write(markdown_reference() + "\n")
        return
    sys.stdout.write(json.dumps(Scenario.model_json_schema(), indent=2) + "\n")


@app.command()
def scenarios() -> None:
    """List the built-in scenarios."""
    t = Table(title="built-in scenarios")
    t.add_column("name")
    t.add_column("description")
    for name in builtin_names():
        s = load_scenario(name)
        t.add_row(name, s.description)
    out.print(t)


@app.command()
def init(
    name: Annotated[str, typer.Argument(help="Built-in scenario to copy.")],
    path: Annotated[
        Path | None, typer.Argument(help="Where to write it (default NAME.yaml).")
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Write a built-in scenario out as an editable starting point."""
    if name not in builtin_names():
        raise UserError(
            f"{name}: not a built-in scenario (built-ins: {', '.join(builtin_names())})"
        )
    target = path if path is not None else Path(f"{name}.yaml")
    if target.exists() and not force:
        raise UserError(f"{target}: already exists (use --force to overwrite)")
    from skydome.results import write_atomic_file

    write_atomic_file(target, builtin_text(name))
    out.print(
        f"wrote {target}; edit it, then `skydome validate {target}` and `skydome run {target}`"
    )
