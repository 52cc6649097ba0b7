"""The forecasting peer of `make bench-forecast`: statsmodels' Holt-Winters exponential smoothing
(additive damped trend, additive daily season where two seasons fit), one model per series, on
every core (multiprocessing), as an analyst would forecast the same series in Python today.

usage: forecast.py SERIES.csv OUT.json HORIZON SEASON
SERIES.csv: one series per line, `key,v1;v2;...` (oldest first), exactly the counts datapact
forecast. Prints nothing; OUT.json holds the timings (import apart) and the point forecasts.
"""

import time

t0 = time.perf_counter()
import json  # noqa: E402
import sys  # noqa: E402
import warnings  # noqa: E402
from multiprocessing import Pool, cpu_count  # noqa: E402

import numpy as np  # noqa: E402
from statsmodels.tsa.holtwinters import ExponentialSmoothing  # noqa: E402

IMPORT_S = time.perf_counter() - t0


def fit(job):
    key, y, m, h = job
    warnings.simplefilter("ignore")
    y = np.asarray(y, dtype=float)
    try:
        if m > 1 and len(y) >= 2 * m:
            model = ExponentialSmoothing(
                y, trend="add", damped_trend=True, seasonal="add", seasonal_periods=m
            ).fit()
        elif len(y) >= 8:
            model = ExponentialSmoothing(y, trend="add", damped_trend=True).fit()
        else:
            return key, [float(y.mean()) if len(y) else 0.0] * h
        return key, [max(0.0, float(v)) for v in model.forecast(h)]
    except Exception:  # a series the optimizer cannot fit gets its recent mean
        return key, [float(y[-max(m, 1):].mean()) if len(y) else 0.0] * h


def main():
    src, out, h, m = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    t = time.perf_counter()
    jobs = []
    with open(src) as f:
        for line in f:
            key, values = line.rstrip("\n").split(",", 1)
            ys = [float(v) for v in values.split(";")] if values else []
            jobs.append((key, ys, m, h))
    read_s = time.perf_counter() - t
    t = time.perf_counter()
    with Pool(cpu_count()) as pool:
        results = pool.map(fit, jobs, chunksize=32)
    fit_s = time.perf_counter() - t
    with open(out, "w") as f:
        json.dump(
            {
                "import_s": IMPORT_S,
                "read_s": read_s,
                "fit_s": fit_s,
                "cores": cpu_count(),
                "forecasts": dict(results),
            },
            f,
        )


if __name__ == "__main__":
    main()
