# Shell helpers the demo scripts share; sourced, not run.

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
