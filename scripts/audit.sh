#!/usr/bin/env bash
# The Regulator's ledger audit, at any time: evaluates AuditLedger of the exchange chaincode
# as the Regulator (fabric-gateway, read-only) on channels market and payments and prints, per
# asset, deposited, withdrawn and what is held (available, reserved, escrowed, locked), the
# counts of orders, trades, agreements and HTLCs, and every reconciliation finding (balances
# against trades, settlements and swaps; orders against their trades; reservations; escrows).
# Exits 0 when everything balances, 1 when not, 2 when the audit could not run.
#
#   scripts/audit.sh [-account-prefix PREFIX]   (also the figures of the accounts PREFIX*)
#
# FABMARKET_CONF / FABMARKET_RUN select another network, as for network.sh.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$REPO"
export FABMARKET_CONF=$CONF FABMARKET_RUN=$RUN
running peer0.regulator || die "peer0.regulator is not running (./scripts/network.sh up)"
mkdir -p "$RUN/bin"
go build -o "$RUN/bin/chaos" ./cmd/chaos
exec "$RUN/bin/chaos" -audit "$@"
