"""Pydantic models of the run config's parameters, so a bad config fails before any step runs.

No ZenML import here: the service and the command line reuse the dataset schema cheaply.
"""

from __future__ import annotations

import importlib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FeatureSpec(_Strict):
    """Allowed range of one numeric feature, inclusive."""

    min: float
    max: float

    @model_validator(mode="after")
    def _ordered(self) -> FeatureSpec:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


class DatasetSpec(_Strict):
    """Where the data is and what a valid row looks like."""

    path: str
    target: str
    classes: list[str] = Field(min_length=2)
    features: dict[str, FeatureSpec] = Field(min_length=1)
    min_rows_per_class: int = Field(default=5, ge=1)

    @property
    def feature_names(self) -> list[str]:
        return list(self.features)

    @property
    def columns(self) -> list[str]:
        return [*self.features, self.target]


class SplitSpec(_Strict):
    test_size: float = Field(default=0.3, gt=0, lt=1)


class CandidateSpec(_Strict):
    """One model family: an sklearn estimator, fixed parameters and a grid to search."""

    estimator: str = Field(description="Import path, e.g. sklearn.svm.SVC")
    params: dict[str, Any] = Field(default_factory=dict)
    search_space: dict[str, list[Any]] = Field(default_factory=dict)
    scale_features: bool = True

    @field_validator("estimator")
    @classmethod
    def _importable(cls, path: str) -> str:
        load_class(path)
        return path


class QualityGate(_Strict):
    """A new model must reach `min_value` on `metric` (test split) to be promoted."""

    metric: Literal["accuracy", "macro_f1"] = "accuracy"
    min_value: float = Field(ge=0, le=1)


def load_class(path: str) -> type:
    """Import `package.module.Name` and return the class, with an error that names the path."""
    module_name, _, class_name = path.rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError, ValueError) as error:
        raise ValueError(f"cannot import estimator {path!r}: {error}") from error
