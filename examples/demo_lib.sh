# Shell helpers the demo scripts share; sourced, not run.

# The demos run several sessions on one machine (head candidates, node agents), as machines of a real cluster
# would: they share one cluster token, given in the environment.
export HALO_AUTH_TOKEN="${HALO_AUTH_TOKEN:-$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')}"
# Several node agents on one machine: their HTTP ingresses take free ports (the default, 8000, fits one per
# machine); each writes its port to <session>/node.http_port.
export HALO_SERVE_HTTP_PORT="${HALO_SERVE_HTTP_PORT:-0}"

# wait_for_line PATTERN FILE PID: until FILE has a line matching PATTERN (0), or the job PID ended or 30 s
# passed (1).
wait_for_line() {
  for _ in $(seq 1 600); do
    grep -q "$1" "$2" 2>/dev/null && return 0
    kill -0 "$3" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

# check_job_status WHAT STATUS ERRFILE: a failed job (STATUS not 0) ends the demo with the tail of its log.
check_job_status() {
  if [[ "$2" -ne 0 ]]; then
    echo "demo: error: $1 failed (exit $2)" >&2
    tail -n 20 "$3" >&2
    exit 1
  fi
}

# free_port: a free loopback TCP port.
free_port() {
  /usr/bin/python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"
}

# start_redis DIR: a redis-server on a free loopback port (append-only, fsync always) with its data in DIR;
# sets REDIS_PID and STORAGE (its redis:// URI) once it answers PING (bounded to 10 s).
start_redis() {
  local port
  port=$(free_port)
  redis-server --port "$port" --bind 127.0.0.1 --dir "$1" --appendonly yes --appendfsync always --save "" \
    >"$1/redis.log" 2>&1 &
  REDIS_PID=$!
  STORAGE="redis://127.0.0.1:$port"
  for _ in $(seq 1 200); do redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && return 0; sleep 0.05; done
  echo "demo: error: redis-server did not answer on port $port" >&2
  return 1
}

# leading_gcs_pid ADDRESS...: the pid of the GCS process that leads among the head candidates, or nothing.
leading_gcs_pid() {
  local a info
  for a in "$@"; do
    info=$("$HALO" status --address "$a" --json 2>/dev/null) || continue
    if grep -q '"is_leader": true' <<<"$info"; then
      sed -n 's/.*"gcs_pid": *\([0-9]*\).*/\1/p' <<<"$info" | head -n 1
      return 0
    fi
  done
}

# wrk_summary FILE: "N requests, F failed (non-2xx X, socket errors Y), success S %, p50 A, p99 B" of a
# `wrk --latency` output.
wrk_summary() {
  local requests non2xx errors p50 p99
  requests=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$1")
  non2xx=$(sed -n 's/^ *Non-2xx or 3xx responses: *\([0-9]*\)/\1/p' "$1")
  errors=$(sed -n 's/^ *Socket errors: *connect \([0-9]*\), read \([0-9]*\), write \([0-9]*\), timeout \([0-9]*\)/\1 \2 \3 \4/p' "$1" |
    awk '{print $1 + $2 + $3 + $4}')
  p50=$(awk '$1 == "50%" {print $2}' "$1")
  p99=$(awk '$1 == "99%" {print $2}' "$1")
  requests=${requests:-0}
  non2xx=${non2xx:-0}
  errors=${errors:-0}
  awk -v r="$requests" -v n="$non2xx" -v e="$errors" -v p50="$p50" -v p99="$p99" 'BEGIN {
    f = n + e; s = r > 0 ? 100 * (r - f) / r : 0
    printf "%d requests, %d failed (non-2xx %d, socket errors %d), success %.3f %%, latency p50 %s, p99 %s\n", r, f, n, e, s, p50, p99
  }'
}

# ha_cluster_begin NAME: WORK (a new directory /tmp/NAME-XXXXXX), HEADS (two head sessions in it), NODE (one
# more node's session), and an EXIT trap that stops them and the redis-server start_ha_cluster starts.
ha_cluster_begin() {
  WORK=$(mktemp -d "/tmp/$1-XXXXXX")
  HEADS=("$WORK/head1" "$WORK/head2")
  NODE="$WORK/node"
  REDIS_PID=""
  trap ha_cluster_cleanup EXIT
}
ha_cluster_cleanup() {
  for s in "$NODE" "${HEADS[@]}"; do "$HALO" stop --session-dir "$s" >/dev/null 2>&1 || true; done
  if [[ -n "$REDIS_PID" ]]; then kill "$REDIS_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}

# start_ha_cluster HEAD_CPUS: a redis-server, two head candidates on it (`halo start --head --ha`, each with a
# node agent of HEAD_CPUS CPUs) and one more node agent (2 CPUs); sets ADDRESSES and LIST (the candidates'
# addresses, comma-separated).
start_ha_cluster() {
  start_redis "$WORK"
  ADDRESSES=()
  local s
  for s in "${HEADS[@]}"; do
    "$HALO" start --head --ha --storage "$STORAGE" --session-dir "$s" --port 0 --num-cpus "$1" >/dev/null
    ADDRESSES+=("$(cat "$s/gcs.address")")
  done
  LIST="${ADDRESSES[0]},${ADDRESSES[1]}"
  "$HALO" start --address "$LIST" --session-dir "$NODE" --num-cpus 2 >/dev/null
}
