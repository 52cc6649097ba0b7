#!/usr/bin/env bash
# The main job end to end, in the background: `demo.sh start` (after `make localnet deploy`)
# runs the workload, ingests (then follows), analyzes, starts the sentinel and the dashboard;
# `demo.sh stop` stops what it started. Pids and logs live in $DATA/run.
set -euo pipefail

DATAPACT=${DATAPACT:?the datapact binary}
DATAPACT_SIM=${DATAPACT_SIM:?the datapact-sim binary}
DATA=${DATA:-.data}
RUN="$DATA/run"
ADDR=${DASHBOARD_ADDR:-127.0.0.1:8080}
METRICS=${METRICS_ADDR:-127.0.0.1:9464}
SIMULATE_ARGS=${SIMULATE_ARGS:---seed 7 --rounds 20}
mkdir -p "$RUN"

running() { [[ -f "$RUN/$1.pid" ]] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }

background() { # name, then the command
  local name=$1; shift
  if running "$name"; then echo "$name already running (pid $(cat "$RUN/$name.pid"))"; return; fi
  nohup "$@" >"$RUN/$name.log" 2>&1 &
  echo $! >"$RUN/$name.pid"
  echo "$name started (pid $!, log $RUN/$name.log)"
}

stop() {
  for name in dashboard sentinel ingest; do
    if running "$name"; then kill "$(cat "$RUN/$name.pid")" && echo "$name stopped"; fi
    rm -f "$RUN/$name.pid"
  done
}

case "${1:-}" in
  start)
    echo "== workload (seeded, with injected misbehaviour; ground truth in $DATA/labels.jsonl)"
    # shellcheck disable=SC2086
    "$DATAPACT_SIM" simulate $SIMULATE_ARGS
    echo "== ingest: backfill into the private Postgres, then follow the head"
    "$DATAPACT" ingest --no-metrics
    background ingest "$DATAPACT" ingest --follow --quiet --metrics-addr "$METRICS"
    echo "== analyze: provenance scores and anomaly reports"
    "$DATAPACT" analyze
    echo "== sentinel: high and critical anomalies become alerts on chain"
    "$DATAPACT" sentinel --once
    background sentinel "$DATAPACT" sentinel
    echo "== dashboard"
    background dashboard "$DATAPACT" serve --addr "$ADDR"
    for _ in $(seq 1 50); do curl -fs "http://$ADDR/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
    # the suspensions the alerts caused are indexed by the follower within a block or two
    sleep 3
    "$DATAPACT" analyze >/dev/null 2>&1 || true
    burst=$(grep -o '"kind":"access_burst","actor":"[a-z0-9]*"' "$DATA/labels.jsonl" | tail -1 | sed 's/.*"actor":"\(.*\)"/\1/')
    report=$(ls -dt "$DATA"/reports/run-* 2>/dev/null | head -1)
    cat <<MSG

datapact demo is running:
  dashboard      http://$ADDR/
  anomalies      http://$ADDR/anomalies      (the injected misbehaviour ranks at the top)
  the burst      http://$ADDR/actors/$burst  (its alert, suspension and the refused access after it)
  audit trail    http://$ADDR/audit          (alerts, suspensions, the on-chain hash chain check)
  metrics        http://$METRICS/metrics     (the ingester, following the chain)
  report         ${report:-$DATA/reports}/report.html
  chain RPC      http://127.0.0.1:${DATAPACT_RPC_PORT:-26657}
Stop everything with: make demo-stop
MSG
    ;;
  stop) stop ;;
  *) echo "usage: demo.sh start|stop" >&2; exit 2 ;;
esac
