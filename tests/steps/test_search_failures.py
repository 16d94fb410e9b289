"""A fit that fails in a candidate's grid search stops the run instead of being skipped."""

from __future__ import annotations

import pytest

from steps.candidates import CandidateSearchFailed, search_candidate
from steps.config_models import CandidateSpec, DatasetSpec
from steps.data import read_dataset, split_dataset
from steps.validation import validate_dataset
from tests.helpers import shipped_config

DATASET = DatasetSpec(**shipped_config()["parameters"]["dataset"])


def test_a_failing_grid_point_stops_the_search_naming_the_candidate(iris_csv):
    """n_neighbors=500 passes scikit-learn's constraints but not a 96-row CV fold.

    Without error_score="raise" the search scores it NaN and returns n_neighbors=3.
    """
    frame = validate_dataset(read_dataset(iris_csv), DATASET, source="iris")
    train, _ = split_dataset(frame, "species", 0.2, seed=42)
    spec = CandidateSpec(
        estimator="sklearn.neighbors.KNeighborsClassifier", search_space={"n_neighbors": [3, 500]}
    )
    with pytest.raises(CandidateSearchFailed) as raised:
        search_candidate("knn", spec, train, DATASET, cv_folds=5, seed=42)
    message = str(raised.value)
    assert "candidate 'knn' (sklearn.neighbors.KNeighborsClassifier) failed" in message
    assert "n_neighbors = 500" in message
