#!/usr/bin/env bash
# The actor demo: a stateful actor (examples/ledger_actor.cc) takes 300 numbered deposits while its process is
# killed with SIGKILL and, later, while the GCS is killed and restarted. The ledger keeps serving throughout
# and ends with the exact balance.
set -euo pipefail
cd "$(dirname "$0")/.."
source examples/demo_lib.sh
HALO=build/bin/halo
WORK=$(mktemp -d /tmp/halo-actor-demo-XXXXXX)
HEAD="$WORK/head"
cleanup() {
  "$HALO" stop --session-dir "$HEAD" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT


echo "== 1. Start a head (embedded storage) on this machine"
"$HALO" start --head --session-dir "$HEAD" --port 0 --num-cpus 2 >/dev/null
ADDRESS=$(cat "$HEAD/gcs.address")

echo "== 2. Run examples/ledger_actor.cc: 300 deposits into one actor, one every 20 ms"
build/bin/ledger_actor --address "$ADDRESS" --deposits 300 --pause-ms 20 >"$WORK/job.out" 2>"$WORK/job.err" &
JOB=$!
wait_for_line "progress: 75/" "$WORK/job.out" "$JOB" || { cat "$WORK/job.err" >&2; exit 1; }
ACTOR_PID=$(sed -n 's/^actor pid: //p' "$WORK/job.out")
cat "$WORK/job.out"
echo
echo "== 3. SIGKILL the actor's process (pid $ACTOR_PID) mid-stream"
kill -9 "$ACTOR_PID"
wait_for_line "progress: 150/" "$WORK/job.out" "$JOB" || { cat "$WORK/job.err" >&2; exit 1; }
sed -n '/progress: 100\//,/progress: 150\//p' "$WORK/job.out"
grep "was restarted" "$WORK/job.out" || true
echo
GCS_PID=$(cat "$HEAD/gcs.pid")
echo "== 4. SIGKILL the GCS (pid $GCS_PID); the ledger keeps serving while it is down"
kill -9 "$GCS_PID"
BEFORE=$(grep -c "^progress" "$WORK/job.out")
sleep 1.5
AFTER=$(grep -c "^progress" "$WORK/job.out")
grep "^progress" "$WORK/job.out" | tail -n +"$((BEFORE + 1))" || true
echo "($((AFTER - BEFORE)) progress reports while the GCS was down)"
echo
echo "== 5. Restart the GCS; it reloads the actor directory and finds the ledger alive (same pid)"
"$HALO" start --head --session-dir "$HEAD" --port 0 >/dev/null  # port 0: the port it had
"$HALO" list actors --address "$ADDRESS"
set +e
wait "$JOB"
STATUS=$?
set -e
tail -n 4 "$WORK/job.out"
check_job_status "the ledger job" "$STATUS" "$WORK/job.err"
[[ "$AFTER" -gt "$BEFORE" ]] || { echo "actor demo: error: no calls were served while the GCS was down" >&2; exit 1; }
echo
echo "The ledger served every deposit through a crash of its process and a GCS restart."
