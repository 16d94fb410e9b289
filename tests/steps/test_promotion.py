from __future__ import annotations

from steps.config_models import QualityGate
from steps.promotion import decide_promotion

GATE = QualityGate(metric="accuracy", min_value=0.9)


def test_first_model_passing_the_gate_is_promoted():
    decision = decide_promotion(0.95, None, GATE)
    assert decision.promote
    assert "no production model" in decision.reason


def test_better_than_production_is_promoted():
    assert decide_promotion(0.97, 0.93, GATE).promote


def test_equal_to_production_is_promoted():
    decision = decide_promotion(0.93, 0.93, GATE)
    assert decision.promote
    assert "not worse" in decision.reason


def test_worse_than_production_is_not_promoted():
    decision = decide_promotion(0.92, 0.96, GATE)
    assert not decision.promote
    assert "worse than production's 0.9600" in decision.reason


def test_below_the_gate_is_not_promoted_even_without_production():
    decision = decide_promotion(0.85, None, GATE)
    assert not decision.promote
    assert "below the quality gate 0.9000" in decision.reason
