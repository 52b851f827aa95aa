#!/usr/bin/env bash
# Orderer batch tuning: runs the put-state baseline (scripts/bench-fabric.sh) under several
# BatchTimeout values, each on a fresh scratch network on other ports (every port of
# network.conf + PORT_OFFSET, state in a temporary directory), so a running network is left alone.
#
#   scripts/bench-batch.sh [TIMEOUT ...]     default: 100ms 250ms 500ms 1s
#   CLIENTS=32 COUNT=1000 PORT_OFFSET=300 MAX_MESSAGES=500
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$REPO"
timeouts=("$@")
((${#timeouts[@]})) || timeouts=(100ms 250ms 500ms 1s)
offset=${PORT_OFFSET:-300}
scratch=$(mktemp -d)
export FABMARKET_CONF=$scratch/network.conf FABMARKET_RUN=$scratch/run
trap '"$REPO/scripts/network.sh" down >/dev/null 2>&1 || true; rm -rf "$scratch"' EXIT
perl -pe 's/^([A-Z0-9_]+_PORT)=(\d+)/"$1=".($2+'"$offset"')/e' "$CONF" >"$FABMARKET_CONF"
go build -o "$scratch/fabbench" ./cmd/fabbench
printf '%-10s %-14s %s\n' BatchTimeout MaxMessages result
for bt in "${timeouts[@]}"; do
  BATCH_TIMEOUT=$bt BATCH_MAX_MESSAGES=${MAX_MESSAGES:-500} "$REPO/scripts/network.sh" up >/dev/null
  out=$("$scratch/fabbench" -clients "${CLIENTS:-32}" -count "${COUNT:-1000}" -json -name "$bt")
  printf '%-10s %-14s %s\n' "$bt" "${MAX_MESSAGES:-500}" "$out"
  "$REPO/scripts/network.sh" down >/dev/null
done
