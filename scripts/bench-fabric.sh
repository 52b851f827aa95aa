#!/usr/bin/env bash
# The end-to-end baseline: a trivial put-state transaction (the chaincode's baseline:Put)
# submitted through fabric-gateway by N concurrent clients, each waiting for its commit, for a
# bounded count. Prints committed tx/s, p50/p99 commit latency and the count of invalid
# transactions. Every later end-to-end figure (orders, settlements, transfers) is reported as a
# ratio of this one, measured in the same run.
#
#   scripts/bench-fabric.sh [-clients 32] [-count 2000] [-channel market] [-org org1] [-json]
#
# Uses the running network, or brings one up (and then down again) when none is running.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$REPO"
started=0
if ! running peer0.org1; then
  "$REPO/scripts/network.sh" up >/dev/null
  started=1
fi
trap '[[ $started == 1 ]] && "$REPO/scripts/network.sh" down >/dev/null' EXIT
mkdir -p "$RUN/bin"
go build -o "$RUN/bin/fabbench" ./cmd/fabbench
echo "# $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo); BATCH_TIMEOUT=$(grep -E '^BATCH_TIMEOUT=' "$CONF" | cut -d= -f2)"
"$RUN/bin/fabbench" "$@"
