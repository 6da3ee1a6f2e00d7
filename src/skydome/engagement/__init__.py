"""Engagement: threat evaluation, intercept geometry, assignment, flyout, assessment."""

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
