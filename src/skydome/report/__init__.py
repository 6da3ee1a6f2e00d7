"""Reports made from run and study directories: figures, the offline replay, map exports."""

from __future__ import annotations

from pathlib import Path

from skydome.report.data import RunData, load_run

__all__ = ["RunData", "load_run", "write_report"]


def write_report(run_dir: Path) -> Path:
    """Write `figures/*.png|svg` and the self-contained `report.html` into a run or study directory.

    A study directory (written by `skydome mc` or `skydome sweep`) gets the
    study report (`skydome.report.study`); anything else is read as a run
    directory and gets the replay.

    Returns:
        The path of `report.html`.

    Raises:
        UserError: neither a run directory nor a finished study directory.
    """
    from skydome.report.study import is_study_dir, write_study_report

    if is_study_dir(Path(run_dir)):
        return write_study_report(Path(run_dir))

    from skydome.report.figures import save_figures
    from skydome.report.replay import replay_html
    from skydome.results import write_atomic_file

    d = load_run(Path(run_dir))
    figs = save_figures(d, d.path / "figures")
    out = d.path / "report.html"
    write_atomic_file(out, replay_html(d, figs))
    return out
