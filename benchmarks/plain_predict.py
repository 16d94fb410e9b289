"""Baseline for `python run.py predict`: a plain script, joblib.load + predict_proba."""

import sys

import joblib
import numpy as np

model = joblib.load(sys.argv[1])
row = np.array([[float(value) for value in sys.argv[2:]]])
probabilities = model.predict_proba(row)[0]
best = probabilities.argmax()
print(f"{model.classes_[best]} (probability {probabilities[best]:.2f})")
