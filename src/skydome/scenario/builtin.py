"""Built-in scenarios shipped as YAML data inside the package."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["builtin_names", "builtin_path", "builtin_text"]

_DIR = resources.files("skydome.scenario") / "builtin"


def builtin_names() -> list[str]:
    """Names of the built-in scenarios, sorted."""
    return sorted(p.name[: -len(".yaml")] for p in _DIR.iterdir() if p.name.endswith(".yaml"))


def builtin_path(name: str) -> Path:
    """Path of a built-in scenario file (the package is installed unzipped)."""
    return Path(str(_DIR / f"{name}.yaml"))


def builtin_text(name: str) -> str:
    """YAML text of a built-in scenario."""
    return (_DIR / f"{name}.yaml").read_text(encoding="utf-8")
