"""Scenarios: the file schema, loading with clear errors, built-ins, SI compilation.

Exports load on first use (`skydome._lazy`): listing the built-ins or printing
help does not pay for pydantic, numpy and the compiler.
"""

from typing import TYPE_CHECKING

from skydome._lazy import lazy_exports

if TYPE_CHECKING:
    from skydome.scenario.builtin import builtin_names, builtin_path, builtin_text
    from skydome.scenario.compile import SimParams, compile_scenario
    from skydome.scenario.load import load_scenario, parse_scenario, resolve_scenario_path
    from skydome.scenario.schema import Scenario

__all__ = [
    "Scenario",
    "SimParams",
    "builtin_names",
    "builtin_path",
    "builtin_text",
    "compile_scenario",
    "load_scenario",
    "parse_scenario",
    "resolve_scenario_path",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "Scenario": "skydome.scenario.schema",
        "SimParams": "skydome.scenario.compile",
        "builtin_names": "skydome.scenario.builtin",
        "builtin_path": "skydome.scenario.builtin",
        "builtin_text": "skydome.scenario.builtin",
        "compile_scenario": "skydome.scenario.compile",
        "load_scenario": "skydome.scenario.load",
        "parse_scenario": "skydome.scenario.load",
        "resolve_scenario_path": "skydome.scenario.load",
    },
)
