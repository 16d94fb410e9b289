"""Pydantic models of the run config's parameters, so a bad config fails before any step runs.

No ZenML import here: the service and the command line reuse the dataset schema cheaply.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)


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


class TrainingParameters(_Strict):
    """The `parameters:` block of configs/training.yaml, checked before ZenML sees it."""

    dataset: DatasetSpec
    split: SplitSpec
    candidates: dict[str, CandidateSpec] = Field(min_length=1)
    cv_folds: int = Field(ge=2)
    quality_gate: QualityGate
    seed: int

    @model_validator(mode="after")
    def _enough_rows_per_class(self) -> TrainingParameters:
        """Validated data always splits: each class reaches the test split and every CV fold."""
        rows = self.dataset.min_rows_per_class
        if rows * self.split.test_size < 1:
            raise ValueError(
                f"dataset.min_rows_per_class ({rows}) x split.test_size ({self.split.test_size}) "
                "must be at least 1, so every class reaches the test split"
            )
        if rows * (1 - self.split.test_size) < self.cv_folds:
            raise ValueError(
                f"dataset.min_rows_per_class ({rows}) x (1 - split.test_size) must be at least "
                f"cv_folds ({self.cv_folds}), so every class is in each CV fold"
            )
        return self


class ConfigError(ValueError):
    """The run config cannot be used; the message says which entries are wrong."""


def check_training_config(path: str | Path) -> TrainingParameters:
    """Validate a run config's parameters, naming each bad entry by its place in the file."""
    try:
        raw = yaml.safe_load(Path(path).read_text())
        if not isinstance(raw, dict) or not isinstance(raw.get("parameters"), dict):
            raise ConfigError(f"{path}: needs a `parameters:` mapping (see configs/training.yaml)")
        if not isinstance(raw.get("model"), dict) or not raw["model"].get("name"):
            raise ConfigError(f"{path}: needs `model: name:`, the model to version and promote")
        return TrainingParameters(**raw["parameters"])
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from error
    except ValidationError as error:
        lines = [
            f"  - {'.'.join(['parameters', *map(str, e['loc'])])}: {e['msg']}"
            for e in error.errors()
        ]
        raise ConfigError(f"{path}: invalid configuration:\n" + "\n".join(lines)) from error


def load_class(path: str) -> type:
    """Import `package.module.Name` and return the class, with an error that names the path."""
    module_name, _, class_name = path.rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError, ValueError) as error:
        raise ValueError(f"cannot import estimator {path!r}: {error}") from error


def configured_model_name(path: str | Path) -> str:
    """The model a config trains: the name every other command (predict, export, serve) uses."""
    try:
        raw = yaml.safe_load(Path(path).read_text())
        return str(raw["model"]["name"])
    except (yaml.YAMLError, TypeError, KeyError) as error:
        raise ConfigError(
            f"{path}: needs `model: name:`, the model to version and serve"
        ) from error
