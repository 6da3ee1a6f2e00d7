"""Report pages against hostile scenario text: every name is shown as text, nothing runs.

One scenario whose every free-text field -- the scenario's name and
description, asset, radar, battery and raid names, threat types, missile type
keys -- holds an injection payload: markup with event handlers, a `</script>`
that would end the data block, an HTML comment opener, a JS template literal,
placeholder words of the old page builder (`__DATA__`, `__TITLE__`, ...) and
Jinja2 syntax. Names may not contain a dot (`schema.Name`), so the payloads
set `__pwned` (a global) rather than `window.__pwned`. Both the run replay and
a tiny study (an `mc` and a two-setting `sweep` whose swept values and paths
carry payloads too) are written and opened in headless Chromium, once with the
page's content-security policy bypassed (the escaping alone must hold) and once
enforced (the page's own hashed script and style must still work).
"""

from __future__ import annotations

import html
import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from skydome.cli import app
from skydome.engine import simulate
from skydome.report import load_run, write_report
from skydome.report.replay import replay_data
from skydome.report.templates import source_hash
from skydome.results import write_run
from skydome.scenario import compile_scenario, parse_scenario
from tests.browser import needs_chromium, offline_page
from tests.conftest import SMALL
from tests.test_report import ARTIFACTS

IMG = '<img src=x onerror="__pwned=1">'
CLOSE = "</script><script>__pwned=1</script>"
SVG = "\"'><svg onload=alert(1)>"
TEMPLATE_LITERAL = "${__pwned=1}"
COMMENT = "<!--<script>"
JINJA = "{{ 7*7 }}"

NAMES = {
    "scenario": f"{JINJA} {IMG} __TITLE__",
    "asset": f"{IMG} __SUMMARY__",
    "radar": f"{SVG} {COMMENT}\u2028",
    "battery": f"{CLOSE} __FIGURES__",
    "missile": f"__DATA__ {JINJA} <marquee>",
    "raid": f"{TEMPLATE_LITERAL} __TITLE__",
    "type": f"__DATA__ {SVG} {JINJA} {TEMPLATE_LITERAL}",
}
DESCRIPTION = " ".join(
    [IMG, CLOSE, SVG, TEMPLATE_LITERAL, COMMENT, JINJA, "__DATA__", "window.__pwned=1"]
)
# Raw markup that must never reach a page unescaped.
RAW = ["<img src=x", "<svg", "</script><script>", "<!--<script>", "<marquee>"]
# Every element either page may contain; the payloads would add img/svg/script/marquee.
TAGS = {
    "html", "head", "meta", "title", "style", "body", "header", "b", "main", "section", "div",
    "button", "input", "span", "select", "option", "canvas", "table", "tr", "th", "td", "p",
    "figure", "img", "figcaption", "script", "h2", "code",
}  # fmt: skip

# Swept in the study: the missile's Pk through a path holding the payload key, and the
# threat type through two hostile values (the path's values are read as YAML).
SWEEP_SETS = [
    f"missiles.{NAMES['missile']}.pk=0.5,0.9",
    "raids.0.type=<img src=x onerror=__pwned=1>,'{{ 7*7 }} <svg onload=alert(1)>'",
]
SWEPT_TYPES = ["<img src=x onerror=__pwned=1>", "{{ 7*7 }} <svg onload=alert(1)>"]


