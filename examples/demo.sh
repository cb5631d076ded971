#!/usr/bin/env bash
# The Halo demo: a job of 400 tasks on a head and two node agents (embedded storage). One node agent is
# killed with SIGKILL partway; the job still finishes with the exact answer, and the demo shows what failed,
# what was retried or rebuilt, and how long it took. Then the actor demo (a stateful actor through a crash of
# its process and a GCS restart), the storage demo (kill -9 of the GCS) and the head failover demo (two head
# candidates on Redis, the leader killed under a running actor).
set -euo pipefail
cd "$(dirname "$0")/.."
source examples/demo_lib.sh
HALO=build/bin/halo
WORK=$(mktemp -d /tmp/halo-demo-XXXXXX)
HEAD="$WORK/head"
NODES=("$WORK/node1" "$WORK/node2")
cleanup() {
  for s in "${NODES[@]}" "$HEAD"; do "$HALO" stop --session-dir "$s" >/dev/null 2>&1 || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== 1. Start a head and two node agents on this machine"
"$HALO" start --head --session-dir "$HEAD" --port 0 >/dev/null
ADDRESS=$(cat "$HEAD/gcs.address")
for s in "${NODES[@]}"; do "$HALO" start --address "$ADDRESS" --session-dir "$s" --num-cpus 2 >/dev/null; done
"$HALO" list nodes --address "$ADDRESS"

echo
echo "== 2. Run examples/pi_pipeline.cc: 200 shards of points, then 200 counting tasks"
build/bin/pi_pipeline --address "$ADDRESS" >"$WORK/job.out" 2>"$WORK/job.err" &
JOB=$!
VICTIM_PID=$(cat "${NODES[1]}/node.pid")
for _ in $(seq 1 600); do
  grep -q "progress: 40/" "$WORK/job.out" 2>/dev/null && break
  kill -0 "$JOB" 2>/dev/null || break
  sleep 0.05
done
grep "progress" "$WORK/job.out" || true
echo
echo "== 3. SIGKILL node agent $(cat "${NODES[1]}/node.id") (pid $VICTIM_PID) and its workers, mid-job"
kill -9 "$VICTIM_PID"

set +e
wait "$JOB"
STATUS=$?
set -e
sed -n '/progress: 60/,$p' "$WORK/job.out" | grep -v "^progress" || true
echo
echo "== 4. What failed along the way (the job's own log)"
FAILED_LINES=$(grep -c "task(s) failed" "$WORK/job.err" || true)
REBUILT_LINES=$(grep -c "rebuilding object" "$WORK/job.err" || true)
grep "task(s) failed" "$WORK/job.err" | sed 's/^\[[^]]*\] //' | head -n 3 || true
[[ "$FAILED_LINES" -gt 3 ]] && echo "... $FAILED_LINES failure reports in all"
grep "rebuilding object" "$WORK/job.err" | sed 's/^\[[^]]*\] //' | head -n 2 || true
[[ "$REBUILT_LINES" -gt 2 ]] && echo "... $REBUILT_LINES objects rebuilt in all"
check_job_status "the job" "$STATUS" "$WORK/job.err"
echo
echo "Job finished with the exact answer despite losing a node."
echo
./examples/actor_demo.sh
echo
./examples/storage_demo.sh
echo
./examples/service_demo.sh
echo
./examples/ha_demo.sh
