#!/usr/bin/env bash
# The main job end to end, in the background: `demo.sh start` (after `make localnet deploy`)
# runs the workload, ingests (then follows), analyzes (then follows), starts the sentinel and the
# dashboard; `demo.sh stop` stops what it started. Pids and logs live in $DATA/run.
set -euo pipefail

DATAPACT=${DATAPACT:?the datapact binary}
DATAPACT_SIM=${DATAPACT_SIM:?the datapact-sim binary}
DATA=${DATA:-.data}
RUN="$DATA/run"
ADDR=${DASHBOARD_ADDR:-127.0.0.1:8080}
METRICS=${METRICS_ADDR:-127.0.0.1:9464}
GATEWAY=${GATEWAY_ADDR:-127.0.0.1:8090}
export DATAPACT_STORE=${DATAPACT_STORE:-$DATA/store} DATAPACT_KEYRING=${DATAPACT_KEYRING:-$DATA/keyring}
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
  for name in gateway dashboard sentinel analyze ingest; do
    if running "$name"; then kill "$(cat "$RUN/$name.pid")" && echo "$name stopped"; fi
    rm -f "$RUN/$name.pid"
  done
}

case "${1:-}" in
  start)
    # a demo already running: its processes restart with this run (the chain and Postgres stay)
    stop
    # a chain an earlier demo ran on: the responder lifts the suspensions its alerts caused, so the
    # workload has its consumers (this run's sentinel suspends this run's offenders anew)
    for i in $(seq 0 15); do
      "$DATAPACT" consumer --as "consumer-$i" --json status 2>/dev/null \
        | tr -d '\n ' | grep -o '"suspended_by":\[[0-9,]*\]' | grep -o '[0-9][0-9]*' \
        | while read -r alert; do
            "$DATAPACT" respond lift "$alert" >/dev/null 2>&1 && echo "lifted the suspension of an earlier run's alert $alert (consumer-$i)"
          done || true   # in good standing: nothing to lift
    done
    echo "== workload (seeded, with injected misbehaviour; ground truth in $DATA/labels.jsonl)"
    # shellcheck disable=SC2086
    "$DATAPACT_SIM" simulate $SIMULATE_ARGS
    echo "== ingest: backfill into the private Postgres, then follow the head"
    "$DATAPACT" ingest --no-metrics
    background ingest "$DATAPACT" ingest --follow --quiet --metrics-addr "$METRICS"
    echo "== analyze: provenance scores and anomaly reports; the run's manifest anchored on chain"
    analysis=$("$DATAPACT" analyze --anchor)
    echo "$analysis"
    run=$(echo "$analysis" | grep -o '^analysis run [0-9]*' | grep -o '[0-9]*$' || true)
    echo "== sentinel: anomalies of medium severity and above (anchored runs) become alerts on chain; high ones suspend"
    "$DATAPACT" sentinel --once
    background sentinel "$DATAPACT" sentinel
    echo "== analyze --follow: from now on each window is scored as it closes, and the sentinel acts on it"
    background analyze "$DATAPACT" analyze --follow --anchor
    if [ -n "$run" ]; then
      echo "== an auditor checks run $run: inputs re-read, the run recomputed, outputs, report files, the alerts' evidence, the anchor"
      "$DATAPACT" verify-run "$run"
    fi
    echo "== providers: when their capped agreements will reach the cap (the run's forecasts, 80% intervals)"
    for p in provider-0 provider-1 provider-2 provider-3; do
      out=$("$DATAPACT" provider --as "$p" outlook 2>/dev/null || true)
      case "$out" in
        "" | *"no capped agreement"*) ;;
        *) echo "-- $p:"; echo "$out" | head -12; break ;;
      esac
    done
    echo "== the data plane: a real file published encrypted, fetched through the gateway"
    background gateway "$DATAPACT" gateway --addr "$GATEWAY" --metrics-addr 127.0.0.1:9192
    for _ in $(seq 1 50); do curl -fs "http://$GATEWAY/health" >/dev/null 2>&1 && break; sleep 0.2; done
    plane="$DATA/demo-plane"; mkdir -p "$plane"
    trips="$plane/trips.csv"
    awk 'BEGIN { print "trip_id,city,distance_km,fare"; srand(7);
                 for (i = 0; i < 50000; i++) printf "%d,%s,%.2f,%d\n", i, (i % 3 ? "Oslo" : "Lyon"), rand() * 40, int(rand() * 90) }' >"$trips"
    json_id() { grep -o "\"$1\": *[0-9]*" | head -1 | grep -o '[0-9]*$'; }
    asset=$("$DATAPACT" provider --as provider-0 --json register --name "demo trips" --sensitivity internal | json_id asset_id)
    "$DATAPACT" provider --as provider-0 publish --asset "$asset" "$trips"
    addr_of() { "$DATAPACT" localnet accounts | awk -v n="$1" '$1 == n { print $NF }'; }
    echo "-- a quality checker checks the file against the asset's rules, attests the pass on chain and records its report for the dashboard"
    echo '{"key": ["trip_id"], "columns": {"trip_id": {"type": "integer", "not_null": true}, "city": {"allowed": ["Oslo", "Lyon"]}, "distance_km": {"type": "number", "min": 0, "max": 40}, "fare": {"type": "integer", "min": 0}}}' >"$plane/trips.rules.json"
    rm -f "$plane/trips.quality.json"
    "$DATAPACT" quality "$trips" --rules "$plane/trips.rules.json" --report "$plane/trips.quality.json" \
      --attest --record --asset "$asset" --version 1 --as attestor-0
    checker=$(addr_of attestor-0)
    offer=$("$DATAPACT" provider --as provider-0 --json offer --asset "$asset" --purpose research --cap 5 | json_id offer_id)
    [[ -f "$plane/consumer.agekey" ]] || "$DATAPACT" consumer --age-key "$plane/consumer.agekey" keygen
    # a consumer in good standing fetches; one the sentinel suspended is refused
    good="" suspended=""
    for i in $(seq 0 15); do
      if "$DATAPACT" consumer --as "consumer-$i" --json status | grep -q '"suspended_by": null'; then
        good=${good:-consumer-$i}
      else
        suspended=${suspended:-consumer-$i}
      fi
    done
    agreement=$("$DATAPACT" consumer --as "$good" --age-key "$plane/consumer.agekey" --json sign --offer "$offer" --purpose research | json_id agreement_id)
    "$DATAPACT" provider --as provider-0 deliver-keys
    rm -f "$plane/fetched.csv"   # this demo's own output from an earlier run
    "$DATAPACT" consumer --as "$good" --age-key "$plane/consumer.agekey" fetch --agreement "$agreement" --gateway "http://$GATEWAY" \
      --require-quality "$checker" --out "$plane/fetched.csv"
    cmp "$trips" "$plane/fetched.csv" && echo "the fetched file is byte for byte the provider's"
    if [[ -n "$suspended" ]]; then
      echo "-- $suspended, suspended by the sentinel's alert, tries the same:"
      "$DATAPACT" consumer --as "$suspended" status | head -1
      [[ -f "$plane/suspended.agekey" ]] || "$DATAPACT" consumer --age-key "$plane/suspended.agekey" keygen >/dev/null
      "$DATAPACT" consumer --as "$suspended" --age-key "$plane/suspended.agekey" sign --offer "$offer" --purpose research \
        && echo "unexpected: a suspended consumer signed" \
        || echo "refused by the chain: a suspended consumer can neither sign nor record an access, and no gateway delivers to it"
    else
      echo "-- no consumer is suspended right now (the sentinel reported nothing at its threshold)"
    fi
    echo "-- personal data: a subject's rows leave the gateway only while their consent is in force"
    s0=$(addr_of subject-0) s1=$(addr_of subject-1) p0=$(addr_of provider-0)
    visits="$plane/visits.csv"
    { echo "subject,visit,systolic"; for v in 1 2 3; do echo "$s0,$v,$((118 + v))"; echo "$s1,$v,$((131 + v))"; done; } >"$visits"
    passet=$("$DATAPACT" provider --as provider-0 --json register --name "demo visits" --sensitivity personal | json_id asset_id)
    "$DATAPACT" provider --as provider-0 publish --asset "$passet" --subject-column subject "$visits"
    poffer=$("$DATAPACT" provider --as provider-0 --json offer --asset "$passet" --purpose research | json_id offer_id)
    consent0=$("$DATAPACT" subject --as subject-0 --json grant --controller "$p0" --asset "$passet" --purpose research --days 30 | json_id consent_id)
    "$DATAPACT" subject --as subject-1 grant --controller "$p0" --asset "$passet" --purpose research --days 30
    pagreement=$("$DATAPACT" consumer --as "$good" --age-key "$plane/consumer.agekey" --json sign --offer "$poffer" --purpose research | json_id agreement_id)
    "$DATAPACT" provider --as provider-0 deliver-keys
    rm -f "$plane/visits-before.csv" "$plane/visits-after.csv"
    "$DATAPACT" consumer --as "$good" --age-key "$plane/consumer.agekey" fetch --agreement "$pagreement" --gateway "http://$GATEWAY" --out "$plane/visits-before.csv"
    "$DATAPACT" subject --as subject-0 withdraw --consent "$consent0"
    "$DATAPACT" consumer --as "$good" --age-key "$plane/consumer.agekey" fetch --agreement "$pagreement" --gateway "http://$GATEWAY" --out "$plane/visits-after.csv"
    echo "rows before the withdrawal: $(($(wc -l <"$plane/visits-before.csv") - 1)), after: $(($(wc -l <"$plane/visits-after.csv") - 1)) (subject-0's are gone)"
    echo "== dashboard"
    background dashboard "$DATAPACT" serve --addr "$ADDR"
    for _ in $(seq 1 50); do curl -fs "http://$ADDR/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
    # the suspensions the alerts caused are indexed by the follower within a block or two, and
    # analyzed by the other follower as their windows close
    sleep 3
    burst=$(grep -o '"kind":"access_burst","actor":"[a-z0-9]*"' "$DATA/labels.jsonl" | tail -1 | sed 's/.*"actor":"\(.*\)"/\1/')
    report=$(ls -dt "$DATA"/reports/run-* 2>/dev/null | head -1)
    cat <<MSG

datapact demo is running:
  dashboard      http://$ADDR/
  anomalies      http://$ADDR/anomalies      (the injected misbehaviour ranks at the top)
  the burst      http://$ADDR/actors/$burst  (its alert, suspension and the refused access after it)
  audit trail    http://$ADDR/audit          (alerts, suspensions, the on-chain hash chain check)
  runs           http://$ADDR/runs           (each analysis run, its anchor on chain, its verification)
  forecasts      http://$ADDR/forecasts      (consumers' alert risk, cap dates, demand with intervals)
  metrics        http://$METRICS/metrics     (the ingester, following the chain)
  followers      ingest --follow, analyze --follow, sentinel: logs in $RUN/
  gateway        http://$GATEWAY/             (metrics on http://127.0.0.1:9192/metrics)
  fetch as a consumer:
    $DATAPACT consumer --as $good --age-key $plane/consumer.agekey fetch --agreement $agreement --out trips.csv
  report         ${report:-$DATA/reports}/report.html
  chain RPC      http://127.0.0.1:${DATAPACT_RPC_PORT:-26657}
Stop everything with: make demo-stop
MSG
    ;;
  stop) stop ;;
  *) echo "usage: demo.sh start|stop" >&2; exit 2 ;;
esac
