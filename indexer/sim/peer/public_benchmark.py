"""Public anomaly benchmarks for `datapact detect`, built from data scikit-learn ships (no
download): the Wisconsin breast cancer set as ODDS builds "WBC" (every benign case, 21
malignant ones as the anomalies) and the wine set as ODDS builds "wine" (classes 2 and 3,
10 of class 1 as the anomalies). Writes each as CSV with an `is_anomaly` column and prints
scikit-learn's IsolationForest on it, for comparison with `datapact detect` on the same file.

usage: public_benchmark.py OUT_DIR
"""

import json
import os
import sys

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.ensemble import IsolationForest
from sklearn.metrics import average_precision_score, roc_auc_score


def recall_at_fpr(y, s, fpr=0.05):
    neg = np.sort(s[y == 0])[::-1]
    allowed = int(np.floor(len(neg) * fpr))
    threshold = neg[allowed] if allowed < len(neg) else -np.inf
    return float(np.mean(s[y == 1] > threshold))


def build(name, data, inlier, outlier, n_out, seed):
    rng = np.random.default_rng(seed)
    x, y = data.data, data.target
    inl = np.where(np.isin(y, inlier))[0]
    out = rng.choice(np.where(np.isin(y, outlier))[0], size=n_out, replace=False)
    idx = np.concatenate([inl, out])
    df = pd.DataFrame(x[idx], columns=[c.replace(" ", "_") for c in data.feature_names])
    df["is_anomaly"] = np.r_[np.zeros(len(inl), int), np.ones(n_out, int)]
    return name, df


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    sets = [
        # breast cancer: target 0 = malignant, 1 = benign
        build("wbc", load_breast_cancer(), [1], [0], 21, 0),
        build("wine", load_wine(), [1, 2], [0], 10, 0),
    ]
    for name, df in sets:
        path = os.path.join(out_dir, f"{name}.csv")
        df.to_csv(path, index=False)
        x = df.drop(columns=["is_anomaly"]).to_numpy()
        y = df["is_anomaly"].to_numpy()
        model = IsolationForest(n_estimators=100, random_state=0).fit(x)
        s = -model.score_samples(x)
        print(
            json.dumps(
                {
                    "set": name,
                    "csv": path,
                    "rows": len(df),
                    "anomalies": int(y.sum()),
                    "iforest_pr_auc": round(float(average_precision_score(y, s)), 3),
                    "iforest_roc_auc": round(float(roc_auc_score(y, s)), 3),
                    "iforest_recall_at_5pct_fpr": round(recall_at_fpr(y, s), 3),
                }
            )
        )


if __name__ == "__main__":
    main()
