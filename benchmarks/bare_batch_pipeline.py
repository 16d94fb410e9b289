"""Baseline: a bare 3-step ZenML batch inference pipeline (load, predict, save).

ZenML as shipped, with nothing of ours around it: no production check, no staging of the
input through the artifact store, no feature validation, no drift check, no summary. The
model is the production version's `classifier` on the Model Control Plane, as ours uses.

    python benchmarks/bare_batch_pipeline.py --model NAME --input IN.csv --output OUT.csv
"""

from __future__ import annotations

import argparse

import pandas as pd
from sklearn.pipeline import Pipeline
from zenml import Model, get_pipeline_context, pipeline, step
from zenml.enums import ModelStages


@step
def load_csv(path: str) -> pd.DataFrame:
    return pd.read_csv(path)


@step
def predict(model: Pipeline, frame: pd.DataFrame) -> pd.DataFrame:
    scored = frame.copy()
    scored["predicted_label"] = model.predict(frame)
    return scored


@step
def save_csv(frame: pd.DataFrame, path: str) -> None:
    frame.to_csv(path, index=False)


@pipeline(name="bare_batch_baseline", enable_cache=False)
def bare_batch_pipeline(input_path: str, output_path: str) -> None:
    model = get_pipeline_context().model.get_model_artifact("classifier")
    save_csv(predict(model, load_csv(input_path)), output_path)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--input", required=True)
    parser.add_argument("--output", required=True)
    arguments = parser.parse_args()
    production = Model(name=arguments.model, version=ModelStages.PRODUCTION)
    bare_batch_pipeline.with_options(model=production)(
        input_path=arguments.input, output_path=arguments.output
    )
