#!/usr/bin/env bash
# The head failover demo: two head candidates share one redis-server (`halo start --head --ha`); one leads,
# the other stands by. A stateful actor (examples/ledger_actor.cc) takes 300 deposits through the candidates'
# address list while the leading GCS process is killed with SIGKILL: the standby takes over in about a second,
# the killed candidate comes back by itself as the new standby, and the ledger ends with the exact balance and
# the same process. Then a graceful stop hands the lead over without waiting for the lease.
set -euo pipefail
cd "$(dirname "$0")/.."
source examples/demo_lib.sh
HALO=build/bin/halo
WORK=$(mktemp -d /tmp/halo-ha-demo-XXXXXX)
HEADS=("$WORK/head1" "$WORK/head2")
NODE="$WORK/node"
REDIS_PID=""
cleanup() {
  for s in "$NODE" "${HEADS[@]}"; do "$HALO" stop --session-dir "$s" >/dev/null 2>&1 || true; done
  if [[ -n "$REDIS_PID" ]]; then kill "$REDIS_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

status_field() {  # address, field: one field of `halo status --json` for that candidate
  "$HALO" status --address "$1" --json 2>/dev/null |
    /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['$2'])" 2>/dev/null || echo "?"
}
show_candidates() {
  for a in "${ADDRESSES[@]}"; do
    echo "  $a: is_leader $(status_field "$a" is_leader), epoch $(status_field "$a" epoch), gcs pid $(status_field "$a" gcs_pid)"
  done
}
leader_index() {  # prints 0 or 1 once exactly one candidate leads; bounded to 20 s
  for _ in $(seq 1 400); do
    local l0 l1
    l0=$(status_field "${ADDRESSES[0]}" is_leader)
    l1=$(status_field "${ADDRESSES[1]}" is_leader)
    if [[ "$l0" == "True" && "$l1" != "True" ]]; then echo 0; return 0; fi
    if [[ "$l1" == "True" && "$l0" != "True" ]]; then echo 1; return 0; fi
    sleep 0.05
  done
  return 1
}

echo "== 1. Start a redis-server (append-only, fsync always) and two head candidates on it"
REDIS_PORT=$(/usr/bin/python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])")
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$WORK" --appendonly yes --appendfsync always --save "" \
  >"$WORK/redis.log" 2>&1 &
REDIS_PID=$!
for _ in $(seq 1 200); do redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break; sleep 0.05; done
STORAGE="redis://127.0.0.1:$REDIS_PORT"
ADDRESSES=()
for s in "${HEADS[@]}"; do
  "$HALO" start --head --ha --storage "$STORAGE" --session-dir "$s" --port 0 --num-cpus 1 | head -n 1
  ADDRESSES+=("$(cat "$s/gcs.address")")
done
LIST="${ADDRESSES[0]},${ADDRESSES[1]}"
"$HALO" start --address "$LIST" --session-dir "$NODE" --num-cpus 2 >/dev/null
show_candidates
"$HALO" list nodes --address "$LIST"

echo
echo "== 2. Run examples/ledger_actor.cc against both candidates: 300 deposits, one every 20 ms"
build/bin/ledger_actor --address "$LIST" --deposits 300 --pause-ms 20 >"$WORK/job.out" 2>"$WORK/job.err" &
JOB=$!
wait_for_line "progress: 100/" "$WORK/job.out" "$JOB" || { cat "$WORK/job.err" >&2; exit 1; }
ACTOR_PID=$(sed -n 's/^actor pid: //p' "$WORK/job.out")
grep "^progress" "$WORK/job.out"

OLD=$(leader_index)
VICTIM=$(status_field "${ADDRESSES[$OLD]}" gcs_pid)
EPOCH=$(status_field "${ADDRESSES[$OLD]}" epoch)
echo
echo "== 3. SIGKILL the leading GCS process (pid $VICTIM at ${ADDRESSES[$OLD]}, epoch $EPOCH) mid-stream"
START_NS=$(date +%s%N)
kill -9 "$VICTIM"
# Whoever takes the lapsed lease leads next: the standby, or the killed candidate, which its supervisor has
# already started again.
NEW=""
for _ in $(seq 1 400); do
  for i in 0 1; do
    info=$("$HALO" status --address "${ADDRESSES[$i]}" --json 2>/dev/null || true)
    if grep -q '"is_leader": true' <<<"$info" && ! grep -q "\"epoch\": $EPOCH," <<<"$info"; then NEW=$i; fi
  done
  [[ -n "$NEW" ]] && break
  sleep 0.02
done
[[ -n "$NEW" ]] || { echo "ha demo: error: no candidate took over" >&2; exit 1; }
echo "${ADDRESSES[$NEW]} leads after $(( ($(date +%s%N) - START_NS) / 1000000 )) ms"
for _ in $(seq 1 400); do  # the killed candidate is back (leading or standing by) with a new process
  pid=$(status_field "${ADDRESSES[$OLD]}" gcs_pid)
  [[ "$pid" != "?" && "$pid" != "$VICTIM" ]] && break
  sleep 0.05
done
show_candidates
echo "The ledger, as the new leader's actor directory has it (same process, no restart):"
"$HALO" list actors --address "$LIST"
"$HALO" list actors --address "$LIST" | grep ALIVE | grep -q " $ACTOR_PID " ||
  { echo "ha demo: error: the ledger is not ALIVE with its process $ACTOR_PID" >&2; exit 1; }

set +e
wait "$JOB"
STATUS=$?
set -e
echo
echo "== 4. The ledger after the failover"
grep "^progress" "$WORK/job.out" | tail -n 3
tail -n 1 "$WORK/job.out"
check_job_status "the ledger job" "$STATUS" "$WORK/job.err"
echo
echo "== 5. Graceful stop of the leader: it gives its lease up, the standby leads without waiting for it to lapse"
LEADER=$(leader_index)
STANDBY=$((1 - LEADER))
START_NS=$(date +%s%N)
kill -TERM "$(cat "${HEADS[$LEADER]}/gcs.pid")"
for _ in $(seq 1 400); do
  [[ "$(status_field "${ADDRESSES[$STANDBY]}" is_leader)" == "True" ]] && break
  sleep 0.02
done
echo "${ADDRESSES[$STANDBY]} leads after $(( ($(date +%s%N) - START_NS) / 1000000 )) ms (epoch $(status_field "${ADDRESSES[$STANDBY]}" epoch))"
"$HALO" kv put --address "$LIST" demo done >/dev/null && echo "a write through the list after the hand-over: acknowledged"
echo
echo "The ledger kept its process and every deposit through a head failover; the hand-over needed no lease expiry."
