package settle

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestPlanSwap(t *testing.T) {
	ok := SwapParams{Start: t0, InitiatorDuration: 2 * time.Hour, CounterpartyDuration: time.Hour, MinMargin: 30 * time.Minute}
	tests := []struct {
		name    string
		mod     func(*SwapParams)
		wantErr error
	}{
		{name: "ok"},
		{name: "margin exactly met", mod: func(p *SwapParams) { p.MinMargin = time.Hour }},
		{name: "initiator at the maximum", mod: func(p *SwapParams) { p.InitiatorDuration = MaxTimelock }},
		{name: "zero start", mod: func(p *SwapParams) { p.Start = time.Time{} }, wantErr: ErrInvalidArgument},
		{name: "margin too small", mod: func(p *SwapParams) { p.MinMargin = time.Second }, wantErr: ErrTimelockRange},
		{name: "margin not met", mod: func(p *SwapParams) { p.MinMargin = time.Hour + 1 }, wantErr: ErrTimelockRange},
		{name: "counterparty outlives initiator", mod: func(p *SwapParams) { p.InitiatorDuration, p.CounterpartyDuration = time.Hour, 2*time.Hour }, wantErr: ErrTimelockRange},
		{name: "equal durations", mod: func(p *SwapParams) { p.InitiatorDuration = time.Hour }, wantErr: ErrTimelockRange},
		{name: "counterparty lock too short", mod: func(p *SwapParams) { p.CounterpartyDuration = time.Second }, wantErr: ErrTimelockRange},
		{name: "counterparty lock too long", mod: func(p *SwapParams) { p.CounterpartyDuration = MaxTimelock + 1 }, wantErr: ErrTimelockRange},
		{name: "initiator beyond the maximum", mod: func(p *SwapParams) { p.InitiatorDuration = MaxTimelock + 1 }, wantErr: ErrTimelockRange},
		{name: "negative initiator duration (no wrap-around)", mod: func(p *SwapParams) { p.InitiatorDuration = -1 << 63 }, wantErr: ErrTimelockRange},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := ok
			if tc.mod != nil {
				tc.mod(&p)
			}
			plan, err := PlanSwap(p)
			wantErrIs(t, err, tc.wantErr)
			if err != nil {
				return
			}
			if !plan.InitiatorTimelock.Equal(p.Start.Add(p.InitiatorDuration)) || !plan.CounterpartyTimelock.Equal(p.Start.Add(p.CounterpartyDuration)) {
				t.Fatalf("plan %+v", plan)
			}
			if plan.InitiatorTimelock.Sub(plan.CounterpartyTimelock) < p.MinMargin || plan.InitiatorTimelock.Location() != time.UTC {
				t.Fatalf("plan %+v breaks the margin or is not UTC", plan)
			}
		})
	}
}

