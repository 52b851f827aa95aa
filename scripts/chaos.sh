#!/usr/bin/env bash
# Proof under load and faults (issue 8). REST clients over the org1..org3 gateways (and the
# Regulator's for instruments and number allocations) place and cancel orders, deposit and
# withdraw, run DvP escrow settlements and number transfers, each retrying its request until
# answered, while one node at a time is SIGKILLed and restarted (an orderer, the Raft leader, a
# telco's peer, both chaincode processes, a gateway, the watcher). Then it checks, from the
# ledger, that nothing accepted was lost or duplicated and that every asset is conserved (the
# Regulator's AuditLedger), prints a summary table, and exits 1 if lost > 0, duplicated > 0 or
# conservation fails.
#
#   scripts/chaos.sh [-duration 4m] [-clients 32] [-short] [-count N] [-faults a,b,...]
#                    [-settlers N] [-porters N] [-deadline 40s] [-seed N] [-json]
#
# -short: ~2 minutes in all (100 s of load, three faults), as in scripts/test.sh. Loopback only;
# uses the running network (FABMARKET_CONF / FABMARKET_RUN select another one, on other ports),
# or brings one up and down again when none runs. The exchange chaincode must have AuditLedger
# (./scripts/network.sh deployCC -ccn exchange after updating).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$REPO"
export FABMARKET_CONF=$CONF FABMARKET_RUN=$RUN
started=0
if ! running peer0.org1; then
  "$REPO/scripts/network.sh" up >/dev/null
  started=1
fi
trap '[[ $started == 1 ]] && "$REPO/scripts/network.sh" down >/dev/null' EXIT
for g in gateway.org1 gateway.org2 gateway.org3 gateway.regulator watcher; do
  running "$g" || die "$g is not running: ./scripts/network.sh start $g"
done
mkdir -p "$RUN/bin"
go build -o "$RUN/bin/chaos" ./cmd/chaos
log "chaos: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), config $CONF, run dir $RUN"
"$RUN/bin/chaos" "$@"
