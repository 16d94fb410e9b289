from __future__ import annotations

import os

from steps.candidates import build_pipeline, search_candidate
from steps.config_models import CandidateSpec, DatasetSpec
from steps.data import read_dataset, split_dataset
from steps.validation import validate_dataset
from tests.helpers import shipped_config

DATASET = DatasetSpec(**shipped_config()["parameters"]["dataset"])


def test_pipeline_holds_preprocessing_and_the_seed():
    forest = build_pipeline(
        CandidateSpec(estimator="sklearn.ensemble.RandomForestClassifier"), DATASET, 3
    )
    assert [name for name, _ in forest.steps] == ["scale", "model"]
    assert forest.named_steps["model"].random_state == 3
    knn = build_pipeline(
        CandidateSpec(estimator="sklearn.neighbors.KNeighborsClassifier", scale_features=False),
        DATASET,
        3,
    )
    assert [name for name, _ in knn.steps] == ["model"]


def test_search_tunes_on_train_and_the_model_takes_raw_features(iris_csv):
    frame = validate_dataset(read_dataset(iris_csv), DATASET, source="iris")
    train, test = split_dataset(frame, "species", 0.2, seed=42)
    spec = CandidateSpec(
        estimator="sklearn.linear_model.LogisticRegression",
        params={"max_iter": 500},
        search_space={"C": [0.01, 1.0]},
    )
    model, result = search_candidate("logreg", spec, train, DATASET, cv_folds=3, seed=42)
    assert result["combinations_tried"] == 2
    assert result["best_params"]["C"] in (0.01, 1.0)
    # A version's hyperparameters: the config's fixed params and the search's choice.
    assert result["hyperparameters"] == {"max_iter": 500, "C": result["best_params"]["C"]}
    assert result["cv_metric"] == "accuracy"
    assert 0.8 < result["cv_score"] <= 1.0
    assert set(model.predict(test[DATASET.feature_names])) <= set(DATASET.classes)
    assert model.predict_proba(test[DATASET.feature_names]).shape == (len(test), 3)


def test_small_fits_run_on_one_openmp_thread():
    """Threads do not pay on small data and stall on a busy machine (steps/candidates.py)."""
    from threadpoolctl import threadpool_info

    from steps.candidates import SINGLE_THREAD_ROWS, threads_for

    def openmp_threads() -> set[int]:
        return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "openmp"}

    with threads_for(1_000):
        assert openmp_threads() == {1}
    with threads_for(SINGLE_THREAD_ROWS + 1):
        assert openmp_threads() == {int(os.environ.get("OMP_NUM_THREADS") or os.cpu_count())}
