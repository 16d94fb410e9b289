"""The contract between training and serving: the labels and metadata of an export.

The export (deploy/export.py) writes these onto the BentoML model; the service, its
`/model` card, the one-row `python run.py predict` and the image's OCI labels read them
back through the same models, so a key renamed on one side fails loudly on the other.
Only pydantic and the standard library here: the service imports this module flat inside
the bento (service/bentofile.yaml packs it), training code as `service.export_contract`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError

# The one way every side (commands, batch inference, the service) says there is no export.
NOTHING_PROMOTED = (
    "nothing was promoted yet. Train and promote one with `make run` (or `python run.py`) first."
)


def bentoml_store() -> Path:
    """BentoML's home, as BentoML resolves it (BENTOML_HOME, else ~/bentoml)."""
    return Path(os.environ.get("BENTOML_HOME", "~/bentoml")).expanduser()


def no_model_in_store(name: str) -> str:
    """The message when model `name` has no export in this BentoML store."""
    return f"No model '{name}' in the BentoML store ({bentoml_store()}): {NOTHING_PROMOTED}"


class ExportLabels(BaseModel):
    """Lineage, one hop long: the ZenML model version, the run that trained it, its data.

    BentoML labels are strings; the field aliases are the label keys.
    """

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    model: str = Field(alias="zenml_model")
    version: str = Field(alias="zenml_model_version")
    run_id: str = Field(alias="zenml_run_id")
    data_md5: str

    def as_labels(self) -> dict[str, str]:
        return self.model_dump(by_alias=True)

    @classmethod
    def of(cls, labels: dict[str, str]) -> ExportLabels | None:
        """The labels of one of our exports, or None for another BentoML model.

        The one rule for every side (the service, the commands, the image labels): labels
        that do not fit, such as a `zenml_model` without the others, are not an export, so
        one foreign model in the store cannot stop the service from starting.
        """
        try:
            return cls.model_validate(labels)
        except ValidationError:
            return None


class FeatureSchema(BaseModel):
    """One feature as the training data's schema allows it: a number (inclusive range, when
    one was set) or one of the categories; `nullable` where the model imputes a missing
    value; `unknown: ignore` where a category outside the list is taken (as none of them)."""

    model_config = ConfigDict(frozen=True)

    name: str
    kind: Literal["numeric", "categorical"] = "numeric"
    min: float | None = None
    max: float | None = None
    categories: list[str] | None = None
    unknown: Literal["refuse", "ignore"] | None = None  # categorical only
    nullable: bool = False


class ExportMetadata(BaseModel):
    """What the service needs to validate requests and describe itself.

    Written with `exclude_none` (BentoML's metadata takes no None); exports made before
    the CV metric was a setting say `cv_accuracy`.
    """

    model_config = ConfigDict(frozen=True)

    target: str
    classes: list[str]
    features: list[FeatureSchema]
    model_family: str
    hyperparameters: dict[str, Any]
    cv_metric: str = "accuracy"
    cv_score: float = Field(validation_alias=AliasChoices("cv_score", "cv_accuracy"))
    test_accuracy: float
    test_balanced_accuracy: float | None = None
    test_macro_f1: float
    test_roc_auc: float | None = None
    test_rows: int

    @property
    def feature_names(self) -> list[str]:
        return [feature.name for feature in self.features]

    def feature_dicts(self) -> list[dict[str, Any]]:
        return [feature.model_dump(exclude_none=True) for feature in self.features]

    def metrics(self) -> dict[str, float | int]:
        measured = {
            f"cv_{self.cv_metric}": self.cv_score,
            "test_accuracy": self.test_accuracy,
            "test_balanced_accuracy": self.test_balanced_accuracy,
            "test_macro_f1": self.test_macro_f1,
            "test_roc_auc": self.test_roc_auc,
            "test_rows": self.test_rows,
        }
        return {key: value for key, value in measured.items() if value is not None}
