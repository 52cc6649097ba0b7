"""The peer of `make bench-quality`: the same profile `datapact quality` computes, with pandas.

Reads the CSV with pandas (all cores are no help to it: pandas parses on one), then per column
its type, nulls, distinct values, and for numbers min, max, mean and standard deviation, and
the rows that repeat an earlier row. Prints one JSON line: the seconds spent importing pandas
(start-up, reported apart), reading, profiling, and the process's peak RSS.

usage: profile.py FILE.csv
"""

import json
import resource
import sys
import time

t0 = time.perf_counter()
import pandas as pd  # noqa: E402

t_import = time.perf_counter() - t0


def main(path):
    t = time.perf_counter()
    df = pd.read_csv(path)
    t_read = time.perf_counter() - t
    t = time.perf_counter()
    columns = []
    for name in df.columns:
        c = df[name]
        col = {
            "name": name,
            "dtype": str(c.dtype),
            "nulls": int(c.isna().sum()),
            "distinct": int(c.nunique(dropna=False)),
        }
        if pd.api.types.is_numeric_dtype(c):
            col.update(min=float(c.min()), max=float(c.max()), mean=float(c.mean()), std=float(c.std()))
        columns.append(col)
    profile = {"rows": len(df), "duplicate_rows": int(df.duplicated().sum()), "columns": columns}
    t_profile = time.perf_counter() - t
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"import_s": t_import, "read_s": t_read, "profile_s": t_profile,
                      "peak_mib": peak_mib, "rows": profile["rows"]}))


if __name__ == "__main__":
    main(sys.argv[1])
