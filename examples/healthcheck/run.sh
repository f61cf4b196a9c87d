#!/usr/bin/env bash
# Health checks end to end: starts a local server with COUNT endpoints (some slow, some
# failing, some too slow), submits one URL per endpoint, lets the worker run curl for each
# at concurrency 500, and checks OK and FAILED land exactly where expected.
#
#   examples/healthcheck/run.sh [COUNT]     (default 2000)
#   DELAY_MS=1000  how long a healthy endpoint takes to answer
#   FAILURES=no    every endpoint healthy (for timing the pool)
#   WORK=dir       keep logs and the URL list there
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

COUNT="${1:-2000}"
DELAY_MS="${DELAY_MS:-1000}"
FAILURES="${FAILURES:-yes}"
WORK="${WORK:-$(mktemp -d -t procq-healthcheck.XXXXXX)}"
mkdir -p "$WORK"
command -v curl >/dev/null || die "needs curl: apt-get install -y curl"
ensure_jar
trap stop_started EXIT

log "starting the endpoint server (examples/healthcheck/Endpoints.java, 127.0.0.1 only)"
java "$REPO/examples/healthcheck/Endpoints.java" 0 >"$WORK/endpoints.out" 2>"$WORK/endpoints.err" & STARTED_PIDS+=($!)
for _ in $(seq 1 60); do [ -s "$WORK/endpoints.out" ] && break; sleep 0.5; done
server="$(head -n 1 "$WORK/endpoints.out")"
[ -n "$server" ] || die "the endpoint server did not start; see $WORK/endpoints.err"

# Endpoint i: every 50th answers 500, every 50th+1 answers 404, every 100th+2 takes 8 s
# (past curl's --max-time 5); every 10th healthy one is slow (DELAY_MS + 1.5 s); the rest
# answer 200 after DELAY_MS. FAILURES=no makes all of them healthy after DELAY_MS.
: >"$WORK/urls.txt"
expect_failed=0
sequential_ms=0   # what checking them one after another would take at the least
for i in $(seq 0 $((COUNT - 1))); do
  if [ "$FAILURES" = yes ] && [ $((i % 50)) -eq 0 ]; then path="500/0/svc-$i"; expect_failed=$((expect_failed + 1))
  elif [ "$FAILURES" = yes ] && [ $((i % 50)) -eq 1 ]; then path="404/0/svc-$i"; expect_failed=$((expect_failed + 1))
  elif [ "$FAILURES" = yes ] && [ $((i % 100)) -eq 2 ]; then path="200/8000/svc-$i"; expect_failed=$((expect_failed + 1))
    sequential_ms=$((sequential_ms + 5000))
  elif [ "$FAILURES" = yes ] && [ $((i % 10)) -eq 3 ]; then path="200/$((DELAY_MS + 1500))/svc-$i"
    sequential_ms=$((sequential_ms + DELAY_MS + 1500))
  else path="200/$DELAY_MS/svc-$i"; sequential_ms=$((sequential_ms + DELAY_MS))
  fi
  echo "$server/$path" >>"$WORK/urls.txt"
done
expect_ok=$((COUNT - expect_failed))

export PROCQ_JOB_TYPES="$REPO/examples/healthcheck/jobtypes.yaml"
export PROCQ_WORKER_CONCURRENCY="${PROCQ_WORKER_CONCURRENCY:-500}"
start_procq "$WORK"

log "POST /api/v1/batches?type=healthcheck with $COUNT URLs"
receipt="$(curl -fsS -X POST -H 'Content-Type: text/plain' --data-binary @"$WORK/urls.txt" \
  "$PROCQ_URL/api/v1/batches?type=healthcheck")"
printf '%s\n' "$receipt"
id="$(json_value "$receipt" id)"

started=$(date +%s%N)
batch="$(await_batch "$id")"
elapsed_ms=$(( ($(date +%s%N) - started) / 1000000 ))
ok="$(json_value "$batch" OK)"; failed="$(json_value "$batch" FAILED)"
log "$COUNT checks in $elapsed_ms ms at concurrency $PROCQ_WORKER_CONCURRENCY (one at a time: at least $((sequential_ms / 1000)) s)"
log "OK $ok (expected $expect_ok), FAILED $failed (expected $expect_failed)"
if [ "$failed" != 0 ]; then
  log "some FAILED jobs and why:"
  curl -fsS "$PROCQ_URL/api/v1/batches/$id/jobs?state=FAILED&limit=3" | grep -o '"target":"[^"]*"\|"error":"[^"]*"' \
    | paste - - | sed 's/^/   /'
fi
[ "$ok" = "$expect_ok" ] && [ "$failed" = "$expect_failed" ] || die "OK/FAILED differ from what the endpoints were set up to answer"
