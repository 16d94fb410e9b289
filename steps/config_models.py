"""Pydantic models of the run config's parameters, so a bad config fails before any step runs.

No ZenML import here: the service and the command line reuse the dataset schema cheaply.
"""

from __future__ import annotations

import difflib
import importlib
import itertools
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def as_texts(value: Any) -> Any:
    """Categories and labels are text: YAML reads `[0, 1]` or `[yes, no]` as numbers and
    booleans, which mean the labels "0", "1", "true", "false" here."""
    if isinstance(value, list):
        return [str(item).lower() if isinstance(item, bool) else str(item) for item in value]
    return value


class NumericFeature(_Strict):
    """A number, optionally within an inclusive range; missing values refused or imputed."""

    type: Literal["numeric"] = "numeric"
    min: float | None = None
    max: float | None = None
    missing: Literal["refuse", "median", "mean", "most_frequent", "constant"] = "refuse"
    fill_value: float | None = Field(default=None, description="with missing: constant")

    @model_validator(mode="after")
    def _ordered(self) -> NumericFeature:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        _check_fill_value(self.missing, self.fill_value)
        return self


class CategoricalFeature(_Strict):
    """Text values from a set: listed here, or `learned` from the training data.

    `unknown` says what serving and batch inference do with a value outside the set:
    `refuse` it (the request schema is an enum), or `ignore` it (every one-hot column 0).
    """

    type: Literal["categorical"]
    categories: list[str] | Literal["learned"] = "learned"
    unknown: Literal["refuse", "ignore"] = "refuse"
    missing: Literal["refuse", "most_frequent", "constant"] = "refuse"
    fill_value: str | None = Field(default=None, description="with missing: constant")

    @field_validator("categories", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        return as_texts(value)

    @field_validator("categories")
    @classmethod
    def _distinct(cls, value: list[str] | str) -> list[str] | str:
        if isinstance(value, list):
            if len(value) < 1:
                raise ValueError("list at least one category, or write `learned`")
            if len(set(value)) != len(value):
                raise ValueError(f"categories repeat: {value}")
        return value

    @model_validator(mode="after")
    def _fill(self) -> CategoricalFeature:
        _check_fill_value(self.missing, self.fill_value)
        return self

    @property
    def learned(self) -> bool:
        return self.categories == "learned"


def _check_fill_value(missing: str, fill_value: Any) -> None:
    if missing == "constant" and fill_value is None:
        raise ValueError("missing: constant needs a fill_value")
    if missing != "constant" and fill_value is not None:
        raise ValueError(f"fill_value is used only with missing: constant (not {missing})")


def _feature_type(value: Any) -> str:
    """`type:` picks the kind; a feature without one is numeric, as Iris's are."""
    if isinstance(value, dict):
        return value.get("type", "numeric")
    return getattr(value, "type", "numeric")


Feature = Annotated[
    Annotated[NumericFeature, Tag("numeric")] | Annotated[CategoricalFeature, Tag("categorical")],
    Discriminator(_feature_type),
]


class ReadOptions(_Strict):
    """How the CSV is read: a header row or the names given here, delimiter, NA markers."""

    header: bool = True
    columns: list[str] | None = Field(
        default=None, description="every column's name, in file order, when header: false"
    )
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    na_values: list[str] = Field(
        default_factory=lambda: [""], description="cells read as missing values"
    )

    @field_validator("na_values", mode="before")
    @classmethod
    def _na_as_text(cls, value: Any) -> Any:
        return [str(item) for item in value] if isinstance(value, list) else value

    @model_validator(mode="after")
    def _names(self) -> ReadOptions:
        if not self.header and not self.columns:
            raise ValueError("header: false needs `columns:`, the name of each column in order")
        if self.header and self.columns:
            raise ValueError("`columns:` names a file without a header row: set header: false")
        if self.columns and len(set(self.columns)) != len(self.columns):
            raise ValueError(f"column names repeat: {self.columns}")
        return self


class DatasetSpec(_Strict):
    """Where the data is, how to read it and what a valid row looks like."""

    path: str
    target: str
    classes: list[str] = Field(min_length=2)
    features: dict[str, Feature] = Field(min_length=1)
    ignore: list[str] = Field(
        default_factory=list, description="columns of the file that are not features (an ID)"
    )
    read: ReadOptions = Field(default_factory=ReadOptions)
    min_rows_per_class: int = Field(default=5, ge=1)
    max_categories: int = Field(
        default=100, ge=2, description="most distinct values a learned categorical may have"
    )

    @field_validator("classes", mode="before")
    @classmethod
    def _classes_as_text(cls, value: Any) -> Any:
        return as_texts(value)

    @model_validator(mode="after")
    def _columns_agree(self) -> DatasetSpec:
        if self.target in self.features:
            raise ValueError(f"the target {self.target!r} is also listed as a feature")
        if overlap := [name for name in self.ignore if name in (*self.features, self.target)]:
            raise ValueError(f"ignore lists configured columns: {', '.join(overlap)}")
        if len(set(self.classes)) != len(self.classes):
            raise ValueError(f"classes repeat: {self.classes}")
        if self.read.columns:
            named = set(self.read.columns)
            if absent := [name for name in self.columns if name not in named]:
                raise ValueError(
                    f"read.columns does not name {', '.join(absent)}: list every column"
                )
        return self

    @property
    def feature_names(self) -> list[str]:
        return list(self.features)

    @property
    def columns(self) -> list[str]:
        return [*self.features, self.target]

    @property
    def categorical(self) -> dict[str, CategoricalFeature]:
        return {n: f for n, f in self.features.items() if isinstance(f, CategoricalFeature)}

    @property
    def numeric(self) -> dict[str, NumericFeature]:
        return {n: f for n, f in self.features.items() if isinstance(f, NumericFeature)}

    def with_categories(self, learned: dict[str, list[str]]) -> DatasetSpec:
        """This spec with the categories learned from the data written in: what the model,
        the service's enums and batch inference then hold to."""
        features = {
            name: feature.model_copy(update={"categories": learned[name]})
            if name in learned
            else feature
            for name, feature in self.features.items()
        }
        return self.model_copy(update={"features": features})


class SplitSpec(_Strict):
    test_size: float = Field(default=0.3, gt=0, lt=1)


class CandidateSpec(_Strict):
    """One model family: an sklearn estimator, fixed parameters and a grid to search."""

    estimator: str = Field(description="Import path, e.g. sklearn.svm.SVC")
    params: dict[str, Any] = Field(default_factory=dict)
    search_space: dict[str, list[Any]] = Field(default_factory=dict)
    scale_features: bool = True
    calibrate: bool = Field(
        default=False,
        description="wrap in CalibratedClassifierCV: probabilities for models without them",
    )

    @field_validator("estimator")
    @classmethod
    def _importable(cls, path: str) -> str:
        load_class(path)
        return path


# The metrics CV selection and the quality gate may use; `recall:<class>` and
# `precision:<class>` name one class (say the rare one of an imbalanced label).
METRICS = ("accuracy", "balanced_accuracy", "macro_f1", "roc_auc")
CLASS_METRICS = ("recall", "precision")


def metric_problem(name: str, classes: list[str]) -> str | None:
    """Why `name` is not a metric this project computes for these classes, or None."""
    kind, _, label = name.partition(":")
    if not label and kind in METRICS:
        return None
    if kind in CLASS_METRICS and label:
        if label in classes:
            return None
        return f"{name!r} names class {label!r}, which is not one of {', '.join(classes)}"
    choices = ", ".join([*METRICS, *(f"{kind}:<class>" for kind in CLASS_METRICS)])
    return f"unknown metric {name!r}; choose one of {choices}"


class QualityGate(_Strict):
    """A new model must reach `min_value` on `metric` (test split) to be promoted."""

    metric: str = "accuracy"
    min_value: float = Field(ge=0, le=1)


class TrainingParameters(_Strict):
    """The `parameters:` block of configs/training.yaml, checked before ZenML sees it."""

    dataset: DatasetSpec
    split: SplitSpec
    candidates: dict[str, CandidateSpec] = Field(min_length=1)
    cv_folds: int = Field(ge=2)
    cv_metric: str = Field(default="accuracy", description="what CV selection maximises")
    cv_max_rows: int | None = Field(
        default=20000,
        ge=100,
        description="the grid search runs on a stratified sample of at most this many "
        "training rows; the chosen settings are then fitted on all of them (null: all)",
    )
    quality_gate: QualityGate
    seed: int

    @model_validator(mode="after")
    def _known_metrics(self) -> TrainingParameters:
        metrics = {"cv_metric": self.cv_metric, "quality_gate.metric": self.quality_gate.metric}
        for place, name in metrics.items():
            if why := metric_problem(name, self.dataset.classes):
                raise ValueError(f"{place}: {why}")
        return self

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


Place = tuple[str | int, ...]  # where an entry is in `parameters:`, e.g. ("seed",)


def _place(loc: Place) -> str:
    """`parameters.candidates.knn.search_space.n_neighbors[0]`: list positions in brackets."""
    text = "parameters"
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def check_training_config(path: str | Path) -> TrainingParameters:
    """Validate a run config's parameters, naming each bad entry by its place in the file.

    After the schema, each candidate's estimator is asked about its parameters and search
    space (`candidate_problems`), so a typo or a value scikit-learn refuses stops the run
    here, not in the middle of a grid search.
    """
    try:
        raw = yaml.safe_load(Path(path).read_text())
        if not isinstance(raw, dict) or not isinstance(raw.get("parameters"), dict):
            raise ConfigError(f"{path}: needs a `parameters:` mapping (see configs/training.yaml)")
        if not isinstance(raw.get("model"), dict) or not raw["model"].get("name"):
            raise ConfigError(f"{path}: needs `model: name:`, the model to version and promote")
        problems: list[tuple[Place, str]] = []
        parameters = None
        try:
            parameters = TrainingParameters(**raw["parameters"])
        except ValidationError as error:
            problems.extend((tuple(e["loc"]), e["msg"]) for e in error.errors())
        for name, spec in _candidates(parameters, raw["parameters"]).items():
            problems.extend(
                (("candidates", name, *loc), msg) for loc, msg in candidate_problems(spec)
            )
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from error
    if problems:
        lines = [f"  - {_place(loc)}: {msg}" for loc, msg in problems]
        raise ConfigError(f"{path}: invalid configuration:\n" + "\n".join(lines))
    assert parameters is not None
    return parameters


def _candidates(parameters: TrainingParameters | None, raw: dict) -> dict[str, CandidateSpec]:
    """The candidates that passed the schema, also when another entry of the config did not."""
    if parameters is not None:
        return parameters.candidates
    entries = raw.get("candidates")
    valid = {}
    for name, entry in (entries if isinstance(entries, dict) else {}).items():
        try:
            valid[str(name)] = CandidateSpec(**entry)
        except (ValidationError, TypeError):
            continue  # already reported by the schema
    return valid


def candidate_problems(spec: CandidateSpec) -> list[tuple[Place, str]]:
    """What the estimator itself would refuse, found before any step runs.

    In order, each stage only when the one before found nothing: parameter names (the keys
    of `get_params()`, which `set_params` accepts), then each value against scikit-learn's
    own constraints, then `predict_proba` on every grid point.
    """
    estimator_class = load_class(spec.estimator)
    valid = estimator_param_names(estimator_class)
    if valid is None:
        return [
            (("estimator",), f"{spec.estimator} is not a scikit-learn estimator (no get_params)")
        ]
    problems: list[tuple[Place, str]] = []
    for block in ("params", "search_space"):
        for name in getattr(spec, block):
            if name not in valid:
                problems.append(((block, name), _unknown(name, spec.estimator, valid)))
    if problems:
        return problems
    for name, value in spec.params.items():
        if why := sklearn_constraint_violation(estimator_class, name, value):
            problems.append((("params", name), why))
    for name, values in spec.search_space.items():
        if not values:
            problems.append((("search_space", name), "an empty list: give at least one value"))
        for position, value in enumerate(values):
            if why := sklearn_constraint_violation(estimator_class, name, value):
                problems.append((("search_space", name, position), why))
    if problems:
        return problems
    return _probability_problems(spec, estimator_class)


def estimator_param_names(estimator_class: type) -> set[str] | None:
    """The names `set_params` accepts (public API: the keys of `get_params()`)."""
    try:
        return set(estimator_class().get_params())
    except AttributeError:
        return None
    except TypeError:  # required constructor arguments: fall back to the signature
        import inspect

        signature = inspect.signature(estimator_class)
        return {
            name
            for name, parameter in signature.parameters.items()
            if parameter.kind not in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD)
        }


