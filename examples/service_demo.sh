#!/usr/bin/env bash
# The service demo: examples/greeter_service.cc deployed with three replicas behind every node's HTTP ingress,
# on a cluster with two head candidates (`halo start --head --ha`, sharing one redis-server) and one more node
# agent. wrk drives keep-alive load at an ingress while a replica, a node agent and the leading head's GCS
# are SIGKILLed in turn; for each it prints the requests, the failures (non-2xx answers and socket errors),
# the success ratio and the latency wrk saw.
set -euo pipefail
cd "$(dirname "$0")/.."
source examples/demo_lib.sh
HALO=build/bin/halo
ha_cluster_begin halo-service-demo
# Three node agents on one machine: each ingress takes a free port (written to its session as node.http_port).
export HALO_SERVE_HTTP_PORT=0

echo "== 1. Two head candidates on a redis-server, one more node agent; deploy 3 Greeter replicas"
start_ha_cluster 2
"$HALO" serve deploy build/bin/greeter_service --config examples/greeter.yaml --address "$LIST"
PORT=$(cat "${HEADS[0]}/node.http_port")
URL="http://127.0.0.1:$PORT/hello?name=ada"
echo "curl $URL -> $(curl -s "$URL")"
"$HALO" serve status --address "$LIST"

# load_through WHAT COMMAND...: 6 s of wrk load; COMMAND runs 2 s in; prints what wrk saw.
load_through() {
  local what=$1
  shift
  wrk -t 2 -c 8 -d 6s --timeout 5s --latency "$URL" >"$WORK/wrk.out" 2>&1 &
  local load=$!
  sleep 2
  "$@"
  wait "$load"
  echo "   $what: $(wrk_summary "$WORK/wrk.out")"
}

kill_replica() {
  local pid
  pid=$(curl -s "http://127.0.0.1:$PORT/hello/whoami")
  echo "   SIGKILL replica worker pid $pid"
  kill -9 "$pid"
}
kill_node() {
  local pid
  pid=$(cat "$NODE/node.pid")
  echo "   SIGKILL node agent $(cat "$NODE/node.id") (pid $pid) and its workers"
  kill -9 "$pid"
}
kill_leader() {
  local pid
  pid=$(leading_gcs_pid "${ADDRESSES[@]}")
  [[ -n "$pid" ]] || { echo "service demo: error: no head candidate leads" >&2; exit 1; }
  echo "   SIGKILL the leading head's GCS (pid $pid); the other candidate takes over"
  kill -9 "$pid"
}

echo
echo "== 2. Steady load while a replica is SIGKILLed"
load_through "replica killed" kill_replica
echo "== 3. Steady load while a node agent is SIGKILLed"
load_through "node agent killed" kill_node
echo "== 4. Steady load while the leading head is SIGKILLed"
load_through "leading head killed" kill_leader
echo
"$HALO" serve status --address "$LIST"
echo "The service kept answering through each failure."
