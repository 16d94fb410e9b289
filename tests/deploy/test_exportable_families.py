"""Every model the shipped config can promote can be exported: each family, at every point of
its shipped search space, goes into BentoML's store with its hyperparameters as metadata."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from service.export_contract import ExportMetadata, FeatureSchema
from steps.candidates import build_pipeline, grid_prefix, json_safe
from steps.config_models import check_training_config
from steps.data import read_dataset
from steps.validation import validate_dataset
from tests.helpers import REPO

pytestmark = pytest.mark.slow

PARAMETERS = check_training_config(REPO / "configs" / "training.yaml")


def test_hyperparameters_become_json_safe():
    assert json_safe(
        {
            "max_depth": None,
            "hidden_layer_sizes": (64, 32),
            "estimator": LogisticRegression(C=2.0),
            "alpha": np.float64(0.5),
            "n": np.int64(3),
            "nested": {"k": (1, None)},
        }
    ) == {
        "max_depth": "None",
        "hidden_layer_sizes": [64, 32],
        "estimator": "LogisticRegression(C=2.0)",
        "alpha": 0.5,
        "n": 3,
        "nested": {"k": [1, "None"]},
    }


def grid_points(search_space: dict[str, list]) -> list[dict]:
    names = list(search_space)
    return [
        dict(zip(names, values, strict=True))
        for values in itertools.product(*search_space.values())
    ]


@pytest.mark.parametrize("name", list(PARAMETERS.candidates))
def test_each_shipped_family_exports_at_every_grid_point(name, iris_csv):
    import bentoml

    dataset = PARAMETERS.dataset
    frame = validate_dataset(read_dataset(iris_csv), dataset, source="iris")
    spec = PARAMETERS.candidates[name]
    for point in grid_points(spec.search_space) or [{}]:
        model = build_pipeline(spec, dataset, PARAMETERS.seed)
        model.set_params(**{f"{grid_prefix(spec)}{key}": value for key, value in point.items()})
        model.fit(frame[dataset.feature_names], frame[dataset.target])
        metadata = ExportMetadata(
            target=dataset.target,
            classes=list(model.classes_),
            features=[FeatureSchema(name=feature) for feature in dataset.feature_names],
            model_family=name,
            hyperparameters=json_safe({**spec.params, **point}),
            cv_score=0.9,
            test_accuracy=0.9,
            test_macro_f1=0.9,
            test_rows=30,
        ).model_dump(exclude_none=True)
        saved = bentoml.sklearn.save_model(f"exportable_{name}", model, metadata=metadata)
        stored = bentoml.models.get(saved.tag)
        assert ExportMetadata.model_validate(stored.info.metadata).hyperparameters == json_safe(
            {**spec.params, **point}
        )
        bentoml.models.delete(saved.tag)