def _unknown(name: str, estimator: str, valid: set[str]) -> str:
    by_lower = {option.lower(): option for option in valid}
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.5)
    hint = (
        f"did you mean {by_lower[close[0]]!r}?" if close else "it has: " + ", ".join(sorted(valid))
    )
    return f"unknown parameter {name!r} of {estimator}; {hint}"


def _probability_problems(spec: CandidateSpec, estimator_class: type) -> list[tuple[Place, str]]:
    """Every grid point must give a model with `predict_proba` (sklearn's `available_if`
    hides it on, e.g., SVC without `probability=True`, so `hasattr` on an instance says)."""
    try:
        estimator = estimator_class(**spec.params)
    except Exception as error:  # any refusal of the constructor is the user's to fix
        return [(("params",), f"{spec.estimator} cannot be built with these params: {error}")]
    if spec.calibrate:
        return []  # CalibratedClassifierCV gives every estimator predict_proba
    names = list(spec.search_space)
    for values in itertools.product(*spec.search_space.values()):
        point = dict(zip(names, values, strict=True))
        if point:
            estimator.set_params(**point)
        if not hasattr(estimator, "predict_proba"):
            where = " with " + ", ".join(f"{k}={v!r}" for k, v in point.items()) if point else ""
            hint = (
                "; set `calibrate: true` on the candidate (scikit-learn's CalibratedClassifierCV "
                "gives it probabilities)"
            )
            return [
                (
                    (),
                    f"{spec.estimator}{where} has no predict_proba: the service and batch "
                    f"inference need class probabilities{hint}",
                )
            ]
    return []


