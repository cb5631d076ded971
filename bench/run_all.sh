#!/usr/bin/env bash
# Runs the benchmarks on this machine and prints the figures for bench/RESULTS.md:
#  1. KV put/get through the GCS per backend (single client, and 8 clients), ops/s, p50, p99;
#  2. redis-benchmark SET/GET against the same redis-server, single client, for reference;
#  3. GCS restart-to-serving with 100,000 KV entries per backend (median of RESTART_TRIALS kill -9 + start);
#  4. membership: failure detection (SIGKILL, SIGSTOP), GCS restart with 100 node agents, health-check CPU;
#  5. `halo microbenchmark` and the same workloads on Dask distributed (bench/peers/);
#  6. head failover with two candidates on Redis (FAILOVER_TRIALS kills of the leader, then as many graceful
#     stops).
# Everything runs on loopback; redis-server is started here on a free port and stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
HALO=build/bin/halo
BENCH=build/bench/kv_bench
COUNT=${COUNT:-20000}
FILL=${FILL:-100000}
RESTART_TRIALS=${RESTART_TRIALS:-5}
WORK=$(mktemp -d /tmp/halo-bench-XXXXXX)
REDIS_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cleanup() {
  # Every head of this run lives in a session under $WORK (start_head runs in a subshell, so they are found
  # here rather than remembered there).
  for s in "$WORK"/*/; do [[ -f "$s/gcs.pid" ]] && "$HALO" stop --session-dir "$s" >/dev/null 2>&1; done
  redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$WORK" --save "" --appendonly no --daemonize yes \
  --logfile "$WORK/redis.log" >/dev/null
for _ in $(seq 1 200); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.05; done

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -r)"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
echo

start_head() {  # name, extra args...
  local session="$WORK/$1"; shift
  "$HALO" start --head --session-dir "$session" --port 0 "$@" >/dev/null
  cat "$session/gcs.address"
}

echo "## gRPC floor: one empty unary call on loopback"
build/bench/grpc_floor
echo
echo "## KV through the GCS"
for backend in embedded redis; do
  args=()
  [[ $backend == redis ]] && args=(--storage "redis://127.0.0.1:$REDIS_PORT" --storage-namespace "bench_kv")
  address=$(start_head "kv-$backend" "${args[@]}")
  for clients in 1 8; do
    for op in put get; do
      echo "backend=$backend $("$BENCH" --address "$address" --op $op --count "$COUNT" --clients $clients)"
    done
  done
done

echo
echo "## redis-benchmark against the same redis-server (reference)"
redis-benchmark -p "$REDIS_PORT" -c 1 -n "$COUNT" -d 64 -t set,get -q 2>&1 | tr '\r' '\n' | grep "requests per second"
redis-benchmark -p "$REDIS_PORT" -c 8 -n "$COUNT" -d 64 -t set,get -q 2>&1 | tr '\r' '\n' | grep "requests per second"

echo
echo "## GCS restart-to-serving with $FILL KV entries (kill -9, then halo start; $RESTART_TRIALS trials)"
for backend in embedded redis; do
  args=()
  [[ $backend == redis ]] && args=(--storage "redis://127.0.0.1:$REDIS_PORT" --storage-namespace "bench_restart")
  session="$WORK/restart-$backend"
  address=$(start_head "restart-$backend" "${args[@]}")
  "$BENCH" --address "$address" --op fill --count "$FILL" --clients 8 >/dev/null
  totals=()
  recoveries=()
  for _ in $(seq 1 "$RESTART_TRIALS"); do
    pid=$(cat "$session/gcs.pid")
    kill -9 "$pid"
    while kill -0 "$pid" 2>/dev/null && [[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]]; do sleep 0.005; done
    t0=$(date +%s%N)
    "$HALO" start --head --session-dir "$session" --port 0 "${args[@]}" >/dev/null
    t1=$(date +%s%N)
    totals+=($(( (t1 - t0) / 1000000 )))
    recoveries+=("$("$HALO" status --address "$(cat "$session/gcs.address")" --json | sed -n 's/.*"recovery_ms": \([0-9]*\).*/\1/p')")
  done
  keys=$("$HALO" kv list --address "$(cat "$session/gcs.address")" --namespace bench fill: | wc -l)
  median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
  echo "backend=$backend entries=$keys restart_to_serving_ms(median)=$(median "${totals[@]}") all=[${totals[*]}] gcs_recovery_ms(median)=$(median "${recoveries[@]}") all=[${recoveries[*]}]"
done

echo
echo "## Membership"
build/bench/membership_bench detection --trials "${DETECTION_TRIALS:-20}"
build/bench/membership_bench reregister --nodes 100 --trials 10
build/bench/membership_bench health-cpu --nodes 1000 --seconds 10

echo
echo "## Tasks, objects and actors: halo microbenchmark beside the same task workloads on Dask distributed"
echo "### halo"
"$HALO" microbenchmark --duration-s "${MICRO_DURATION_S:-2}" 2>/dev/null
echo "### dask (bench/peers/dask_microbenchmark.py, Debian python3-distributed)"
/usr/bin/python3 bench/peers/dask_microbenchmark.py --duration-s "${MICRO_DURATION_S:-2}" 2>/dev/null

echo
echo "## Head failover: two candidates (head_mode ha) on the redis-server above, leader SIGKILLed"
build/bench/failover_bench --redis-uri "redis://127.0.0.1:$REDIS_PORT" --trials "${FAILOVER_TRIALS:-30}" | tail -n 1
build/bench/failover_bench --redis-uri "redis://127.0.0.1:$REDIS_PORT" --trials "${FAILOVER_TRIALS:-30}" --graceful | tail -n 1

echo
echo "## A service while the HA leader is SIGKILLed every 10 s for a minute (wrk)"
./bench/serve_ha_bench.sh
