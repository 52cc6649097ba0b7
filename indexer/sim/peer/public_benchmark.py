"""Public anomaly benchmarks for `make bench-public`, built the way ODDS builds its tables from
data scikit-learn ships (this machine reaches no download site):

- wbc: the Wisconsin breast cancer set, every benign case, 21 malignant ones as anomalies;
- wine: classes 2 and 3, 10 of class 1 as anomalies;
- digits-D (D = 0..9): as ODDS builds "optdigits" from the same UCI data, every other digit is
  normal and 3% of the rows are digit D.

Every table is drawn once per seed (which anomalies are kept), written as CSV with an
`is_anomaly` column, and scored by scikit-learn's IsolationForest (100 trees of up to 256 rows,
every core, random_state = the seed). One JSON line per table and seed says where the CSV is and
how the IsolationForest did; `bench-public` scores the same files with datapact's detector.

usage: public_benchmark.py OUT_DIR SEED [SEED ...]
"""

import json
import os
import sys
import time

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.ensemble import IsolationForest
from sklearn.metrics import average_precision_score, roc_auc_score


def recall_at_fpr(y, s, fpr=0.05):
    neg = np.sort(s[y == 0])[::-1]
    allowed = int(np.floor(len(neg) * fpr))
    threshold = neg[allowed] if allowed < len(neg) else -np.inf
    return float(np.mean(s[y == 1] > threshold))


def build(data, inlier, outlier, n_out, seed):
    rng = np.random.default_rng(seed)
    x, y = data.data, data.target
    inl = np.where(np.isin(y, inlier))[0]
    out = rng.choice(np.where(np.isin(y, outlier))[0], size=n_out, replace=False)
    idx = np.concatenate([inl, out])
    names = [str(c).replace(" ", "_") for c in data.feature_names]
    df = pd.DataFrame(x[idx], columns=names)
    df["is_anomaly"] = np.r_[np.zeros(len(inl), int), np.ones(n_out, int)]
    return df


def tables(seed):
    cancer, wine, digits = load_breast_cancer(), load_wine(), load_digits()
    # breast cancer: target 0 = malignant, 1 = benign
    yield "wbc", build(cancer, [1], [0], 21, seed)
    yield "wine", build(wine, [1, 2], [0], 10, seed)
    for d in range(10):
        others = [k for k in range(10) if k != d]
        n_in = int(np.isin(digits.target, others).sum())
        n_out = max(1, round(0.03 * n_in / 0.97))
        yield f"digits-{d}", build(digits, others, [d], n_out, seed)


def main():
    out_dir, seeds = sys.argv[1], [int(s) for s in sys.argv[2:]] or [0]
    os.makedirs(out_dir, exist_ok=True)
    for seed in seeds:
        for name, df in tables(seed):
            path = os.path.join(out_dir, f"{name}-s{seed}.csv")
            df.to_csv(path, index=False)
            x = df.drop(columns=["is_anomaly"]).to_numpy(dtype=float)
            y = df["is_anomaly"].to_numpy()
            t = time.time()
            model = IsolationForest(
                n_estimators=100, max_samples="auto", random_state=seed, n_jobs=-1
            ).fit(x)
            s = -model.score_samples(x)
            seconds = time.time() - t
            print(
                json.dumps(
                    {
                        "set": name,
                        "seed": seed,
                        "csv": path,
                        "rows": len(df),
                        "anomalies": int(y.sum()),
                        "iforest_pr_auc": float(average_precision_score(y, s)),
                        "iforest_roc_auc": float(roc_auc_score(y, s)),
                        "iforest_recall_at_5pct_fpr": recall_at_fpr(y, s),
                        "iforest_seconds": seconds,
                    }
                ),
                flush=True,
            )


if __name__ == "__main__":
    main()