def sklearn_constraint_violation(estimator_class: type, name: str, value: Any) -> str | None:
    """Why scikit-learn would refuse `value` for the parameter `name`, or None.

    The one place that uses scikit-learn's private parameter validation: an estimator
    declares its constraints in the class attribute `_parameter_constraints`, and
    `BaseEstimator._validate_params` checks them when it fits, with
    `sklearn.utils._param_validation.validate_parameter_constraints` (scikit-learn >= 1.2;
    read in 1.9.1). This calls that same function before any step runs. Estimators that
    declare no constraints (many third-party ones) are not checked here; a missing or
    changed upstream function also skips the check (fit still validates), and
    tests/steps/test_search_space_checks.py fails so the change is seen.
    """
    constraints = getattr(estimator_class, "_parameter_constraints", None)
    if not isinstance(constraints, dict):
        return None
    try:
        from sklearn.utils._param_validation import (
            InvalidParameterError,
            validate_parameter_constraints,
        )
    except ImportError:
        return None
    try:
        validate_parameter_constraints(
            constraints, {name: value}, caller_name=estimator_class.__name__
        )
    except InvalidParameterError as error:
        return str(error)
    return None


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


# --- configs/monitoring.yaml ------------------------------------------------------------


class MonitoringWindow(_Strict):
    """Which logged rows `monitor` reads: those of the last `since_hours`, and of them the
    newest `last_rows` (either may be null; `--since` / `--last` replace both)."""

    since_hours: float | None = Field(default=24, gt=0)
    last_rows: int | None = Field(default=None, ge=1)


