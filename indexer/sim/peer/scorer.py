"""The scorer race of `make bench-analytics`: scikit-learn's IsolationForest (100 trees of 256,
every core) fitted on, and scoring, the feature matrix the peer pipeline built — the very rows
datapact's detector scores in the same benchmark. Reads the matrix before the clock starts;
prints the fit-and-score seconds as one JSON line and writes `row,score`.

usage: scorer.py MATRIX_CSV OUT_CSV
"""

import json
import sys
import time

import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest


def main():
    matrix, out = sys.argv[1], sys.argv[2]
    x = pd.read_csv(matrix).drop(columns=["consumer", "window"]).to_numpy(dtype=float)
    t = time.time()
    model = IsolationForest(n_estimators=100, max_samples=256, random_state=0, n_jobs=-1)
    model.fit(x)
    s = -model.score_samples(x)
    seconds = time.time() - t
    pd.DataFrame({"row": np.arange(len(s)), "score": s}).to_csv(out, index=False)
    print(json.dumps({"seconds": seconds, "rows": int(x.shape[0]), "features": int(x.shape[1])}))


if __name__ == "__main__":
    main()
