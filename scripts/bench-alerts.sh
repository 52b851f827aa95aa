#!/usr/bin/env bash
# Price watcher benchmarks, each beside its trivial baseline in the same run (no network needed):
#   1. memory of the subscription index for 3M users x ~10 subscriptions, skewed (target <= 1 GiB):
#      live heap and resident-set growth, against one sorted []uint32 per symbol; the user-name
#      table beside it
#   2. ticks evaluated per second per core (target >= 5M), against "store the last price"
#   3. alerts fanned out per second to the in-process sink when the most popular symbol moves
#      (target >= 1M/s): the index alone (ids in batches, against walking a []uint32) and the
#      service's whole path up to the queue (ids -> user names -> JSON fan-out messages, against
#      encoding the same names from a []string)
#   4. webhook deliveries per second to a local receiver (dispatcher claiming from SQLite and
#      recording every outcome, against bare signed POSTs)
#   5. tick-to-delivery latency p50/p99 through rules, JetStream (fsync), the store and the
#      dispatcher (against one bare signed POST)
#
#   scripts/bench-alerts.sh                 everything (the index part needs ~2 GiB and ~1 min)
#   USERS=300000 scripts/bench-alerts.sh    a smaller synthetic population (HOT: hot audience)
#   DELIVERIES=2000 ALERTS=500 BENCHTIME=2s
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
users=${USERS:-3000000}
hot=${HOT:-$((users * 2 / 3))}
pop=(-watcher.users "$users")

run() {
  echo "+ $*" >&2
  "$@" 2>&1 | grep -E '^(Benchmark|ok|FAIL|---)' || { echo "benchmark failed: $*" >&2; exit 1; }
}
load() { echo "# $(date -u +%FT%TZ) $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"; }

load
echo "== 1. subscription index memory (${users} users)"
run go test ./watcher/bench -run '^$' -bench IndexMemory -benchtime 1x -args "${pop[@]}"
load
echo "== 2+3. ticks evaluated and alerts fanned out by the index, one core"
run go test ./watcher/bench -run '^$' -bench 'FanOut|Ticks' -benchtime "${BENCHTIME:-2s}" -cpu 1 -args "${pop[@]}"
load
echo "== 3. the service's fan-out path to the in-process sink (${hot} subscribers), one core"
WATCHER_BENCH_HOT=$hot run go test ./watcher/service -run '^$' -bench FanOutService -benchtime "${FANOUTS:-3}x" -cpu 1
load
echo "== 4. webhook delivery to a local receiver"
run go test ./watcher/app -run '^$' -bench '^BenchmarkDelivery(Baseline)?$' -benchtime "${DELIVERIES:-2000}x"
load
echo "== 5. tick-to-delivery latency"
run go test ./watcher/app -run '^$' -bench 'TickToDelivery' -benchtime "${ALERTS:-500}x"
load
