"""The preprocessing that lives inside the saved model, built from the dataset spec.

Imputation, scaling and one-hot encoding are steps of the scikit-learn Pipeline that is
trained, saved and served, so every caller (batch inference, the one-row command, the HTTP
service) hands the model raw values. Only scikit-learn classes go in: the bento sees
`service/` alone. Columns are picked by position, so the model takes a DataFrame (training,
batch) or a plain array in the spec's feature order (the service's fast path).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from steps.config_models import CategoricalFeature, DatasetSpec, NumericFeature


def _imputer(feature: NumericFeature | CategoricalFeature) -> list[tuple[str, Any]]:
    if feature.missing == "refuse":
        return []  # validation refuses missing values: nothing to fill in
    fill = {"fill_value": feature.fill_value} if feature.missing == "constant" else {}
    return [("impute", SimpleImputer(strategy=feature.missing, **fill))]


def _encoder(feature: CategoricalFeature) -> OneHotEncoder:
    """One column per category; the categories are fixed up front (listed or learned from
    the whole validated data), so a CV fold or the test split never meets a new one."""
    if feature.learned:
        raise ValueError("learned categories must be resolved first (DatasetSpec.with_categories)")
    categories = list(feature.categories)
    if feature.missing == "constant" and feature.fill_value not in categories:
        categories.append(feature.fill_value)  # the filled-in value is a category of its own
    return OneHotEncoder(
        categories=[np.array(categories, dtype=object)],
        handle_unknown="error" if feature.unknown == "refuse" else "ignore",
        sparse_output=False,
    )


def numeric_steps(feature: NumericFeature, scale: bool) -> list[tuple[str, Any]]:
    return _imputer(feature) + ([("scale", StandardScaler())] if scale else [])


def preprocessing_steps(dataset: DatasetSpec, scale: bool) -> list[tuple[str, Any]]:
    """The Pipeline steps before the estimator.

    All-numeric data with one missing-value policy (Iris) keeps the plain steps (a scaler,
    or nothing): the same model and the same speed as before there were other kinds.
    Otherwise a ColumnTransformer: numeric columns grouped by policy, one encoder per
    categorical column.
    """
    names = dataset.feature_names
    numeric, categorical = dataset.numeric, dataset.categorical
    policies = {(f.missing, f.fill_value) for f in numeric.values()}
    if not categorical and len(policies) == 1:
        return numeric_steps(next(iter(numeric.values())), scale)
    transformers: list[tuple[str, Any, list[int]]] = []
    for missing, fill_value in sorted(policies, key=str):
        columns = [
            names.index(name)
            for name, feature in numeric.items()
            if (feature.missing, feature.fill_value) == (missing, fill_value)
        ]
        steps = numeric_steps(numeric[names[columns[0]]], scale)
        transformers.append(
            (f"numeric_{missing}", Pipeline(steps) if steps else "passthrough", columns)
        )
    for name, feature in categorical.items():
        steps = [*_imputer(feature), ("one_hot", _encoder(feature))]
        transformers.append((f"categorical_{name}", Pipeline(steps), [names.index(name)]))
    return [("prepare", ColumnTransformer(transformers, sparse_threshold=0))]
