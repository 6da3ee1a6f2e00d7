"""Headless Chromium for the report tests: offline, every request and error recorded."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest


def chromium() -> str | None:
    """Path of a Chromium binary (Debian's `chromium`, installed by .ci/run), or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


needs_chromium = pytest.mark.skipif(
    chromium() is None,
    reason="no Chromium on this machine (.ci/run installs Debian's chromium package)",
)


@dataclass
class Session:
    """An open page, with the URLs it requested and the errors it raised."""

    page: Any
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def offline_only(self) -> bool:
        """Nothing but the file itself and inline data was fetched."""
        return all(u.startswith(("file://", "data:")) for u in self.requests)


@contextmanager
def offline_page(*, bypass_csp: bool = False) -> Iterator[Session]:
    """A page in a context with the network off; closes the browser afterwards.

    The page's content-security policy applies, as when a user opens it:
    anything it blocks is logged as a console error (and so in `errors`).
    With `bypass_csp` it is not enforced, so the page must be safe by its own
    escaping alone. The test's own probes (`page.evaluate`) run either way,
    but give `wait_for_function` a function (`"() => ..."`): a bare expression
    is evaluated by `eval` in the page, which the policy forbids.
    Dialogs (`alert`, ...) are recorded and dismissed.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium(),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        context = browser.new_context(
            offline=True, bypass_csp=bypass_csp, viewport={"width": 1400, "height": 1000}
        )
        s = Session(context.new_page())
        s.page.on("request", lambda r: s.requests.append(r.url))
        s.page.on("console", lambda m: s.errors.append(m.text) if m.type == "error" else None)
        s.page.on("pageerror", lambda e: s.errors.append(str(e)))

        def dialog(d: Any) -> None:
            s.dialogs.append(d.message)
            d.dismiss()

        s.page.on("dialog", dialog)
        try:
            yield s
        finally:
            browser.close()
