"""The preprocessing inside the saved model: raw values in, whatever the feature kinds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import StandardScaler

from service.contract import probabilities
from steps.candidates import build_pipeline
from steps.config_models import CandidateSpec, DatasetSpec
from steps.preprocessing import preprocessing_steps
from steps.validation import learn_categories, validate_dataset
from tests.helpers import shipped_config
from tests.tabular_data import CHURN_COLUMNS, churn_rows, churn_spec

IRIS = DatasetSpec(**shipped_config()["parameters"]["dataset"])
CHURN = churn_spec()
LOGISTIC = CandidateSpec(
    estimator="sklearn.linear_model.LogisticRegression", params={"max_iter": 1000}
)


def churn_frame(rows: int = 600) -> pd.DataFrame:
    raw = pd.DataFrame(churn_rows(rows, seed=1), columns=CHURN_COLUMNS).replace("", np.nan)
    return validate_dataset(raw, CHURN, source="churn")


def test_iris_keeps_the_plain_scaler():
    """All numbers, one policy: the same model (and speed) as before there were kinds."""
    steps = preprocessing_steps(IRIS, scale=True)
    assert [(name, type(step)) for name, step in steps] == [("scale", StandardScaler)]
    assert preprocessing_steps(IRIS, scale=False) == []


def test_learned_categories_are_resolved_before_any_model_is_built():
    with pytest.raises(ValueError, match="learned categories must be resolved"):
        build_pipeline(LOGISTIC, CHURN, seed=0)
    schema = learn_categories(churn_frame(), CHURN)
    assert schema.features["region"].categories == ["east", "north", "south", "west"]
    assert schema.features["plan"].categories == ["basic", "pro", "enterprise"]  # as listed


def test_the_model_takes_raw_values_with_categories_and_gaps():
    frame = churn_frame()
    schema = learn_categories(frame, CHURN)
    model = build_pipeline(LOGISTIC, schema, seed=0)
    assert isinstance(model.steps[0][1], ColumnTransformer)
    features = frame[schema.feature_names]
    assert features["monthly_spend"].isna().any()  # the generated gaps reach the model
    model.fit(features, frame["churned"])
    # A plain object array in feature order (the service's path) gives the same answer as
    # the DataFrame, None and NaN alike are filled in, and an unknown region (unknown:
    # ignore) is taken as none of the regions.
    rows = [["basic", "south", np.nan, 3.0], ["pro", "atlantis", 50.0, np.nan]]
    as_frame = pd.DataFrame(rows, columns=schema.feature_names)
    as_array = np.array(rows, dtype=object)
    assert np.allclose(model.predict_proba(as_frame), probabilities(model, as_array))
    # An unknown plan (unknown: refuse) is refused by the model too, not guessed.
    with pytest.raises(ValueError, match="unknown categor"):
        model.predict_proba(
            pd.DataFrame([["gold", "south", 1.0, 1.0]], columns=schema.feature_names)
        )


def test_a_constant_fill_value_is_a_category_of_its_own():
    spec = CHURN.model_copy(
        update={
            "features": {
                **CHURN.features,
                "plan": CHURN.features["plan"].model_copy(
                    update={"missing": "constant", "fill_value": "none"}
                ),
            }
        }
    )
    frame = churn_frame()
    frame.loc[frame.index[:20], "plan"] = np.nan
    schema = learn_categories(frame, spec)
    model = build_pipeline(LOGISTIC, schema, seed=0).fit(
        frame[schema.feature_names], frame["churned"]
    )
    encoder = model.named_steps["prepare"].named_transformers_["categorical_plan"][-1]
    assert list(encoder.categories_[0]) == ["basic", "pro", "enterprise", "none"]
