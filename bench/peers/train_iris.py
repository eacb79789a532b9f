"""Trains a small iris classifier and dumps it to DIR/model.joblib (the
layout both KServe's sklearn server and MLServer's runtime load)."""

import os
import sys

import joblib
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
x, y = load_iris(return_X_y=True)
model = LogisticRegression(max_iter=500).fit(x, y)
joblib.dump(model, os.path.join(out, "model.joblib"))
print(os.path.join(out, "model.joblib"))
