"""Compares a served iris model with scikit-learn on all 150 iris rows.

Usage: sklearn_parity.py PREDICT_URL
Trains the model exactly as models/make_models.py does, sends every row as
V1 instances, and exits non-zero listing any row where they differ.
"""
import json
import sys
import urllib.request

from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

x, y = load_iris(return_X_y=True)
want = LogisticRegression(max_iter=1000).fit(x, y).predict(x).tolist()
req = urllib.request.Request(
    sys.argv[1], data=json.dumps({"instances": x.tolist()}).encode(), headers={"Content-Type": "application/json"}
)
got = json.load(urllib.request.urlopen(req))["predictions"]
diff = [i for i, (a, b) in enumerate(zip(want, got)) if a != b]
if len(got) != len(want) or diff:
    print(f"rows differing from scikit-learn: {diff} (got {len(got)} predictions)")
    sys.exit(1)
print(f"all {len(want)} rows match scikit-learn")
