"""Fits a scikit-learn MLP the size of models/mlp (256-512-512-10) to random
data and dumps it to DIR/model.joblib, for KServe's sklearn server in the
batcher bench (bench/transformer/batcher.sh). Its accuracy is meaningless;
its cost per call is what the bench measures."""

import os
import sys
import warnings

import joblib
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(7)
x = rng.standard_normal((2000, 256)).astype(np.float32)
y = rng.integers(0, 10, 2000)
warnings.simplefilter("ignore", ConvergenceWarning)
model = MLPClassifier(hidden_layer_sizes=(512, 512), max_iter=3, random_state=7).fit(x, y)
joblib.dump(model, os.path.join(out, "model.joblib"))
print(os.path.join(out, "model.joblib"))
