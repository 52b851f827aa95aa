package settle

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

const (
	buyerOrg  = "Org1MSP"
	sellerOrg = "Org2MSP"
	thirdOrg  = "Org3MSP"
	buyerAcc  = "acc-buyer"
	sellerAcc = "acc-seller"
	sym       = "ACME"
	ccy       = "USD"
)

// t0 is the reference transaction time of the tests, deliberately not in UTC.
var t0 = time.Date(2025, 3, 14, 10, 0, 0, 0, time.FixedZone("CET", 3600))

func baseTerms() Terms {
	return Terms{
		ID:             "agr-1",
		Buyer:          Party{Account: buyerAcc, Org: buyerOrg},
		Seller:         Party{Account: sellerAcc, Org: sellerOrg},
		Symbol:         sym,
		Quantity:       100,
		Price:          250,
		Currency:       ccy,
		CashPerLotTick: 2,
		Deadline:       t0.Add(time.Hour),
	}
}

// balKey identifies one balance of the model ledger; Ref is set for escrow balances only.
type balKey struct {
	Ref, Account string
	Bucket       Bucket
	Asset        string
}

// ledger is a model of the adapter's balances: it applies movements and refuses to drive any
// balance negative, like the adapter must.
type ledger struct {
	bal map[balKey]int64
}

func newLedger() *ledger { return &ledger{bal: map[balKey]int64{}} }

func (l *ledger) set(account, asset string, amount int64) {
	l.bal[balKey{Account: account, Bucket: Available, Asset: asset}] = amount
}

func (l *ledger) avail(account, asset string) int64 {
	return l.bal[balKey{Account: account, Bucket: Available, Asset: asset}]
}

func (l *ledger) escrow(ref, account, asset string) int64 {
	return l.bal[balKey{Ref: ref, Account: account, Bucket: Escrow, Asset: asset}]
}

// apply applies ms atomically; errInsufficient reports an available balance that would go
// negative (the adapter aborts the transaction), any other error is a bug in the core.
var errInsufficient = errors.New("insufficient available balance")

func (l *ledger) apply(ms []Movement) error {
	if err := CheckMovements(ms); err != nil {
		return err
	}
	next := make(map[balKey]int64, len(l.bal))
	for k, v := range l.bal {
		next[k] = v
	}
	sums := map[string]int64{}
	for _, p := range Postings(ms) {
		k := balKey{Ref: p.Ref, Account: p.Account, Bucket: p.Bucket, Asset: p.Asset}
		next[k] += p.Delta
		sums[p.Asset] += p.Delta
		if next[k] < 0 {
			if p.Bucket == Available {
				return fmt.Errorf("%w: %+v", errInsufficient, k)
			}
			return fmt.Errorf("escrow went negative: %+v = %d", k, next[k])
		}
	}
	for asset, s := range sums {
		if s != 0 {
			return fmt.Errorf("postings of %s sum to %d", asset, s)
		}
	}
	l.bal = next
	return nil
}

func (l *ledger) total(asset string) int64 {
	var t int64
	for k, v := range l.bal {
		if k.Asset == asset {
			t += v
		}
	}
	return t
}

// cloneAgreement returns a deep copy, to check that operations leave their input untouched.
func cloneAgreement(a Agreement) Agreement {
	a.Messages = slices.Clone(a.Messages)
	return a
}

func msgTypes(ms []Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Type
	}
	return out
}

func wantErrIs(t *testing.T, err, want error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("error = %v, want %v", err, want)
	}
}
