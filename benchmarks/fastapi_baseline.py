"""The baseline service: the seed project's approach, FastAPI + a joblib file, one process.

`uvicorn benchmarks.fastapi_baseline:app` with MODEL_FILE pointing at a joblib model.
/predict validates like our service (strict numbers, ranges, no extra fields); the
columnar /predict_batch checks numbers only, not ranges, so there the baseline does a
little less work than ours.
"""

from __future__ import annotations

import os

import joblib
import numpy as np
from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field

from service.contract import probabilities

NAMES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
model = joblib.load(os.environ["MODEL_FILE"])
classes = [str(label) for label in model.classes_]
app = FastAPI()


class Iris(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
    sepal_length: float = Field(ge=0.1, le=15)
    sepal_width: float = Field(ge=0.1, le=10)
    petal_length: float = Field(ge=0.1, le=15)
    petal_width: float = Field(ge=0.05, le=5)


class Records(BaseModel):
    records: list[Iris] = Field(min_length=1, max_length=1000)


class Columns(BaseModel):
    model_config = ConfigDict(strict=True, allow_inf_nan=False)
    sepal_length: list[float]
    sepal_width: list[float]
    petal_length: list[float]
    petal_width: list[float]


class Batch(BaseModel):
    columns: Columns


def _probabilities(matrix: np.ndarray) -> np.ndarray:
    return probabilities(model, matrix)  # the same model call as ours: only serving differs


@app.post("/predict")
async def predict(body: Records) -> dict:
    matrix = np.array([[getattr(r, n) for n in NAMES] for r in body.records])
    probs = _probabilities(matrix)
    return {
        "predictions": [
            {"label": classes[i], "probabilities": dict(zip(classes, row.tolist(), strict=True))}
            for i, row in zip(probs.argmax(axis=1), probs, strict=True)
        ]
    }


@app.post("/predict_batch")
async def predict_batch(body: Batch) -> dict:
    probs = _probabilities(np.column_stack([getattr(body.columns, n) for n in NAMES]))
    return {
        "labels": np.asarray(classes, dtype=object)[probs.argmax(axis=1)].tolist(),
        "probabilities": {c: probs[:, i].tolist() for i, c in enumerate(classes)},
    }
