"""Iris-like data of any size, for the scale benchmarks.

Same four feature columns and `species` target as data/raw/iris.csv, drawn per class from
normal distributions with Iris's own class means and spreads, rounded to 0.1 cm like the
original and clipped into the ranges configs/training.yaml accepts, so validation passes.

    python benchmarks/synthetic_iris.py OUT.csv ROWS
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
TARGET = "species"
# Per class: (means, standard deviations) of the four features in Fisher's Iris data.
CLASSES = {
    "setosa": ([5.01, 3.43, 1.46, 0.25], [0.35, 0.38, 0.17, 0.11]),
    "versicolor": ([5.94, 2.77, 4.26, 1.33], [0.52, 0.31, 0.47, 0.20]),
    "virginica": ([6.59, 2.97, 5.55, 2.03], [0.64, 0.32, 0.55, 0.27]),
}
# Inside configs/training.yaml's ranges (petal_width allows 0.05, rounding needs 0.1).
LOW = 0.1
HIGH = [15.0, 10.0, 15.0, 5.0]


def make_iris_like(rows: int, seed: int = 0) -> pd.DataFrame:
    """`rows` rows, classes in equal shares (as in Iris), shuffled."""
    rng = np.random.default_rng(seed)
    labels = np.resize(np.array(list(CLASSES)), rows)
    rng.shuffle(labels)
    values = np.empty((rows, len(FEATURES)))
    for label, (means, spreads) in CLASSES.items():
        chosen = labels == label
        values[chosen] = rng.normal(means, spreads, size=(int(chosen.sum()), len(FEATURES)))
    values = np.clip(np.round(values, 1), LOW, HIGH)
    frame = pd.DataFrame(values, columns=FEATURES)
    frame[TARGET] = labels
    return frame


def write_iris_like(path: Path, rows: int, seed: int = 0) -> Path:
    """Write the CSV the way data/make_iris.py writes Iris (one decimal)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    make_iris_like(rows, seed).to_csv(path, index=False, float_format="%.1f", lineterminator="\n")
    return path


if __name__ == "__main__":
    write_iris_like(Path(sys.argv[1]), int(sys.argv[2]))
