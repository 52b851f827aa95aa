#!/usr/bin/env bash
# End-to-end order entry through the REST gateways, against the put-state baseline measured in
# the same run. N concurrent clients (spread over the org1..org3 gateways, one funded account
# each) place 1-lot limit orders with ?wait=commit for a bounded count; the run reports
# orders/s, p50/p99 latency to commit, invalid transactions (the gateways' /metrics), and lost or
# duplicated orders (every account's orders listed through REST after the run, compared with
# what the clients saw accepted), and the CPU time the network's processes spent per committed
# transaction in each phase (peers, orderers, chaincode, gateways; from /proc, steadier than
# throughput on a shared machine). Also: the same orders submitted directly through
# fabric-gateway (REST overhead ratio), and all orders on one symbol against 100 symbols.
#
# The baseline (baseline:Put on chaincode exchange, channel market) has no REST route: it is
# submitted through fabric-gateway by the same clients, with the same identities (each org's
# User1, as the gateways use) against the same orgs' peers, in the same run.
#
#   scripts/bench-orders.sh [-clients 32] [-count 2000] [-symbols 8] [-hot-count 1000]
#                           [-spread 100] [-direct-count N] [-json]
#
# Uses the running network (never tears it down), or brings one up and down again when none
# runs. Loopback only. Reports figures; never fails on timing.
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
go build -o "$RUN/bin/ordersbench" ./cmd/ordersbench
echo "# $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo); BATCH_TIMEOUT=$(grep -E '^BATCH_TIMEOUT=' "$CONF" | cut -d= -f2); load $(cut -d' ' -f1-3 /proc/loadavg)"
"$RUN/bin/ordersbench" "$@"
