#!/usr/bin/env bash
# Dashboard latency on a big index: starts `datapact serve` (read-only role, no chain) on
# DATABASE_URL, requests every page and its JSON twin REPEAT times, and prints the median and
# worst time of each next to the baseline of the same run: one sequential count of the
# accesses table (what a page would cost if it scanned instead of using an index).
# `make bench-dashboard` runs it on the database `make bench-scale` fills (~10M accesses).
set -euo pipefail

DATAPACT=${DATAPACT:?the datapact binary}
DATABASE_URL=${DATABASE_URL:?the database to read, e.g. postgres://datapact_reader@127.0.0.1:55432/bench_scale}
ADDR=${BENCH_ADDR:-127.0.0.1:18080}
REPEAT=${REPEAT:-5}
base="http://$ADDR"

for tool in curl psql python3; do
  command -v "$tool" >/dev/null || { echo "bench-dashboard needs $tool on PATH" >&2; exit 2; }
done
n=$(psql "$DATABASE_URL" -Atc "select count(*) from accesses" 2>/dev/null) || {
  echo "cannot read accesses at $DATABASE_URL: run make bench-scale first (or set DATABASE_URL)" >&2
  exit 2
}
[[ "$n" -gt 0 ]] || { echo "no accesses at $DATABASE_URL: run make bench-scale first" >&2; exit 2; }

log=$(mktemp)
DATABASE_URL=$DATABASE_URL "$DATAPACT" serve --no-chain --addr "$ADDR" >"$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 100); do curl -fs "$base/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fs "$base/healthz" >/dev/null || { echo "the dashboard did not start:" >&2; cat "$log" >&2; exit 1; }

json() { curl -fs "$base$1" | python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$2"; }
actor=$(json "/api/anomalies?limit=1" "d[0]['actor']")
asset=$(json "/api/assets?limit=1" "d[0]['asset_id']")
tx=$(psql "$DATABASE_URL" -Atc "select hash from txs where sender = '$actor' order by height desc limit 1")

# the baseline: one sequential scan of the accesses table, timed by Postgres itself
scan=$(psql "$DATABASE_URL" -Atc "set max_parallel_workers_per_gather = 0" \
  -c "explain (analyze, format json) select count(*) from accesses" |
  python3 -c "import json,sys; print(json.loads(sys.stdin.read().split('\n',1)[1])[0]['Execution Time'])")

printf '%s accesses; baseline: a sequential count of them takes %.0f ms\n\n' "$n" "$scan"
printf '%-44s %10s %10s %14s\n' "request" "median ms" "max ms" "baseline / med"
paths=(/ /api/overview /assets "/assets?min_score=0&max_score=60" "/assets?q=$actor" "/assets/$asset"
  /agreements /consents /anomalies "/anomalies?severity=high&role=consumer" "/anomalies?actor=$actor"
  "/actors/$actor" "/api/actors/$actor" /audit)
[[ -n "$tx" ]] && paths+=("/tx/$tx")
paths+=("/export/anomalies.csv" "/export/anomalies.parquet")
for p in "${paths[@]}"; do
  times=()
  for _ in $(seq 1 "$REPEAT"); do
    code_time=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' "$base$p")
    [[ ${code_time%% *} == 200 ]] || { echo "$p answered ${code_time%% *}" >&2; exit 1; }
    times+=("${code_time#* }")
  done
  printf '%s\n' "${times[@]}" | python3 -c "
import sys
t = sorted(float(x) * 1000 for x in sys.stdin.read().split())
med = t[len(t) // 2]
print(f'{sys.argv[1][:44]:<44} {med:10.1f} {t[-1]:10.1f} {float(sys.argv[2]) / max(med, 0.01):13.0f}x')
" "$p" "$scan"
done
