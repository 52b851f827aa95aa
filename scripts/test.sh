#!/usr/bin/env bash
# All tests: unit tests, then integration tests on a fresh real network, which is always torn
# down at the end. Exits non-zero on any failure.
#
#   scripts/test.sh              everything
#   UNIT_ONLY=1 scripts/test.sh  unit tests only (no network)
#   KEEP_NETWORK=1               leave the network running after the integration tests
#   ORDERER_CYCLES=N             leader kill/restart cycles in the crash test (default 10)
#   TEST_RUN=REGEX               only the integration tests matching REGEX (and no chaos run)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$REPO"
NETSH=$REPO/scripts/network.sh
t0=$SECONDS
section() { printf '\n=== %s (%ds)\n' "$*" "$((SECONDS - t0))"; }

section "go vet and unit tests"
go vet ./...
# A throw-away PostgreSQL on 127.0.0.1: the watcher's store and multi-instance tests also run on it.
source "$REPO/scripts/lib/postgres.sh"
pg_start
go test -count=1 -timeout 20m ./... || { rc=$?; pg_stop; exit $rc; }
pg_stop
# Every fuzz target briefly (about 3 min); FUZZTIME=5m for a long run.
./scripts/fuzz.sh -fuzztime "${FUZZTIME:-5s}"

[[ ${UNIT_ONLY:-0} == 1 ]] && { section "done (unit only)"; exit 0; }

cleanup() {
  local rc=$?
  if [[ ${KEEP_NETWORK:-0} != 1 ]]; then
    section "tearing the network down"
    "$NETSH" down || true
  fi
  if ((rc != 0)); then
    echo "FAILED (exit $rc); node logs were in $RUN/logs" >&2
    [[ -d $RUN/logs ]] && tail -n 20 "$RUN"/logs/*.log >&2 2>/dev/null || true
  fi
  exit $rc
}
trap cleanup EXIT

# Headless Chromium for the console's browser tests: installed (once) while the network starts.
source "$REPO/scripts/lib/chromium.sh"
chromium_log=$(mktemp)
(chromium_ensure) >"$chromium_log" 2>&1 &
chromium_job=$!

section "fresh network"
"$NETSH" down >/dev/null 2>&1 || true
"$NETSH" up
section "up again is harmless"
"$NETSH" up >/dev/null

section "integration tests on the real network"
wait "$chromium_job" || cat "$chromium_log" >&2
chromium_ensure
go vet -tags integration ./integration/...
go test -tags integration -count=1 -timeout 40m ${TEST_RUN:+-run "$TEST_RUN"} ./integration/... 2>&1 | tee "$RUN/integration.out"

if [[ -z ${TEST_RUN:-} ]]; then
  section "chaos (short): load with faults, then nothing lost or duplicated and the audit balances"
  ./scripts/chaos.sh -short
  ./scripts/audit.sh >/dev/null
fi

section "down, then up again"
"$NETSH" down
"$NETSH" up >/dev/null
go test -tags integration -count=1 -run 'TestVersionAnswersOnEveryChannelFromEveryOrg' ./integration/

section "done"
