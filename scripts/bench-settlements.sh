#!/usr/bin/env bash
# DvP settlement and cross-channel swaps end to end through the REST gateways, against the
# put-state baseline measured in the same run (issue 5). 16 concurrent agreement pairs (seller
# and buyer of different orgs) each run agreements one after the other: propose, affirm, fund
# both legs with ?wait=commit, until SETTLED; reported as settlements/s and as a ratio of the
# baseline's tx/s (baseline:Put through fabric-gateway, same run). Then N orchestrated swaps
# (initiator's gateway: POST /v1/swaps; counterparty's: accept) polled until both gateways say
# COMPLETED: completion time p50/p99.
#
#   scripts/bench-settlements.sh [-pairs 16] [-count 320] [-baseline-count 1000]
#                                [-baseline-clients 32] [-swaps 20] [-swap-concurrency 4] [-json]
#
# Uses the running network (never tears it down), or brings one up and down again when none
# runs. Needs gateways built with the settlement routes. Reports figures; never fails on timing.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$REPO"
started=0
if ! running peer0.org1; then
  "$REPO/scripts/network.sh" up >/dev/null
  started=1
fi
trap '[[ $started == 1 ]] && "$REPO/scripts/network.sh" down >/dev/null' EXIT
for g in gateway.org1 gateway.org2 gateway.org3 gateway.regulator; do
  running "$g" || die "$g is not running: ./scripts/network.sh start $g"
done
mkdir -p "$RUN/bin"
go build -o "$RUN/bin/settlebench" ./cmd/settlebench
echo "# $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo); BATCH_TIMEOUT=$(grep -E '^BATCH_TIMEOUT=' "$CONF" | cut -d= -f2); load $(cut -d' ' -f1-3 /proc/loadavg)"
"$RUN/bin/settlebench" "$@"
