#!/usr/bin/env bash
# A service under load while the HA leader is SIGKILLed every KILL_EVERY_S seconds (default 10) for
# DURATION_S (default 60): two head candidates (`halo start --head --ha`) on a redis-server (append-only, fsync
# always), one more node agent, examples/greeter_service.cc with two replicas. wrk (one thread, CONNECTIONS
# keep-alive connections, default 8) drives GETs at the extra node's ingress for the whole time. Prints each
# kill with how long until a candidate led again (polled every 20 ms), then what wrk saw: requests, failures
# (non-2xx and socket errors), the success ratio and latency percentiles.
set -euo pipefail
cd "$(dirname "$0")/.."
source examples/demo_lib.sh
HALO=build/bin/halo
DURATION_S=${DURATION_S:-60}
KILL_EVERY_S=${KILL_EVERY_S:-10}
CONNECTIONS=${CONNECTIONS:-8}
ha_cluster_begin halo-serve-ha-bench
export HALO_SERVE_HTTP_PORT=0

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -r)"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ), load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
start_ha_cluster 1
sed 's/num_replicas: 3/num_replicas: 2/' examples/greeter.yaml >"$WORK/greeter.yaml"
"$HALO" serve deploy build/bin/greeter_service --config "$WORK/greeter.yaml" --address "$LIST" >/dev/null
URL="http://127.0.0.1:$(cat "$NODE/node.http_port")/hello?name=ada"
curl -sf "$URL" >/dev/null

wrk -t 1 -c "$CONNECTIONS" -d "${DURATION_S}s" --timeout 10s --latency "$URL" >"$WORK/wrk.out" 2>&1 &
LOAD=$!
kills=0
failovers=()
for (( at = KILL_EVERY_S; at < DURATION_S; at += KILL_EVERY_S )); do
  sleep "$KILL_EVERY_S"
  pid=$(leading_gcs_pid "${ADDRESSES[@]}")
  if [[ -z "$pid" ]]; then
    echo "at ${at} s: no candidate leads; nothing killed"
    continue
  fi
  t0=$(date +%s%N)
  kill -9 "$pid"
  kills=$((kills + 1))
  # Until a GCS process other than the killed one leads (bounded to 20 s).
  led=""
  for _ in $(seq 1 1000); do
    now=$(leading_gcs_pid "${ADDRESSES[@]}")
    if [[ -n "$now" && "$now" != "$pid" ]]; then led=$(( ($(date +%s%N) - t0) / 1000000 )); break; fi
    sleep 0.02
  done
  failovers+=("${led:-none}")
  echo "at ${at} s: SIGKILL leader GCS pid $pid; a new leader after ${led:-(none within 20 s)} ms"
done
wait "$LOAD"
echo "kills: $kills, leader back after (ms): ${failovers[*]}"
echo "wrk -t 1 -c $CONNECTIONS -d ${DURATION_S}s: $(wrk_summary "$WORK/wrk.out")"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
