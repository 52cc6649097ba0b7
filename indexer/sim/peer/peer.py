"""The analyst's pipeline of today, as datapact's yardstick in `make bench-analytics`.

Reads the indexed tables from Postgres the way datapact does — `COPY (query) TO STDOUT` as CSV,
parsed column-wise (pandas' pyarrow engine where pyarrow is installed, else its C parser) —
computes the consumer features per time window that datapact computes (the same definitions),
scores them with scikit-learn's IsolationForest on every core (`n_jobs=-1`), and writes one
score per (consumer, window), and the feature matrix it scored (OUT_CSV with `.features.csv`)
for the scorer-against-scorer race. Prints its figures as one JSON line: seconds from the
first line of `main` (the interpreter's start and the imports are reported apart, as
`import_seconds`; the benchmark also times the whole process), the read and the scoring
apart, and peak memory measured the same way as datapact's (the process's peak RSS).

usage: peer.py DATABASE_URL WINDOW_SECONDS OUT_CSV
"""

import time

T_IMPORTS = time.time()

import io
import json
import math
import resource
import sys

import numpy as np
import pandas as pd
import psycopg
from sklearn.ensemble import IsolationForest

REFUSED = {
    "refused_purpose": ["purpose_not_permitted"],
    "refused_no_agreement": ["no_agreement"],
    "refused_consent": ["consent_not_granted", "subject_required"],
    "refused_suspended": [
        "agreement_suspended",
        "consumer_suspended",
        "agreement_terminated",
        "agreement_expired",
    ],
}


try:
    import pyarrow  # noqa: F401

    CSV_ENGINE = "pyarrow"
except ImportError:
    CSV_ENGINE = "c"


def read(conn, sql):
    """A query's rows as datapact reads them: COPY to CSV, parsed column-wise."""
    buf = io.BytesIO()
    with conn.cursor() as cur:
        with cur.copy(f"copy ({sql}) to stdout with (format csv, header)") as copy:
            for chunk in copy:
                buf.write(chunk)
    buf.seek(0)
    return pd.read_csv(buf, engine=CSV_ENGINE)


def surprise(n, rate):
    rate = max(rate, 0.05)
    if n <= rate:
        return 0.0
    return (n * math.log(n / rate) - n + rate) / math.log(10)


def main():
    url, window, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    t0 = time.time()
    import_seconds = t0 - T_IMPORTS
    with psycopg.connect(url) as conn:
        blocks = read(conn, "select height, extract(epoch from time)::bigint as t from blocks")
        acc = read(
            conn,
            "select height, consumer, agreement_id, asset_id, purpose, subject, access_count from accesses",
        )
        den = read(
            conn,
            "select height, consumer, agreement_id, purpose, subject, reason from denied_attempts",
        )
        caps = read(
            conn,
            "select a.agreement_id, o.access_cap from agreements a join offers o using (offer_id)",
        )
    t_read = time.time() - t0

    acc = acc.merge(blocks, on="height").merge(caps, on="agreement_id", how="left")
    acc["window"] = acc["t"] // window
    acc["near"] = (acc["access_count"] >= 0.9 * acc["access_cap"]).astype(int)
    den = den.merge(blocks, on="height")
    den["window"] = den["t"] // window

    keys = ["consumer", "window"]
    a = acc.groupby(keys).agg(
        accesses=("height", "size"),
        assets=("asset_id", "nunique"),
        subjects=("subject", "nunique"),
        near_cap=("near", "sum"),
    )
    a["max_per_block"] = acc.groupby(keys + ["height"]).size().groupby(level=[0, 1]).max()
    d = den.groupby(keys).agg(refused=("height", "size"))
    for name, reasons in REFUSED.items():
        d[name] = den[den["reason"].isin(reasons)].groupby(keys).size()
    purposes = (
        pd.concat([acc[keys + ["purpose"]], den[keys + ["purpose"]]])
        .groupby(keys)["purpose"]
        .nunique()
        .rename("purposes_tried")
    )
    f = a.join(d, how="outer").join(purposes, how="left").fillna(0).reset_index()

    # the consumer's own rate: mean over its life (this window left out), or its 90th percentile
    last = f["window"].max()
    first = f.groupby("consumer")["window"].transform("min")
    alive = (last - first + 1).clip(lower=1)
    total = f.groupby("consumer")["accesses"].transform("sum")
    mean = np.where(alive > 1, (total - f["accesses"]) / (alive - 1).clip(lower=1), f["accesses"])

    def q90(g):
        counts = list(g["accesses"]) + [0] * int(last - g["window"].min() + 1 - len(g))
        return float(np.quantile(counts, 0.9, method="nearest"))

    high = f.groupby("consumer")[["accesses", "window"]].apply(q90).rename("high")
    f = f.join(high, on="consumer")
    rate = np.maximum(mean, f["high"])
    f["volume_surprise"] = [surprise(n, r) for n, r in zip(f["accesses"], rate)]
    f["new_actor_volume"] = np.where(f["window"] - first < 2, f["accesses"], 0)

    cols = [
        "accesses",
        "volume_surprise",
        "assets",
        "subjects",
        "max_per_block",
        "refused",
        "refused_purpose",
        "purposes_tried",
        "refused_no_agreement",
        "refused_consent",
        "refused_suspended",
        "near_cap",
        "new_actor_volume",
    ]
    x = np.log1p(f[cols].to_numpy(dtype=float))
    t_score = time.time()
    model = IsolationForest(n_estimators=100, max_samples=256, random_state=0, n_jobs=-1)
    model.fit(x)
    f["score"] = -model.score_samples(x)
    score_seconds = time.time() - t_score
    f[["consumer", "window", "score"]].to_csv(out, index=False)
    matrix = pd.DataFrame(x, columns=cols)
    matrix.insert(0, "window", f["window"].to_numpy())
    matrix.insert(0, "consumer", f["consumer"].to_numpy())
    matrix.to_csv(out.removesuffix(".csv") + ".features.csv", index=False)

    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "seconds": time.time() - t0,
                "import_seconds": import_seconds,
                "read_seconds": t_read,
                "score_seconds": score_seconds,
                "csv_engine": CSV_ENGINE,
                "peak_mib": peak_kib / 1024.0,
                "windows": len(f),
            }
        )
    )


if __name__ == "__main__":
    main()
