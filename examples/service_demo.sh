#!/usr/bin/env bash
# The service demo: examples/greeter_service.cc deployed with three replicas behind every node's HTTP ingress,
# wrk driving keep-alive load at the head node's ingress while a replica, a node agent and the GCS are
# SIGKILLed in turn. For each it prints the requests, the failures (non-2xx answers and socket errors) and the
# latency wrk saw.
set -euo pipefail
cd "$(dirname "$0")/.."
HALO=build/bin/halo
WORK=$(mktemp -d /tmp/halo-service-demo-XXXXXX)
HEAD="$WORK/head"
NODES=("$WORK/node1" "$WORK/node2")
cleanup() {
  for s in "${NODES[@]}" "$HEAD"; do "$HALO" stop --session-dir "$s" >/dev/null 2>&1 || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
# Three node agents on one machine: each ingress takes a free port (written to its session as node.http_port).
export HALO_SERVE_HTTP_PORT=0

echo "== 1. Start a head (supervised GCS, embedded storage) and two node agents; deploy 3 Greeter replicas"
"$HALO" start --head --session-dir "$HEAD" --port 0 --num-cpus 2 >/dev/null
ADDRESS=$(cat "$HEAD/gcs.address")
for s in "${NODES[@]}"; do "$HALO" start --address "$ADDRESS" --session-dir "$s" --num-cpus 2 >/dev/null; done
"$HALO" serve deploy build/bin/greeter_service --config examples/greeter.yaml --address "$ADDRESS"
PORT=$(cat "$HEAD/node.http_port")
URL="http://127.0.0.1:$PORT/hello?name=ada"
echo "curl $URL -> $(curl -s "$URL")"
"$HALO" serve status --address "$ADDRESS"

# load_through WHAT COMMAND...: 6 s of wrk load; COMMAND runs 2 s in; prints what wrk saw.
load_through() {
  local what=$1
  shift
  wrk -t 2 -c 8 -d 6s --timeout 5s --latency "$URL" >"$WORK/wrk.out" 2>&1 &
  local load=$!
  sleep 2
  "$@"
  wait "$load"
  local requests non2xx errors p50 p99
  requests=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$WORK/wrk.out")
  non2xx=$(sed -n 's/^ *Non-2xx or 3xx responses: *\([0-9]*\)/\1/p' "$WORK/wrk.out")
  errors=$(sed -n 's/^ *Socket errors: *//p' "$WORK/wrk.out")
  p50=$(awk '$1 == "50%" {print $2}' "$WORK/wrk.out")
  p99=$(awk '$1 == "99%" {print $2}' "$WORK/wrk.out")
  echo "   $what: ${requests:-?} requests, ${non2xx:-0} non-2xx, socket errors: ${errors:-none}; latency p50 $p50, p99 $p99"
}

kill_replica() {
  local pid
  pid=$(curl -s "http://127.0.0.1:$PORT/hello/whoami")
  echo "   SIGKILL replica worker pid $pid"
  kill -9 "$pid"
}
kill_node() {
  local pid
  pid=$(cat "${NODES[1]}/node.pid")
  echo "   SIGKILL node agent $(cat "${NODES[1]}/node.id") (pid $pid) and its workers"
  kill -9 "$pid"
}
kill_gcs() {
  local pid
  pid=$("$HALO" status --address "$ADDRESS" --json | sed -n 's/.*"gcs_pid": *\([0-9]*\).*/\1/p' | head -n 1)
  echo "   SIGKILL the GCS (pid $pid); its supervisor restarts it"
  kill -9 "$pid"
}

echo
echo "== 2. Steady load while a replica is SIGKILLed"
load_through "replica killed" kill_replica
echo "== 3. Steady load while a node agent is SIGKILLed"
load_through "node agent killed" kill_node
echo "== 4. Steady load while the GCS is SIGKILLed"
load_through "GCS killed" kill_gcs
echo
"$HALO" serve status --address "$ADDRESS"
echo "The service kept answering through each failure."