class DriftSettings(_Strict):
    alpha: float = Field(
        default=0.05, gt=0, lt=1, description="false discovery rate (Benjamini-Hochberg)"
    )


class RetrainThresholds(_Strict):
    """When `monitor` recommends retraining; any one reason is enough."""

    drifted_features: int | None = Field(
        default=1, ge=1, description="at least this many drifted features (null: drift alone never)"
    )
    class_shift: bool = Field(
        default=True, description="the predicted classes' shares moved (chi-square p < alpha)"
    )
    accuracy_below: float | None = Field(
        default=None, ge=0, le=1, description="production's live accuracy under this (null: off)"
    )
    accuracy_drop: float | None = Field(
        default=0.1,
        gt=0,
        le=1,
        description="production's live accuracy this much under its test accuracy (null: off)",
    )
    min_feedback_rows: int = Field(
        default=100, ge=1, description="the fewest rows with feedback that judge live accuracy"
    )


class MonitoringConfig(_Strict):
    """configs/monitoring.yaml: where the log is, which rows, how to test, when to retrain."""

    log: str | None = Field(
        default=None,
        description="a folder or s3://bucket/prefix (null: where the service writes, "
        "SERVING_LOG_S3, SERVING_LOG_DIR or BENTOML_HOME/inference_log)",
    )
    window: MonitoringWindow = Field(default_factory=MonitoringWindow)
    min_rows: int = Field(default=100, ge=2, description="fewer logged rows: no verdict")
    drift: DriftSettings = Field(default_factory=DriftSettings)
    retrain_when: RetrainThresholds = Field(default_factory=RetrainThresholds)


def check_monitoring_config(path: str | Path) -> MonitoringConfig:
    """configs/monitoring.yaml validated, each bad entry named by its place in the file."""
    try:
        raw = yaml.safe_load(Path(path).read_text()) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from error
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: needs a mapping (see configs/monitoring.yaml)")
    try:
        return MonitoringConfig(**raw)
    except ValidationError as error:
        lines = [
            f"  - {'.'.join(str(part) for part in e['loc'])}: {e['msg']}" for e in error.errors()
        ]
        raise ConfigError(f"{path}: invalid configuration:\n" + "\n".join(lines)) from None
