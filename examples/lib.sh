# Shared by the examples' run.sh scripts: start procq, submit, wait. Source it; needs bash and curl.
#
# procq runs as `procq dev` (embedded PostgreSQL, data under $WORK/pgdata) unless
# PROCQ_DATABASE_URL is set: then as `procq api` plus `procq worker` against that database.

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
JAR="$REPO/target/procq.jar"
STARTED_PIDS=()

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 1; }

ensure_jar() {
  if [ ! -f "$JAR" ]; then
    log "building $JAR (mvn -q -B -DskipTests package)"
    (cd "$REPO" && mvn -q -B -DskipTests package) || die "build failed"
  fi
}

# Stops what this script started, by pid, and nothing else.
stop_started() {
  local pid
  for pid in "${STARTED_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${STARTED_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  STARTED_PIDS=()
}

# start_procq WORK: starts procq with the caller's PROCQ_* environment and sets PROCQ_URL.
start_procq() {
  local work="$1" url="" _
  export PROCQ_HTTP_HOST=127.0.0.1 PROCQ_HTTP_PORT="${PROCQ_HTTP_PORT:-0}" PROCQ_WORKER_METRICS_PORT=off
  if [ -n "${PROCQ_DATABASE_URL:-}" ]; then
    java -jar "$JAR" api >"$work/api.log" 2>&1 & STARTED_PIDS+=($!)
    java -jar "$JAR" worker >"$work/worker.log" 2>&1 & STARTED_PIDS+=($!)
    local pattern='procq API listening on ' logfile="$work/api.log"
  else
    java -jar "$JAR" dev --data "$work/pgdata" >"$work/dev.log" 2>&1 & STARTED_PIDS+=($!)
    local pattern='procq dev is running: ' logfile="$work/dev.log"
  fi
  for _ in $(seq 1 240); do
    url="$(sed -n "s|.*${pattern}\(http://[0-9.:]*\).*|\1|p" "$logfile" | head -n 1)"
    [ -n "$url" ] && break
    for pid in "${STARTED_PIDS[@]}"; do kill -0 "$pid" 2>/dev/null || { cat "$logfile" >&2; die "procq stopped; log above"; }; done
    sleep 0.5
  done
  [ -n "$url" ] || die "procq did not start within 120 s; see $logfile"
  export PROCQ_URL="$url"
  curl -fsS "$PROCQ_URL/readyz" >/dev/null || die "procq is not ready: $PROCQ_URL/readyz"
  log "procq is running at $PROCQ_URL (logs in $work)"
}

# json_value JSON KEY: the first value of "KEY" in compact JSON (a number or a string).
json_value() {
  printf '%s' "$1" | sed -n "s/.*\"$2\":\(\"[^\"]*\"\|-\{0,1\}[0-9][0-9]*\).*/\1/p" | head -n 1 | tr -d '"'
}

# await_batch ID: prints progress until the batch is DONE, then prints its JSON on stdout.
await_batch() {
  local id="$1" batch state
  while :; do
    batch="$(curl -fsS "$PROCQ_URL/api/v1/batches/$id")" || die "cannot read batch $id"
    state="$(json_value "$batch" state)"
    printf '\r   batch %s: %s  ok %s  failed %s  running %s  pending %s   ' "$id" "$state" \
      "$(json_value "$batch" OK)" "$(json_value "$batch" FAILED)" "$(json_value "$batch" RUNNING)" \
      "$(json_value "$batch" PENDING)" >&2
    [ "$state" = DONE ] && break
    sleep 0.5
  done
  printf '\n' >&2
  printf '%s\n' "$batch"
}
