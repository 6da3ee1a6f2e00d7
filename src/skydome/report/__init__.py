"""Reports made from run directories: figures, the offline replay, map exports."""

from __future__ import annotations

from pathlib import Path

from skydome.report.data import RunData, load_run

__all__ = ["RunData", "load_run", "write_report"]


def write_report(run_dir: Path) -> Path:
    """Write `figures/*.png|svg` and the self-contained `report.html` into a run directory.

    Returns:
        The path of `report.html`.
    """
    from skydome.report.figures import save_figures
    from skydome.report.replay import replay_html
    from skydome.results import write_atomic_file

    d = load_run(Path(run_dir))
    figs = save_figures(d, d.path / "figures")
    out = d.path / "report.html"
    write_atomic_file(out, replay_html(d, figs))
    return out
