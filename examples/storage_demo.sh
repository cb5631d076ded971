#!/usr/bin/env bash
# The storage part of the demo: a head on embedded (RocksDB) storage survives kill -9 of its GCS with every
# acknowledged write, the same cluster id, and a restart-to-serving time you can read.
set -euo pipefail
cd "$(dirname "$0")/.."
HALO=build/bin/halo
KEYS=${DEMO_KEYS:-200}
WORK=$(mktemp -d /tmp/halo-demo-XXXXXX)
SESSION="$WORK/session"
trap '"$HALO" stop --session-dir "$SESSION" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT

json_field() { sed -n "s/.*\"$1\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}$/\1/p" | head -n 1; }
now_ms() { date +%s%3N; }

echo "== 1. Start a head on embedded durable storage (the default)"
"$HALO" start --head --session-dir "$SESSION" --port 0
ADDRESS=$(cat "$SESSION/gcs.address")
CLUSTER_ID=$("$HALO" status --address "$ADDRESS" --json | json_field cluster_id)

echo
echo "== 2. Write $KEYS keys through the GCS (each acknowledged only once it is synced to disk)"
for i in $(seq 1 "$KEYS"); do "$HALO" kv put --address "$ADDRESS" "demo:$i" "value-$i"; done
echo "wrote $KEYS keys: $("$HALO" kv list --address "$ADDRESS" demo: | wc -l) listed"

GCS_PID=$(cat "$SESSION/gcs.pid")
echo
echo "== 3. kill -9 the GCS (pid $GCS_PID)"
kill -9 "$GCS_PID"
for _ in $(seq 1 500); do kill -0 "$GCS_PID" 2>/dev/null || break; sleep 0.01; done
if "$HALO" status --address "$ADDRESS" --rpc-timeout-ms 500 >/dev/null 2>&1; then
  echo "demo: error: the GCS still answers after kill -9" >&2; exit 1
fi
echo "the GCS is gone; the cluster does not answer"

echo
echo "== 4. Start the head again on the same storage"
T0=$(now_ms)
"$HALO" start --head --session-dir "$SESSION" --port 0
T1=$(now_ms)
ADDRESS=$(cat "$SESSION/gcs.address")
STATUS=$("$HALO" status --address "$ADDRESS" --json)
NEW_ID=$(echo "$STATUS" | json_field cluster_id)
RECOVERY_MS=$(echo "$STATUS" | json_field recovery_ms)

echo
echo "== 5. Check what came back"
FOUND=$("$HALO" kv list --address "$ADDRESS" demo: | wc -l)
WRONG=0
for i in 1 $((KEYS / 2)) "$KEYS"; do
  [[ "$("$HALO" kv get --address "$ADDRESS" "demo:$i")" == "value-$i" ]] || WRONG=$((WRONG + 1))
done
echo "keys:         $FOUND of $KEYS came back (sampled values wrong: $WRONG)"
echo "cluster id:   $NEW_ID ($([[ "$NEW_ID" == "$CLUSTER_ID" ]] && echo same as before || echo CHANGED))"
echo "recovery:     ${RECOVERY_MS} ms loading storage inside the GCS; $((T1 - T0)) ms from 'halo start' to serving"
if [[ "$FOUND" -ne "$KEYS" || "$WRONG" -ne 0 || "$NEW_ID" != "$CLUSTER_ID" ]]; then
  echo "demo: error: state was lost" >&2
  exit 1
fi
echo
echo "Demo passed: every acknowledged write survived kill -9."
