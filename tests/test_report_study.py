"""The study report: figures and page of `skydome mc` / `sweep` directories, checked for content.

Every number the report shows must be the study's own (`summary.json`,
`replications.parquet`); the page must be self-contained and open offline.
Studies are tiny (two threats, 120 simulated seconds, a few dozen replications).
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.patches import Rectangle
from typer.testing import CliRunner

from skydome.cli import app
from skydome.errors import UserError
from skydome.report import write_report
from skydome.report.study import (
    CURVE_METRICS,
    curves_figure,
    heatmap_figure,
    histogram_figure,
    is_study_dir,
    load_study,
)
from skydome.stats import wilson_interval
from tests.browser import needs_chromium, offline_page
from tests.test_report import ARTIFACTS
from tests.test_study import write_scenario

SWEEP = ["raids.0.count=1,2,3", "missiles.m1.pk=0.5,0.9"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two threats that reach the base, eight missiles of Pk 0.5: leakers and salvos vary."""
    return write_scenario(
        tmp_path_factory.mktemp("scen") / "tiny.yaml",
        raids__0__count=2,
        batteries__0__load={"m1": 8},
        missiles__m1__pk=0.5,
        run__duration_s=120,
    )


def _sky(*args: str) -> str:
    """Run a `skydome` command in this process (no interpreter start-up); its stdout."""
    res = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    return str(res.output)


