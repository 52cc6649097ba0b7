"""The analyst's pipeline of today, as datapact's yardstick in `make bench-analytics`.

Reads the indexed tables from Postgres the way datapact does — the same queries, through
`COPY (query) TO STDOUT` as CSV parsed column-wise by pandas' pyarrow engine (pinned in
requirements.txt; its C parser only if pyarrow is missing, and the figures say which), the
accesses in two height ranges read at once on two connections — computes the consumer features
per time window that datapact computes (the same definitions), scores them with scikit-learn's
IsolationForest on every core (`n_jobs=-1`), and writes one score per (consumer, window).
Prints its figures as one JSON line: seconds from the first line of `main` (the interpreter's
start and the imports are reported apart, as `import_seconds`; the benchmark also times the
whole process), the read, the features and the scoring apart, and peak memory measured the
same way as datapact's (the process's peak RSS).

With `--features-out PATH` it also writes the feature matrix it scored, for the benchmark's
scorer-against-scorer race: a separate run, not timed (writing 129,041 rows x 15 columns
with pandas takes it about two seconds, work datapact's timed run does not do).

usage: peer.py DATABASE_URL WINDOW_SECONDS OUT_CSV [--features-out PATH]
"""

import time

T_IMPORTS = time.time()

import io
import json
import math
import resource
import sys
from concurrent.futures import ThreadPoolExecutor

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


def read(url, sql, names):
    """A query's rows as datapact reads them: COPY to CSV, parsed column-wise, on a connection
    of its own (so that reads run at once: psycopg and pyarrow release the GIL)."""
    buf = io.BytesIO()
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        with cur.copy(f"copy ({sql}) to stdout with (format csv)") as copy:
            for chunk in copy:
                buf.write(chunk)
    buf.seek(0)
    return pd.read_csv(buf, engine=CSV_ENGINE, header=None, names=names)


# datapact's queries (indexer/analytics/src/load), over the whole index
ACCESSES = (
    "select height, consumer, agreement_id, asset_id, purpose, hashtext(subject), access_count "
    "from accesses where height between {lo} and {hi}"
)
ACCESS_COLUMNS = [
    "height",
    "consumer",
    "agreement_id",
    "asset_id",
    "purpose",
    "subject",
    "access_count",
]


def read_all(url):
    """The tables, read as datapact reads them: the accesses in two height ranges, and every
    query at once."""
    with psycopg.connect(url) as conn:
        lo, hi = conn.execute("select min(height), max(height) from accesses").fetchone()
    lo, hi = lo or 0, hi or 0
    mid = lo + (hi - lo) // 2
    reads = [
        ("select height, extract(epoch from time)::bigint from blocks", ["height", "t"]),
        (ACCESSES.format(lo=lo, hi=mid), ACCESS_COLUMNS),
        (ACCESSES.format(lo=mid + 1, hi=hi), ACCESS_COLUMNS),
        (
            "select height, tx_index, consumer, agreement_id, purpose, subject, reason from denied_attempts",
            ["height", "tx_index", "consumer", "agreement_id", "purpose", "subject", "reason"],
        ),
        (
            "select a.agreement_id, o.access_cap from agreements a join offers o using (offer_id)",
            ["agreement_id", "access_cap"],
        ),
    ]
    with ThreadPoolExecutor(max_workers=len(reads)) as pool:
        blocks, acc1, acc2, den, caps = pool.map(lambda r: read(url, *r), reads)
    return blocks, pd.concat([acc1, acc2], ignore_index=True), den, caps


def surprise(n, rate):
    rate = max(rate, 0.05)
    if n <= rate:
        return 0.0
    return (n * math.log(n / rate) - n + rate) / math.log(10)


def main():
    args = sys.argv[1:]
    features_out = None
    if "--features-out" in args:
        i = args.index("--features-out")
        features_out = args[i + 1]
        del args[i : i + 2]
    url, window, out = args[0], int(args[1]), args[2]
    t0 = time.time()
    import_seconds = t0 - T_IMPORTS
    blocks, acc, den, caps = read_all(url)
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
    features_seconds = t_score - t0 - t_read
    model = IsolationForest(n_estimators=100, max_samples=256, random_state=0, n_jobs=-1)
    model.fit(x)
    f["score"] = -model.score_samples(x)
    score_seconds = time.time() - t_score
    f[["consumer", "window", "score"]].to_csv(out, index=False)
    if features_out:
        matrix = pd.DataFrame(x, columns=cols)
        matrix.insert(0, "window", f["window"].to_numpy())
        matrix.insert(0, "consumer", f["consumer"].to_numpy())
        matrix.to_csv(features_out, index=False)

    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "seconds": time.time() - t0,
                "import_seconds": import_seconds,
                "read_seconds": t_read,
                "features_seconds": features_seconds,
                "score_seconds": score_seconds,
                "csv_engine": CSV_ENGINE,
                "peak_mib": peak_kib / 1024.0,
                "windows": len(f),
            }
        )
    )


if __name__ == "__main__":
    main()
