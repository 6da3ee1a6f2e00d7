"""User-facing errors: one clear paragraph, never a traceback.

Every error a user can cause by bad input is a `UserError`. The CLI prints its
message and exits with code 2; nothing else catches it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Problem", "ScenarioError", "UserError", "field_path"]


def field_path(loc: Sequence[int | str]) -> str:
    """A field path as messages write it: ("raids", 0, "arm") -> raids[0].arm."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out


class UserError(Exception):
    """Bad input from the user; `str(err)` is the whole message."""


@dataclass(frozen=True)
class Problem:
    """One problem in an input file.

    Attributes:
        path: field path in the file, e.g. ``batteries[0].launchers`` ("" for the whole file).
        message: what was expected, and what was found.
        line: 1-based line in the file, when known.
    """

    path: str
    message: str
    line: int | None = None


class ScenarioError(UserError):
    """A scenario (or other input) file that cannot be used, with every problem found."""

    def __init__(self, file: str, problems: list[Problem], what: str = "scenario"):
        self.file = file
        self.problems = problems
        self.what = what
        super().__init__(self._format())

    def _format(self) -> str:
        head = f"{self.file}: invalid {self.what} ({len(self.problems)} problem"
        head += "s)" if len(self.problems) != 1 else ")"
        lines = [head]
        for p in self.problems:
            where = f"line {p.line}: " if p.line is not None else ""
            field = p.path or "(file)"
            lines.append(f"  {where}{field}: {p.message}")
        return "\n".join(lines)