def hostile_scenario() -> str:
    """The small scenario with a payload in every free-text field."""
    d: dict[str, Any] = yaml.safe_load(SMALL)
    d["name"] = NAMES["scenario"]
    d["description"] = DESCRIPTION
    d["assets"][0]["name"] = NAMES["asset"]
    d["radars"][0]["name"] = NAMES["radar"]
    d["missiles"] = {NAMES["missile"]: d["missiles"]["m1"]}
    d["batteries"][0]["name"] = NAMES["battery"]
    d["batteries"][0]["load"] = {NAMES["missile"]: 4}
    raid = d["raids"][0]
    raid.update(name=NAMES["raid"], type=NAMES["type"], target=NAMES["asset"])
    return yaml.safe_dump(d, sort_keys=False, allow_unicode=True)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hostile scenario, run and written with its replay."""
    text = hostile_scenario()
    p = compile_scenario(parse_scenario(text))
    assert p.assets.names[0] == NAMES["asset"]  # the payloads survived validation
    assert list(p.threats.type_names) == [NAMES["type"]]
    r = simulate(p, seed=4, record_every_s=5.0)
    d = tmp_path_factory.mktemp("hostile") / "run"
    write_run(r, d, scenario_text=text)
    write_report(d)
    return d


def _sky(*args: str) -> None:
    res = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hostile scenario, two threats, in a file whose name is a payload too."""
    d = yaml.safe_load(hostile_scenario())
    d["raids"][0]["count"] = 2
    f = tmp_path_factory.mktemp("scen") / "<svg onload=alert(1)>.yaml"
    f.write_text(yaml.safe_dump(d, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return f


@pytest.fixture(scope="module")
def mc_dir(scenario_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("study") / "mc"
    _sky("mc", str(scenario_file), "-n", "4", "--seed", "5", "-j", "1", "--out", str(d),
         "--report")  # fmt: skip
    return d


@pytest.fixture(scope="module")
def sweep_dir(scenario_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("study") / "sweep"
    sets = [a for s in SWEEP_SETS for a in ("--set", s)]
    _sky("sweep", str(scenario_file), *sets, "-n", "3", "--seed", "5", "-j", "1", "--out", str(d),
         "--report")  # fmt: skip
    return d


class _Page(HTMLParser):
    """Every element with its attributes, the text of each script and of the title."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.title = ""
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        if tag in ("script", "title"):
            self._in = tag
            if tag == "script":
                self.scripts.append((dict(attrs), ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in:
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "title":
            self.title += data
        elif self._in == "script":
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)


def _parse(page: Path) -> tuple[str, _Page]:
    text = page.read_text(encoding="utf-8")
    p = _Page()
    p.feed(text)
    p.close()
    return text, p


def _check_structure(text: str, p: _Page, n_figures: int) -> None:
    """Only the template's own elements, no handler attribute, no raw payload."""
    for raw in RAW:
        assert raw not in text, raw
    assert {tag for tag, _ in p.elements} <= TAGS
    assert not [(t, a) for t, a in p.elements if any(k.startswith("on") for k in a)]
    imgs = [a for t, a in p.elements if t == "img"]
    assert len(imgs) == n_figures
    assert all(str(a["src"]).startswith("data:image/png;base64,") for a in imgs)


# --------------------------------------------------------------------------- the HTML itself


def test_replay_html_holds_the_payloads_only_as_escaped_text(run_dir: Path) -> None:
    text, p = _parse(run_dir / "report.html")
    _check_structure(text, p, n_figures=4)
    assert p.title == f"skydome — {NAMES['scenario']} (seed 4)"
    # Two scripts: the data block, and the page's own script, exactly the package file.
    (data_attrs, data), (code_attrs, code) = p.scripts
    assert data_attrs == {"id": "replay-data", "type": "application/json"}
    assert json.loads(data) == json.loads(json.dumps(replay_data(load_run(run_dir))))
    for ch in "<>&\u2028\u2029":
        assert ch not in data
    assert code_attrs == {}
    js = (Path(__file__).parents[1] / "src/skydome/report/templates/replay.js").read_text()
    assert code == js and "innerHTML" not in js
    csp = next(a["content"] for t, a in p.elements if a.get("http-equiv"))
    assert csp is not None
    policy = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert policy == {
        "default-src": "'none'",
        "script-src": source_hash(js),
        "style-src": policy["style-src"],
        "img-src": "data:",
        "connect-src": "'none'",
        "base-uri": "'none'",
        "form-action": "'none'",
    }
    assert policy["style-src"].startswith("'sha256-")


@pytest.mark.parametrize("study", ["mc_dir", "sweep_dir"])
def test_study_html_holds_the_payloads_only_as_escaped_text(
    study: str, request: pytest.FixtureRequest
) -> None:
    path: Path = request.getfixturevalue(study)
    text, p = _parse(path / "report.html")
    n_figures = len(list((path / "figures").glob("*.png")))
    _check_structure(text, p, n_figures)
    assert p.scripts == []
    assert p.title.startswith(f"skydome study — {NAMES['scenario']}: ")
    csp = next(a["content"] for t, a in p.elements if a.get("http-equiv"))
    assert csp is not None and "script-src 'none'" in csp and "default-src 'none'" in csp
    # The payloads are in the page, as text.
    shown = html.unescape(text)
    assert f"missiles fired: {NAMES['missile']}" in shown
    assert "<svg onload=alert(1)>.yaml" in shown  # the scenario file's name
    if study == "sweep_dir":
        assert all(t in shown for t in SWEPT_TYPES)
        assert f"missiles.{NAMES['missile']}.pk" in shown


# --------------------------------------------------------------------------- in a browser


def _probe(page: Any) -> dict[str, Any]:
    """What a successful injection would have left behind."""
    return dict(
        page.evaluate(
            """() => ({
        pwned: window.__pwned === undefined ? null : String(window.__pwned),
        foreign: document.querySelectorAll("svg, marquee, iframe, object, embed").length,
        scripts: document.scripts.length,
        handlers: Array.from(document.querySelectorAll("*")).filter(
            e => Array.from(e.attributes).some(a => a.name.startsWith("on"))).length,
        body: document.body.innerText,
        title: document.title,
    })"""
        )
    )


@needs_chromium
@pytest.mark.parametrize("enforce_csp", [False, True], ids=["escaping-alone", "csp-enforced"])
def test_replay_shows_the_payloads_as_text_and_runs_none(run_dir: Path, enforce_csp: bool) -> None:
    with offline_page(bypass_csp=not enforce_csp) as session:
        page = session.page
        page.goto((run_dir / "report.html").as_uri())
        # The page's own script runs (under CSP: its hash is right) and draws.
        page.wait_for_function("() => window.__replay && window.__replay.frames > 0")
        page.eval_on_selector(
            "#slider", "s => { s.value = 500; s.dispatchEvent(new Event('input')); }"
        )
        page.click("#play")
        page.wait_for_timeout(300)
        page.click("#play")
        got = _probe(page)
        legend = page.inner_text("#legend")
        header = page.inner_text("header")
        data = page.evaluate(
            "JSON.parse(document.getElementById('replay-data').textContent)"
        )  # fmt: skip
        if enforce_csp:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "report-hostile.png"), full_page=True)
    assert got["pwned"] is None
    assert session.dialogs == []
    assert session.errors == []  # no script error, nothing the policy had to block
    assert session.offline_only(), session.requests
    assert session.requests == [(run_dir / "report.html").as_uri()]
    assert got["foreign"] == 0 and got["handlers"] == 0 and got["scripts"] == 2
    assert got["title"] == f"skydome — {NAMES['scenario']} (seed 4)"
    body = got["body"]
    for key in ("scenario", "asset", "missile", "type"):  # those the page shows as text
        assert NAMES[key] in body, key
    # Shown literally: "{{ 7*7 }}" is not evaluated to 49, "__TITLE__" not replaced.
    assert header == f"skydome — {NAMES['scenario']} (seed 4) — synthetic scenario; " + (
        "approximate public parameters"
    )
    assert NAMES["type"] in legend
    # Names drawn on the canvas or not shown reach the script intact.
    assert data["batteries"][0]["name"] == NAMES["battery"]
    assert data["radars"][0]["name"] == NAMES["radar"]
    assert data["assets"][0]["name"] == NAMES["asset"]
    assert data["meta"]["name"] == NAMES["scenario"]
    assert data["types"] == [NAMES["type"]]


@needs_chromium
@pytest.mark.parametrize("enforce_csp", [False, True], ids=["escaping-alone", "csp-enforced"])
@pytest.mark.parametrize("study", ["mc_dir", "sweep_dir"])
def test_study_report_shows_the_payloads_as_text_and_runs_none(
    study: str, enforce_csp: bool, request: pytest.FixtureRequest
) -> None:
    path: Path = request.getfixturevalue(study)
    with offline_page(bypass_csp=not enforce_csp) as session:
        page = session.page
        page.goto((path / "report.html").as_uri())
        page.wait_for_load_state("load")
        got = _probe(page)
        images = page.evaluate("Array.from(document.images).map(i => i.naturalWidth)")
        header = page.inner_text("header")
        if enforce_csp and study == "sweep_dir":
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "study-report-hostile.png"), full_page=True)
    assert got["pwned"] is None
    assert session.dialogs == []
    assert session.errors == []
    assert session.requests == [(path / "report.html").as_uri()]
    assert got["foreign"] == 0 and got["handlers"] == 0 and got["scripts"] == 0
    assert images and all(w > 300 for w in images)  # data-URI figures allowed by img-src
    assert header.startswith(f"skydome study — {NAMES['scenario']}: ")
    assert got["title"].startswith(f"skydome study — {NAMES['scenario']}: ")
    body = got["body"]
    assert f"missiles fired: {NAMES['missile']}" in body
    assert "<svg onload=alert(1)>.yaml" in body
    if study == "sweep_dir":
        for t in SWEPT_TYPES:
            assert t in body
