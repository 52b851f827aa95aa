package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"time"

	"github.com/fabmarket/fabmarket/chaincode/exchange/contract"
	"github.com/fabmarket/fabmarket/internal/fabnet"
	"github.com/fabmarket/fabmarket/internal/netconf"
	"github.com/hyperledger/fabric-gateway/pkg/client"
)

// ledgerAudit evaluates AuditLedger as the Regulator on channel, retrying while a peer or the
// chaincode is unavailable.
func ledgerAudit(cfg *netconf.Config, channel, detailPrefix string) (*contract.LedgerAudit, error) {
	gw, conn, err := fabnet.ConnectOrg(cfg, "regulator", "User1", client.WithEvaluateTimeout(3*time.Minute))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	defer gw.Close()
	exchange := gw.GetNetwork(channel).GetContractWithName("exchange", "exchange")
	var out []byte
	for i := 0; i < 10; i++ {
		if out, err = exchange.Evaluate("AuditLedger", client.WithArguments(detailPrefix)); err == nil {
			break
		}
		time.Sleep(3 * time.Second)
	}
	if err != nil {
		return nil, fmt.Errorf("AuditLedger on %s: %s", channel, fabnet.Describe(err))
	}
	var a contract.LedgerAudit
	if err := json.Unmarshal(out, &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// runAudit prints the Regulator's audit of both channels; 0 when everything balances.
func runAudit(cfg *netconf.Config, detailPrefix string) int {
	code := 0
	for _, ch := range []string{"market", "payments"} {
		a, err := ledgerAudit(cfg, ch, detailPrefix)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 2
			continue
		}
		fmt.Printf("channel %s: %d accounts, %d orders %v, %d clientOrderIds, %d trades, agreements %v (open past deadline %d), HTLCs %v (locked past timelock %d)\n",
			ch, a.Accounts, a.Orders, a.OrderStatus, a.ClientIDs, a.Trades, a.Agreements, a.OpenExpired, a.HTLCs, a.LockedExpiry)
		fmt.Printf("  %-10s %18s %18s %18s %18s %18s %18s %s\n", "asset", "deposited", "withdrawn", "available", "reserved", "escrowed+locked", "held", "conserved")
		for _, asset := range slices.Sorted(maps.Keys(a.Assets)) {
			x := a.Assets[asset]
			fmt.Printf("  %-10s %18d %18d %18d %18d %18d %18d %v\n", asset, x.Deposited, x.Withdrawn, x.Available, x.Reserved, x.Escrowed+x.Locked, x.Held, x.OK)
		}
		for _, acct := range slices.Sorted(maps.Keys(a.Detail)) {
			for _, asset := range slices.Sorted(maps.Keys(a.Detail[acct])) {
				x := a.Detail[acct][asset]
				fmt.Printf("  account %-16s %-6s deposited %d withdrawn %d traded %+d settled %+d swapped %+d → expected %d, holds %d\n",
					acct, asset, x.Deposited, x.Withdrawn, x.Traded, x.Settled, x.Swapped, x.Expected, x.Held)
			}
		}
		if len(a.Mismatches) > 0 {
			fmt.Printf("  mismatches %v\n", a.Mismatches)
			for _, p := range a.Problems {
				fmt.Println("    " + p)
			}
		}
		fmt.Printf("  conservation: %s\n", map[bool]string{true: "OK", false: "FAIL"}[a.OK])
		if !a.OK && code == 0 {
			code = 1
		}
	}
	return code
}
