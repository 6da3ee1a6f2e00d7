"""Single runs and scenario files: `run`, `validate`, `schema`, `scenarios`, `init`."""

from __future__ import annotations

import json
import math
import shlex
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from skydome.cli._app import ScenarioArg, app, err, out
from skydome.cli.systems import Systems
from skydome.errors import UserError
from skydome.scenario.builtin import builtin_names, builtin_text

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
    force: Annotated[
        bool,
        typer.Option("--force", help="Replace an earlier run in --out (as a whole; nothing else)."),
    ] = False,
    save_detections: Annotated[
        bool,
        typer.Option(
            "--save-detections",
            help="Also write detections.parquet (every radar detection; `skydome track` input).",
        ),
    ] = False,
    system: Systems = None,
) -> None:
    """Run one replication; print a summary and write the run directory.

    The directory holds summary.json, events.parquet, trajectories.parquet,
    tracks.parquet and scenario.yaml; `skydome report DIR` turns it into a replay.
    It is written as a whole: a new or empty directory, or with --force an earlier
    run's directory, which is then replaced entirely.
    """
    from skydome.engine import simulate
    from skydome.io import staged_run_dir
    from skydome.results import write_run_files
    from skydome.scenario import compile_scenario, load_scenario, resolve_scenario_path

    if seed is not None and seed < 0:
        raise UserError(f"--seed: expected a non-negative integer, got {seed}")
    path = resolve_scenario_path(scenario)
    loaded = load_scenario(scenario)
    text = path.read_text(encoding="utf-8")
    if system:  # system templates at the scenario's sites; the run keeps the expanded file
        from skydome.scenario.system_swap import with_systems

        loaded, text = with_systems(loaded, system, scenario)
    params = compile_scenario(loaded)
    _check_recording(params.threats.n, params.duration_s, params.step_s, record_every)
    used_seed = params.seed if seed is None else seed
    target = out_dir if out_dir is not None else Path("runs") / f"{params.name}-s{used_seed}"
    # Checks the output, takes its lock and makes the staging directory before simulating.
    with staged_run_dir(target, force=force) as staging:
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[sim]}"),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        ) as bar:
            task = bar.add_task(f"simulating {escape(params.name)}", total=1.0, sim="")

            def progress(f: float) -> None:
                bar.update(task, completed=f, sim=f"t = {f * params.duration_s:,.0f} s")

            result = simulate(
                params,
                seed=used_seed,
                progress=progress,
                record_every_s=record_every if record_every > 0 else None,
                record_detections=save_detections,
            )
        summary = write_run_files(result, staging.path, text, detections=save_detections)
        staging.commit()
        _print_summary(summary)
        _plain(f"wrote {target}/ (summary.json, events.parquet, ...)")
        if report:
            from skydome.report import write_report

            html = write_report(target)
            _plain(f"report: {html}")
        else:
            _plain(f"replay and figures: skydome report {shlex.quote(str(target))}")


MAX_SAMPLE_ROWS = 20_000_000
"""Truth rows that `--record-every` may ask for (tracks as many again): ~2 GB in memory."""


def _check_recording(n_threats: int, duration_s: float, step_s: float, every_s: float) -> None:
    """Refuse a sampling interval whose tables would not fit, before simulating.

    Samples are taken at most once per engine step, so the rows are bounded by
    threats x min(duration / step, duration / interval).
    """
    if every_s <= 0:
        return
    rows = n_threats * min(duration_s / step_s, duration_s / every_s)
    if rows > MAX_SAMPLE_ROWS:
        fits = n_threats * duration_s / MAX_SAMPLE_ROWS
        raise UserError(
            f"--record-every {every_s:g}: {rows:,.0f} trajectory rows for {n_threats:,} threats "
            f"over {duration_s:g} s would not fit in memory (at most {MAX_SAMPLE_ROWS:,}); "
            f"use --record-every {math.ceil(fits):d} or more, or 0 to record nothing"
        )


def _plain(text: str) -> None:
    """Print a line that holds user strings (paths, names): no markup, no highlighting."""
    out.print(text, markup=False, highlight=False, soft_wrap=True)