// TestSwapEndToEnd runs the two-channel protocol on the pure rules: the initiator (Org2)
// locks shares for the counterparty (Org1), the counterparty locks cash for the initiator, the
// initiator claims the cash revealing the preimage, the counterparty claims the shares with it.
// A second run has the counterparty disappear: the initiator is refunded after its timelock.
func TestSwapEndToEnd(t *testing.T) {
	plan, err := PlanSwap(SwapParams{Start: t0, InitiatorDuration: 2 * time.Hour, CounterpartyDuration: time.Hour, MinMargin: 30 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	initiator := Party{Account: "org2-shares", Org: sellerOrg}
	initiatorCash := Party{Account: "org2-cash", Org: sellerOrg}
	counter := Party{Account: "org1-shares", Org: buyerOrg}
	counterCash := Party{Account: "org1-cash", Org: buyerOrg}
	market, payments := newLedger(), newLedger()
	market.set(initiator.Account, sym, 10)
	payments.set(counterCash.Account, ccy, 5000)

	shares, ms, err := Lock(sellerOrg, t0, LockTerms{ID: "swap-1-shares", Asset: sym, Amount: 10, Sender: initiator, Receiver: counter, Hashlock: hashlock, Timelock: plan.InitiatorTimelock})
	if err != nil || market.apply(ms) != nil {
		t.Fatal(err)
	}
	cashLockTerms := LockTerms{ID: "swap-1-cash", Asset: ccy, Amount: 5000, Sender: counterCash, Receiver: initiatorCash, Hashlock: shares.Hashlock, Timelock: plan.CounterpartyTimelock}
	cash, ms, err := Lock(buyerOrg, t0.Add(5*time.Minute), cashLockTerms)
	if err != nil || payments.apply(ms) != nil {
		t.Fatal(err)
	}
	if err := CheckSwapLocks(shares, cash, 30*time.Minute); err != nil {
		t.Fatal(err)
	}
	cash, ms, err = cash.Claim(sellerOrg, t0.Add(10*time.Minute), secret)
	if err != nil || payments.apply(ms) != nil {
		t.Fatal(err)
	}
	shares, ms, err = shares.Claim(buyerOrg, t0.Add(15*time.Minute), cash.Preimage)
	if err != nil || market.apply(ms) != nil {
		t.Fatal(err)
	}
	if market.avail(counter.Account, sym) != 10 || payments.avail(initiatorCash.Account, ccy) != 5000 {
		t.Fatal("swap did not deliver both legs")
	}

	// Counterparty disappears after the initiator locked.
	shares2, ms, err := Lock(buyerOrg, t0, LockTerms{ID: "swap-2-shares", Asset: sym, Amount: 10, Sender: counter, Receiver: initiator, Hashlock: hashlock, Timelock: plan.InitiatorTimelock})
	if err != nil || market.apply(ms) != nil {
		t.Fatal(err)
	}
	if _, _, err := shares2.Refund(buyerOrg, plan.InitiatorTimelock.Add(-time.Second)); !errors.Is(err, ErrTimelockNotReached) {
		t.Fatalf("early refund: %v", err)
	}
	if _, ms, err = shares2.Refund(buyerOrg, plan.InitiatorTimelock); err != nil || market.apply(ms) != nil {
		t.Fatal(err)
	}
	if market.avail(counter.Account, sym) != 10 || market.total(sym) != 10 {
		t.Fatal("refund did not restore the initiator")
	}
}

func TestCheckSwapLocks(t *testing.T) {
	initiator := HTLC{ID: "i", Asset: sym, Amount: 1, Sender: Party{"a", sellerOrg}, Receiver: Party{"b", buyerOrg}, Hashlock: hashlock, Timelock: t0.Add(2 * time.Hour), Status: HTLCLocked}
	counter := HTLC{ID: "c", Asset: ccy, Amount: 1, Sender: Party{"c", buyerOrg}, Receiver: Party{"d", sellerOrg}, Hashlock: hashlock, Timelock: t0.Add(time.Hour), Status: HTLCLocked}
	tests := []struct {
		name    string
		mod     func(i, c *HTLC)
		margin  time.Duration
		wantErr error
	}{
		{name: "ok", margin: time.Hour},
		{name: "uppercase hashlock on one side", margin: time.Hour, mod: func(i, c *HTLC) { c.Hashlock = strings.ToUpper(hashlock) }},
		{name: "margin not met", margin: time.Hour + 1, wantErr: ErrTimelockRange},
		{name: "margin below minimum", margin: time.Second, wantErr: ErrTimelockRange},
		{name: "counterparty outlives initiator", margin: time.Minute, mod: func(i, c *HTLC) { c.Timelock = t0.Add(3 * time.Hour) }, wantErr: ErrTimelockRange},
		{name: "different hashlocks", margin: time.Hour, mod: func(i, c *HTLC) { c.Hashlock = HashlockOf(nil) }, wantErr: ErrInvalidArgument},
		{name: "orgs do not mirror", margin: time.Hour, mod: func(i, c *HTLC) { c.Receiver.Org = thirdOrg }, wantErr: ErrInvalidArgument},
		{name: "bad initiator lock", margin: time.Hour, mod: func(i, c *HTLC) { i.Amount = 0 }, wantErr: ErrInvalidArgument},
		{name: "bad counterparty hashlock", margin: time.Hour, mod: func(i, c *HTLC) { c.Hashlock = "zz" }, wantErr: ErrBadHashlock},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			i, c := initiator, counter
			if tc.mod != nil {
				tc.mod(&i, &c)
			}
			wantErrIs(t, CheckSwapLocks(i, c, tc.margin), tc.wantErr)
		})
	}
}
