"""Scenarios: the file schema, loading with clear errors, built-ins, SI compilation."""

from skydome.scenario.schema import Scenario  # noqa: I001  (schema first: params needs it)
from skydome.scenario.builtin import builtin_names, builtin_path, builtin_text
from skydome.scenario.load import load_scenario, parse_scenario, resolve_scenario_path
from skydome.scenario.params import SimParams, compile_scenario

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