@pytest.fixture(scope="module")
def mc_run(tiny: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """`skydome mc --report`: the study directory and what the command printed."""
    d = tmp_path_factory.mktemp("study") / "mc"
    text = _sky("mc", str(tiny), "-n", "30", "--seed", "5", "-j", "1", "--out", str(d), "--report")
    return d, text


@pytest.fixture(scope="module")
def sweep_run(tiny: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """`skydome sweep --report` over a 3 x 2 grid: the directory and the command's output."""
    d = tmp_path_factory.mktemp("study") / "sweep"
    sets = [a for s in SWEEP for a in ("--set", s)]
    text = _sky("sweep", str(tiny), *sets, "-n", "8", "--seed", "5", "-j", "1", "--out", str(d),
                "--report")  # fmt: skip
    return d, text


@pytest.fixture(scope="module")
def mc_dir(mc_run: tuple[Path, str]) -> Path:
    return mc_run[0]


@pytest.fixture(scope="module")
def sweep_dir(sweep_run: tuple[Path, str]) -> Path:
    return sweep_run[0]


def _summary(d: Path) -> dict[str, Any]:
    return dict(json.loads((d / "summary.json").read_text()))


def _rows(d: Path) -> pd.DataFrame:
    df = pd.read_parquet(d / "replications.parquet")
    return df if "cell" in df else df.assign(cell=0)


class _Cells(HTMLParser):
    """Every element carrying `data-metric` (or the headline), with its table and text."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[dict[str, Any]] = []
        self.table: str | None = None
        self._open: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table":
            self.table = a.get("id")
        if "data-metric" in a or a.get("id") == "p-no-leaker":
            self._open = {"tag": tag, "table": self.table, "text": "", **a}

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.table = None
        if self._open is not None and tag == self._open["tag"]:
            self.found.append(self._open)
            self._open = None

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open["text"] += data


def _parse(page: Path) -> list[dict[str, Any]]:
    p = _Cells()
    p.feed(page.read_text(encoding="utf-8"))
    return p.found


def _shown(x: float | None) -> str:
    return "–" if x is None else f"{x:.4g}"


# --------------------------------------------------------------------------- figures


@pytest.mark.parametrize("study", ["mc_dir", "sweep_dir"])
@pytest.mark.parametrize("column", ["leaked", "fired"])
def test_histogram_bars_are_the_replication_counts(
    study: str, column: str, request: pytest.FixtureRequest
) -> None:
    path: Path = request.getfixturevalue(study)
    d = load_study(path)
    rows = _rows(path)
    n = _summary(path)["replications"]
    fig = histogram_figure(d, column, column)
    axes = {ax.get_gid(): ax for ax in fig.axes if ax.get_gid()}
    assert len(axes) == len(d.cells)
    top = int(rows[column].max())
    assert rows[column].nunique() > 1  # a distribution, not a single bar
    for c, g in rows.groupby("cell"):
        bars = [p for p in axes[f"cell-{c}"].patches if isinstance(p, Rectangle)]
        assert len(bars) == len(axes[f"cell-{c}"].patches)
        heights = [p.get_height() for p in bars]
        expect = g[column].value_counts().reindex(range(top + 1), fill_value=0)
        assert heights == expect.tolist()
        assert sum(heights) == n
        title = axes[f"cell-{c}"].get_title()
        mean = _summary(path)["cells"][c]["metrics"][column]
        assert f"mean {mean['estimate']:.3g} [{mean['lo']:.3g}, {mean['hi']:.3g}]" in title
        if column == "leaked":
            p = _summary(path)["cells"][c]["metrics"]["p_no_leaker"]
            assert f"P(no leaker) {p['estimate']:.3g} [{p['lo']:.3g}, {p['hi']:.3g}]" in title
        xs = [p.get_x() + p.get_width() / 2 for p in bars]
        assert xs == pytest.approx(list(range(top + 1)))


def test_heatmap_has_one_cell_per_grid_cell_with_the_summary_values(sweep_dir: Path) -> None:
    d = load_study(sweep_dir)
    s = _summary(sweep_dir)
    fig = heatmap_figure(d)
    counts, pks = [1, 2, 3], [0.5, 0.9]
    metrics = [m for m in CURVE_METRICS if m in s["cells"][0]["metrics"]]
    assert {"p_no_leaker", "leaked", "missiles_per_kill"} <= set(metrics)
    for m in metrics:
        ax = next(a for a in fig.axes if a.get_gid() == f"heatmap-{m}")
        img: np.ma.MaskedArray[Any, Any] = np.ma.asarray(ax.images[0].get_array())
        assert img.shape == (len(counts), len(pks))
        assert [t.get_text() for t in ax.get_yticklabels()] == ["1", "2", "3"]
        assert [t.get_text() for t in ax.get_xticklabels()] == ["0.5", "0.9"]
        assert len(ax.texts) == img.size
        seen = set()
        for cell in s["cells"]:
            i = counts.index(cell["values"]["raids.0.count"])
            j = pks.index(cell["values"]["missiles.m1.pk"])
            seen.add((i, j))
            est = cell["metrics"][m]["estimate"]
            if est is None:
                assert np.ma.getmaskarray(img)[i, j]
            else:
                assert img[i, j] == pytest.approx(est, rel=1e-12)
        assert len(seen) == img.size


def test_heatmap_only_for_two_settings(mc_dir: Path) -> None:
    with pytest.raises(ValueError, match="exactly two"):
        heatmap_figure(load_study(mc_dir))


@pytest.mark.parametrize("j", [0, 1], ids=["vs-count", "vs-pk"])
def test_curves_are_the_summary_estimates_with_their_intervals(sweep_dir: Path, j: int) -> None:
    d = load_study(sweep_dir)
    s = _summary(sweep_dir)
    paths = ["raids.0.count", "missiles.m1.pk"]
    levels: list[list[float]] = [[1, 2, 3], [0.5, 0.9]]
    x_path, other = paths[j], paths[1 - j]
    fig = curves_figure(d, j)
    for m in ("p_no_leaker", "leaked", "missiles_per_kill"):
        ax = next(a for a in fig.axes if a.get_ylabel() and any(
            ln.get_gid() == f"curve-{m}-0" for ln in a.get_lines()
        ))  # fmt: skip
        curves = [ln for ln in ax.get_lines() if str(ln.get_gid()).startswith(f"curve-{m}-")]
        assert len(curves) == len(levels[1 - j])  # one curve per value of the other setting
        for g, v in enumerate(levels[1 - j]):
            line = next(ln for ln in curves if ln.get_gid() == f"curve-{m}-{g}")
            assert line.get_label() == f"{other}={v:g}"
            cells = [c for c in s["cells"] if c["values"][other] == v]
            cells.sort(key=lambda c: levels[j].index(c["values"][x_path]))
            est = [c["metrics"][m]["estimate"] for c in cells]
            assert np.asarray(line.get_xdata(), dtype=float).tolist() == levels[j]
            y = np.asarray(line.get_ydata(), dtype=float)
            assert y == pytest.approx([np.nan if e is None else e for e in est], nan_ok=True)
            band = next(
                c for c in ax.collections
                if isinstance(c, PolyCollection) and c.get_gid() == f"band-{m}-{g}"
            )  # fmt: skip
            if m == "missiles_per_kill":
                continue  # nan intervals leave gaps in the band
            verts = np.concatenate([p.vertices for p in band.get_paths()])
            for x, c in zip(levels[j], cells, strict=True):
                at = verts[np.isclose(verts[:, 0], x), 1]
                assert at.min() == pytest.approx(c["metrics"][m]["lo"])
                assert at.max() == pytest.approx(c["metrics"][m]["hi"])


# --------------------------------------------------------------------------- page


def test_p_no_leaker_shown_is_the_summary_and_its_wilson_interval(mc_dir: Path) -> None:
    s = _summary(mc_dir)["cells"][0]["metrics"]["p_no_leaker"]
    rows = _rows(mc_dir)
    k = int((rows["leaked"] == 0).sum())
    assert 0 < k < len(rows)
    lo, hi = (float(x) for x in wilson_interval(k, len(rows)))
    assert (s["estimate"], s["lo"], s["hi"]) == pytest.approx((k / len(rows), lo, hi), rel=1e-8)
    found = _parse(mc_dir / "report.html")
    head = next(f for f in found if f.get("id") == "p-no-leaker")
    assert [json.loads(head[f"data-{a}"]) for a in ("estimate", "lo", "hi")] == [
        s["estimate"], s["lo"], s["hi"],
    ]  # fmt: skip
    text = " ".join(head["text"].split())
    assert f"P(no leaker) = {s['estimate']:.4g}" in text
    assert f"95% Wilson interval [{s['lo']:.4g}, {s['hi']:.4g}]" in text
    assert f"over {len(rows)} replications" in text


@pytest.mark.parametrize("study", ["mc_dir", "sweep_dir"])
def test_summary_table_shows_every_metric_of_every_cell(
    study: str, request: pytest.FixtureRequest
) -> None:
    path: Path = request.getfixturevalue(study)
    s = _summary(path)
    tds = [f for f in _parse(path / "report.html") if f["table"] == "summary"]
    shown = {(int(f["data-cell"]), f["data-metric"]): f for f in tds}
    expect = {(c["cell"], m): v for c in s["cells"] for m, v in c["metrics"].items()}
    assert len(tds) == len(shown) == len(expect)
    assert set(shown) == set(expect)
    assert len(expect) >= 15 * len(s["cells"])
    for key, v in expect.items():
        f = shown[key]
        for a in ("estimate", "lo", "hi", "n"):
            assert json.loads(f[f"data-{a}"]) == v[a], (key, a)
        text = f["text"]
        if v["lo"] is not None and v["hi"] is not None:
            assert text == f"{_shown(v['estimate'])} [{_shown(v['lo'])}, {_shown(v['hi'])}]"
        else:
            assert text == _shown(v["estimate"])
    if study == "sweep_dir":  # the headline table: P(no leaker) per cell
        head = [f for f in _parse(path / "report.html") if f["table"] == "headline"]
        p = [f for f in head if f["data-metric"] == "p_no_leaker"]
        assert [json.loads(f["data-estimate"]) for f in p] == [
            c["metrics"]["p_no_leaker"]["estimate"] for c in s["cells"]
        ]


@pytest.mark.parametrize(
    ("study", "figures"),
    [
        ("mc_dir", {"leakers", "fired", "outcomes"}),
        (
            "sweep_dir",
            {"leakers", "fired", "outcomes", "vs-raids.0.count", "vs-missiles.m1.pk", "heatmap"},
        ),
    ],
)
def test_report_is_self_contained(
    study: str, figures: set[str], request: pytest.FixtureRequest
) -> None:
    path: Path = request.getfixturevalue(study)
    text = (path / "report.html").read_text(encoding="utf-8")
    assert "http://" not in text and "https://" not in text
    assert "<script" not in text and "<link" not in text and "url(" not in text
    refs = re.findall(r"""(?:src|href)\s*=\s*["']?([^"'\s>]*)""", text)
    assert refs and all(r.startswith("data:image/png;base64,") for r in refs)
    csp = re.search(r'http-equiv="Content-Security-Policy"\s+content="([^"]*)"', text)
    assert csp is not None and "default-src 'none'" in csp.group(1)
    assert "img-src data:" in csp.group(1)
    names = {p.stem for p in (path / "figures").glob("*.png")}
    assert names == {p.stem for p in (path / "figures").glob("*.svg")} == figures
    assert len(refs) == len(figures)
    for name in figures:
        png = (path / "figures" / f"{name}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        assert base64.b64encode(png).decode("ascii") in text  # the page shows these very files
        root = ET.fromstring((path / "figures" / f"{name}.svg").read_bytes())
        assert root.tag.endswith("svg")
    assert not [p for p in path.iterdir() if p.name.startswith(".report.html")]


@needs_chromium
def test_study_report_opens_offline_in_a_real_browser(sweep_dir: Path) -> None:
    html = sweep_dir / "report.html"
    ARTIFACTS.mkdir(exist_ok=True)
    with offline_page() as session:
        page = session.page
        page.goto(html.as_uri())
        page.wait_for_load_state("load")
        images = page.evaluate(
            "Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.naturalHeight])"
        )
        p0 = page.inner_text('#headline td[data-metric="p_no_leaker"][data-cell="0"]')
        page.screenshot(path=str(ARTIFACTS / "study-report.png"), full_page=True)
    assert len(images) == 6
    assert all(done and w > 300 and h > 200 for done, w, h in images), images  # all decoded
    m = _summary(sweep_dir)["cells"][0]["metrics"]["p_no_leaker"]
    assert p0 == f"{m['estimate']:.4g} [{m['lo']:.4g}, {m['hi']:.4g}]"
    assert session.errors == []
    assert session.offline_only(), session.requests
    assert (ARTIFACTS / "study-report.png").stat().st_size > 10_000


# --------------------------------------------------------------------------- commands


@pytest.mark.parametrize("study", ["mc_run", "sweep_run"])
def test_mc_and_sweep_with_report_print_the_report_path(
    study: str, request: pytest.FixtureRequest
) -> None:
    path, text = request.getfixturevalue(study)
    lines = [ln for ln in text.splitlines() if ln.startswith("report: ")]
    assert lines == [f"report: {path / 'report.html'}"]
    assert "P(no leaker)" in text  # the usual summary is still printed before it
    head = _parse(path / "report.html")
    p = next(
        f for f in head
        if f.get("id") == "p-no-leaker"
        or (f.get("data-metric") == "p_no_leaker" and f["data-cell"] == "0")
    )  # fmt: skip
    assert (
        json.loads(p["data-estimate"])
        == (_summary(path)["cells"][0]["metrics"]["p_no_leaker"]["estimate"])
    )


def test_report_command_on_a_study_directory(mc_dir: Path, tmp_path: Path) -> None:
    d = tmp_path / "copy"
    shutil.copytree(mc_dir, d, ignore=shutil.ignore_patterns("report.html", "figures"))
    assert is_study_dir(d) and not (d / "report.html").exists()
    text = _sky("report", str(d))
    assert f"wrote {d / 'report.html'}" in text
    # The same study gives the same files, byte for byte (no dates, no random ids).
    for f in (mc_dir / "figures").iterdir():
        assert (d / "figures" / f.name).read_bytes() == f.read_bytes(), f.name
    assert (d / "report.html").read_text() == (mc_dir / "report.html").read_text()


def test_mc_without_report_says_how_to_make_it(tiny: Path, tmp_path: Path) -> None:
    d = tmp_path / "plain"
    text = _sky("mc", str(tiny), "-n", "2", "-j", "1", "--out", str(d))
    assert f"study report: skydome report {d}" in text
    assert not (d / "report.html").exists() and not (d / "figures").exists()


def test_unfinished_or_inconsistent_study_is_a_clear_error(mc_dir: Path, tmp_path: Path) -> None:
    d = tmp_path / "unfinished"
    d.mkdir()
    shutil.copy(mc_dir / "manifest.json", d / "manifest.json")
    with pytest.raises(UserError, match="not finished: missing summary.json"):
        write_report(d)
    shutil.copy(mc_dir / "summary.json", d / "summary.json")
    rows = pd.read_parquet(mc_dir / "replications.parquet")
    rows.iloc[:10].to_parquet(d / "replications.parquet")
    with pytest.raises(UserError, match="has 10 rows but summary.json describes 1 cell"):
        write_report(d)
    assert not (d / "report.html").exists() and not (d / "figures").exists()
    # A plain directory is still "not a run directory" (exit 2 in the command).
    with pytest.raises(UserError, match="not a run directory"):
        write_report(tmp_path)
