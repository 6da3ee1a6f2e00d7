"""Engagement: threat evaluation, intercept geometry, assignment, flyout, assessment."""

from typing import TYPE_CHECKING

from skydome._lazy import lazy_exports

if TYPE_CHECKING:
    from skydome.engagement.assessment import Outcome, assess
    from skydome.engagement.evaluation import ThreatAssessment, evaluate_threats
    from skydome.engagement.flyout import InFlight, kinematic_flyout
    from skydome.engagement.geometry import InterceptGrid, intercept_grid, time_of_flight
    from skydome.engagement.wta_greedy import GreedyAssignment, greedy_assign

__all__ = [
    "GreedyAssignment",
    "InFlight",
    "InterceptGrid",
    "Outcome",
    "ThreatAssessment",
    "assess",
    "evaluate_threats",
    "greedy_assign",
    "intercept_grid",
    "kinematic_flyout",
    "time_of_flight",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "Outcome": "skydome.engagement.assessment",
        "assess": "skydome.engagement.assessment",
        "ThreatAssessment": "skydome.engagement.evaluation",
        "evaluate_threats": "skydome.engagement.evaluation",
        "InFlight": "skydome.engagement.flyout",
        "kinematic_flyout": "skydome.engagement.flyout",
        "InterceptGrid": "skydome.engagement.geometry",
        "intercept_grid": "skydome.engagement.geometry",
        "time_of_flight": "skydome.engagement.geometry",
        "GreedyAssignment": "skydome.engagement.wta_greedy",
        "greedy_assign": "skydome.engagement.wta_greedy",
    },
)
