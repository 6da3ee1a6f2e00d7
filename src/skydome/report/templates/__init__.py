"""The report pages' templates, and the one way to render them: autoescaping Jinja2.

Every page is a Jinja2 template (`*.html`) rendered with autoescaping on, so
any text from a scenario or a study -- names, threat types, setting values --
reaches the page as text, never as markup. The page's own style sheet and
script are static files beside the templates (`*.css`, `*.js`), inlined
verbatim and allowed by the page's content-security policy through their
SHA-256 hashes: nothing else may run, load, or be fetched. Data for the
script travels as JSON in a `<script type="application/json">` element,
escaped so that it cannot end that element (`json_script`).
"""

from __future__ import annotations

import base64
import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

__all__ = ["content_security_policy", "json_script", "render_page", "source_hash"]

_DIR = Path(__file__).resolve().parent

# Characters that must not appear raw in a script element: "<" could start "</script" or
# "<!--", ">" ends "-->", "&" for good measure; U+2028/2029 end a line in old JS parsers.
_JSON_ESCAPES = {
    ord("<"): "\\u003c",
    ord(">"): "\\u003e",
    ord("&"): "\\u0026",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@cache
def _static(name: str) -> str:
    """A style sheet or script beside the templates, checked to be safe to inline verbatim."""
    text = (_DIR / name).read_text(encoding="utf-8")
    if "</" in text or "<!--" in text:
        raise ValueError(f"{name}: '</' or '<!--' would end the inline element early")
    return text


def source_hash(text: str) -> str:
    """The CSP source expression allowing exactly this inline script or style, `'sha256-...'`."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def content_security_policy(style: str, script: str | None) -> str:
    """A policy allowing only the given inline style and script, and data-URI images.

    No network of any kind (`default-src 'none'`, `connect-src 'none'`), no
    other script or style, no `<base>`, no form submission.
    """
    script_src = "'none'" if script is None else source_hash(script)
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src {script_src}",
            f"style-src {source_hash(style)}",
            "img-src data:",
            "connect-src 'none'",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )


def json_script(obj: Any) -> Markup:
    r"""`obj` as JSON safe to place inside `<script type="application/json">`.

    `<`, `>`, `&`, U+2028 and U+2029 are written as JSON escapes (`\u003c`, ...), so
    the text cannot close the element or open a comment in it, and
    `JSON.parse(element.textContent)` gives back exactly `obj`.
    """
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    return Markup(text.translate(_JSON_ESCAPES))  # safe: no raw <, > or & remain


def render_page(template: str, *, style: str, script: str | None = None, **context: Any) -> str:
    """Render an HTML template with autoescaping, its style sheet and script inlined.

    Args:
        template: the template's file name, e.g. `replay.html`.
        style: the style sheet's file name beside it, inlined as `{{ style }}`.
        script: the script's file name, inlined as `{{ script }}`; None: the
            page runs no script at all (`script-src 'none'`).
        **context: the template's variables; strings are escaped where used.

    Returns:
        The page, whose `{{ csp }}` allows exactly the inlined style and script.
    """
    css = _static(style)
    js = _static(script) if script is not None else None
    return (
        _environment()
        .get_template(template)
        .render(
            # Fixed words and base64 hashes; no quote or "<" to escape.
            csp=Markup(content_security_policy(css, js)),
            # Package files, not user data: inlined verbatim, as their hashes require.
            style=Markup(css),
            script=None if js is None else Markup(js),
            **context,
        )
    )
