#!/usr/bin/env bash
# Price watcher benchmarks, each beside its trivial baseline in the same run (no network needed):
#   1. resident memory of the subscription index for 3M users x ~10 subscriptions (target <= 1 GiB)
#   2. ticks evaluated per second per core (target >= 5M) and alerts fanned out per second to the
#      in-process sink when a popular symbol moves (target >= 1M/s)
#   3. webhook deliveries per second to a local receiver (dispatcher over SQLite vs bare POSTs)
#   4. tick-to-delivery latency p50/p99 through queue, store and dispatcher (vs one bare POST)
#
#   scripts/bench-alerts.sh                 everything (the index part needs ~2 GiB and ~30 s)
#   USERS=300000 scripts/bench-alerts.sh    a smaller synthetic population
#   DELIVERIES=2000 ALERTS=500 BENCHTIME=2s
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
users=${USERS:-3000000}
pop=(-watcher.users "$users")

run() {
  echo "+ $*" >&2
  "$@" 2>&1 | grep -E '^(Benchmark|ok|FAIL|---)' || { echo "benchmark failed: $*" >&2; exit 1; }
}

echo "== subscription index memory (${users} users)"
run go test ./watcher/bench -run '^$' -bench IndexMemory -benchtime 1x -args "${pop[@]}"
echo "== ticks evaluated and alerts fanned out, one core"
run go test ./watcher/bench -run '^$' -bench 'FanOut|Ticks' -benchtime "${BENCHTIME:-2s}" -cpu 1 -args "${pop[@]}"
echo "== webhook delivery to a local receiver"
run go test ./watcher/app -run '^$' -bench '^BenchmarkDelivery(Baseline)?$' -benchtime "${DELIVERIES:-2000}x"
echo "== tick-to-delivery latency"
run go test ./watcher/app -run '^$' -bench 'TickToDelivery' -benchtime "${ALERTS:-500}x"