def _print_summary(s: dict[str, Any]) -> None:
    """The run's summary tables on stdout.

    Names come from the scenario, so they are printed as plain text (never as
    Rich markup) and their columns wrap: the numbers stay within the console's
    width (80 columns or more) whatever the length of a name.
    """
    t = Table(
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        title=Text(f"{s['scenario']}  (seed {s['seed']}, {s['duration_s']:g} s simulated)"),
        caption="det detected, trk tracked, eng engaged, air still airborne at the end, "
        "km median range at first detection",
    )
    cols = ("count", "detected", "tracked", "engaged", "killed", "leaked", "airborne_at_end")
    heads = ("n", "det", "trk", "eng", "kill", "leak", "air")
    t.add_column("threat type", overflow="fold", min_width=8)
    for h in heads:
        t.add_column(h, justify="right", no_wrap=True)
    t.add_column("km", justify="right", no_wrap=True)
    for row in s["threats"]["by_type"]:
        km = row["median_detection_range_km"]
        t.add_row(
            Text(row["type"]), *(str(row[c]) for c in cols), "-" if km is None else f"{km:.0f}"
        )
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
        if c == "type":
            m.add_column(c, overflow="fold", min_width=8)
        else:
            m.add_column(c, justify="right", no_wrap=True)
    for row in s["missiles"]["by_type"]:
        m.add_row(
            Text(row["type"]),
            str(row["start"]),
            str(row["fired"]),
            str(row["kills"]),
            str(row["left"]),
        )
    out.print(m)
    a = Table(title="defended assets")
    for c in ("asset", "value", "value left", "damage"):
        if c == "asset":
            a.add_column(c, overflow="fold", min_width=8)
        else:
            a.add_column(c, justify="right", no_wrap=True)
    for row in s["assets"]:
        a.add_row(
            Text(row["name"]),
            f"{row['value']:g}",
            f"{row['value_left']:.1f}",
            f"{row['damage_fraction']:.0%}",
        )
    out.print(a)

    def ts(x: float | None) -> str:
        return "never" if x is None else f"{x:g} s"

    per_kill = s["missiles"]["per_kill"]
    _plain(
        f"first detection {ts(s['first_detection_s'])}, first launch {ts(s['first_launch_s'])}, "
        f"missiles per kill {'-' if per_kill is None else f'{per_kill:.2f}'}"
    )
    if "radars" in s:  # emission control or anti-radiation missiles
        lost = [f"{r['name']} at {r['destroyed_s']:.0f} s" for r in s["radars"]["by_radar"]
                if r["destroyed_s"] is not None]  # fmt: skip
        quiet = [f"{r['name']} {r['off_s']:.0f} s" for r in s["radars"]["by_radar"] if r["off_s"]]
        _plain(
            f"radars destroyed: {', '.join(lost) if lost else 'none'}; "
            f"silent: {', '.join(quiet) if quiet else 'none'}"
        )


@app.command()
def validate(file: Annotated[str, typer.Argument(help="Scenario file to check.")]) -> None:
    """Check a scenario file; report every problem with its field path and line."""
    from skydome.scenario import compile_scenario, load_scenario

    s = load_scenario(file)
    params = compile_scenario(s)
    _plain(
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
    from skydome.scenario.schema import Scenario
    from skydome.scenario.systems import add_to_json_schema

    schema = add_to_json_schema(Scenario.model_json_schema())  # with `systems:` (templates)
    sys.stdout.write(json.dumps(schema, indent=2) + "\n")


@app.command()
def scenarios() -> None:
    """List the built-in scenarios."""
    import yaml

    t = Table(title="built-in scenarios")
    t.add_column("name")
    t.add_column("description")
    for name in builtin_names():
        # Built-ins are validated by the test suite; listing needs only their text.
        doc = yaml.load(builtin_text(name), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        t.add_row(Text(name), Text(str(doc.get("description", ""))))
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
    from skydome.io import write_atomic_file

    write_atomic_file(target, builtin_text(name))
    _plain(f"wrote {target}; edit it, then `skydome validate {target}` and `skydome run {target}`")
