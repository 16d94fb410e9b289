from __future__ import annotations

import pandas as pd
from sklearn.linear_model import LogisticRegression

from steps.config_models import DatasetSpec, QualityGate
from steps.promotion import decide_promotion, score_production

GATE = QualityGate(metric="accuracy", min_value=0.9)


def test_first_model_passing_the_gate_is_promoted():
    decision = decide_promotion(0.95, GATE)
    assert decision.promote
    assert "no production model" in decision.reason


def test_better_than_production_is_promoted():
    assert decide_promotion(0.97, GATE, production_score=0.93).promote


def test_equal_to_production_is_promoted():
    decision = decide_promotion(0.93, GATE, production_score=0.93)
    assert decision.promote
    assert "not worse" in decision.reason


def test_worse_than_production_is_not_promoted():
    decision = decide_promotion(0.92, GATE, production_score=0.96)
    assert not decision.promote
    assert "worse than production's 0.9600" in decision.reason


def test_production_own_classifier_is_not_promoted_again():
    decision = decide_promotion(0.93, GATE, production_score=0.93, same_as_production=4)
    assert not decision.promote
    assert "production's own (version 4's" in decision.reason
    assert "production stays version 4" in decision.reason
    # ... but the gate still speaks first.
    below = decide_promotion(0.85, GATE, production_score=0.85, same_as_production=4)
    assert "below the quality gate" in below.reason


def test_below_the_gate_is_not_promoted_even_without_production():
    decision = decide_promotion(0.85, GATE)
    assert not decision.promote
    assert "below the quality gate 0.9000" in decision.reason


def test_production_that_cannot_be_compared_is_left_to_a_person():
    _, error = score_production(
        LogisticRegression().fit(pd.DataFrame({"a": [0.0, 1.0]}), ["x", "y"]),
        pd.DataFrame({"b": [0.0, 1.0], "label": ["x", "y"]}),
        spec_with("b"),
        "accuracy",
    )
    decision = decide_promotion(0.99, GATE, production_error=error, version=7)
    assert not decision.promote
    assert "the production model cannot be scored on this test data" in decision.reason
    assert "cannot be compared" in decision.reason
    assert "promote it by hand: `python run.py promote 7`" in decision.reason


def test_production_that_cannot_be_loaded_names_the_command_that_promotes_by_hand():
    reason = "the production model 'iris' version 1 cannot be loaded: the store is gone"
    decision = decide_promotion(0.99, GATE, production_error=reason, version=2)
    assert not decision.promote
    assert decision.reason.startswith(reason + ", so the two cannot be compared")
    assert "`python run.py promote 2`" in decision.reason


def spec_with(*features: str) -> DatasetSpec:
    return DatasetSpec(
        path="unused.csv",
        target="label",
        classes=["x", "y"],
        features={name: {"min": 0, "max": 1} for name in features},
    )


def test_a_model_trained_on_other_features_cannot_score_the_new_data():
    old = LogisticRegression().fit(pd.DataFrame({"a": [0.0, 1.0], "b": [1.0, 0.0]}), ["x", "y"])
    changed = pd.DataFrame({"a": [0.0, 1.0], "c": [1.0, 0.0], "label": ["x", "y"]})
    score, error = score_production(old, changed, spec_with("a", "c"), "accuracy")
    assert score is None
    assert "feature names" in error

    same = pd.DataFrame({"a": [0.0, 1.0], "b": [1.0, 0.0], "label": ["x", "y"]})
    assert score_production(old, same, spec_with("a", "b"), "accuracy") == (1.0, None)


class FakeVersion:
    def __init__(self, classifier_id):
        self.classifier_id = classifier_id

    def get_artifact(self, name):
        assert name == "classifier"
        if self.classifier_id is None:
            return None
        return type("Artifact", (), {"id": self.classifier_id})()


def test_production_holding_this_runs_own_classifier_is_not_scored_again():
    from steps.promotion import is_this_runs_classifier

    assert is_this_runs_classifier(FakeVersion("a1"), ["a1"])  # a fully cached re-run
    assert not is_this_runs_classifier(FakeVersion("a0"), ["a1"])  # another model: scored
    assert not is_this_runs_classifier(FakeVersion(None), ["a1"])  # no classifier: loaded
