package settle

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// flows counts, per agreement or HTLC, what went into and out of its escrow and how.
type flows struct {
	in, delivered, paid, refunded int64
	closings                      int // operations that moved anything out of escrow
}

// world is the state of one random run: stored values (as JSON, like the ledger), balances.
type world struct {
	t          *testing.T
	r          *rand.Rand
	now        time.Time
	l          *ledger
	agreements map[string][]byte
	htlcs      map[string][]byte
	ids        []string // creation order, for deterministic iteration
	flow       map[string]*flows
	totals     map[string]int64
}

var (
	propOrgs     = []string{buyerOrg, sellerOrg, thirdOrg, RegulatorOrg}
	propAccounts = []Party{{"acc-a", buyerOrg}, {"acc-b", sellerOrg}, {"acc-c", buyerOrg}, {"acc-d", thirdOrg}}
)

func (w *world) pick(n int) int { return w.r.IntN(n) }

func (w *world) org() string { return propOrgs[w.pick(len(propOrgs))] }

func (w *world) twoParties() (Party, Party) {
	i := w.pick(len(propAccounts))
	j := (i + 1 + w.pick(len(propAccounts)-1)) % len(propAccounts)
	return propAccounts[i], propAccounts[j]
}

func (w *world) store(id string, v any, into map[string][]byte) {
	b, err := json.Marshal(v)
	if err != nil {
		w.t.Fatalf("marshal %s: %v", id, err)
	}
	if _, ok := into[id]; !ok {
		w.ids = append(w.ids, id)
	}
	into[id] = b
}

func (w *world) loadAgreement(id string) Agreement {
	var a Agreement
	if err := json.Unmarshal(w.agreements[id], &a); err != nil {
		w.t.Fatal(err)
	}
	return a
}

func (w *world) loadHTLC(id string) HTLC {
	var h HTLC
	if err := json.Unmarshal(w.htlcs[id], &h); err != nil {
		w.t.Fatal(err)
	}
	return h
}

// commit applies the movements of a successful operation. It reports false when the adapter
// would abort the transaction for lack of available balance; any other failure is a bug.
func (w *world) commit(what string, ms []Movement) bool {
	err := w.l.apply(ms)
	if errors.Is(err, errInsufficient) {
		return false
	}
	if err != nil {
		w.t.Fatalf("%s: %v", what, err)
	}
	for _, m := range ms {
		f := w.flow[m.Ref]
		if f == nil {
			f = &flows{}
			w.flow[m.Ref] = f
		}
		switch m.Reason {
		case ReasonFund:
			f.in += m.Amount
		case ReasonDeliver:
			f.delivered += m.Amount
		case ReasonPay:
			f.paid += m.Amount
		case ReasonRefund:
			f.refunded += m.Amount
		}
	}
	for _, m := range ms {
		if m.From.Bucket == Escrow {
			w.flow[m.Ref].closings++
			break
		}
	}
	return true
}

func (w *world) newAgreement(n int) {
	buyer, seller := w.twoParties()
	tm := Terms{
		ID: fmt.Sprintf("agr-%d", n), Buyer: buyer, Seller: seller, Symbol: sym, Currency: ccy,
		Quantity: 1 + int64(w.pick(50)), Price: 1 + int64(w.pick(20)), CashPerLotTick: 1 + int64(w.pick(3)),
		Deadline: w.now.Add(time.Duration(1+w.pick(60)) * time.Minute), AllowPartial: w.pick(2) == 0,
	}
	if w.pick(3) == 0 {
		tm.Notary = thirdOrg
	}
	a, err := Propose(w.org(), w.now, tm)
	if err != nil {
		return
	}
	w.store(a.ID, a, w.agreements)
}

func (w *world) newHTLC(n int) {
	s, r := w.twoParties()
	asset := sym
	if w.pick(2) == 0 {
		asset = ccy
	}
	h, ms, err := Lock(w.org(), w.now, LockTerms{
		ID: fmt.Sprintf("htlc-%d", n), Asset: asset, Amount: 1 + int64(w.pick(100)), Sender: s, Receiver: r,
		Hashlock: hashlock, Timelock: w.now.Add(time.Duration(1+w.pick(60)) * time.Minute),
	})
	if err != nil || !w.commit("lock", ms) {
		return
	}
	w.store(h.ID, h, w.htlcs)
}

func (w *world) stepAgreement(id string) {
	a := w.loadAgreement(id)
	// Mostly a party's org, sometimes any org, so that both the happy paths and the
	// forbidden ones are walked.
	org := w.org()
	if w.pick(4) != 0 {
		org = []string{a.Buyer.Org, a.Seller.Org}[w.pick(2)]
	}
	legs := []Leg{LegAuto, LegAuto, LegSeller, LegBuyer, Leg("X")}
	var (
		n   Agreement
		ms  []Movement
		err error
	)
	kind := w.pick(20)
	switch {
	case kind < 4:
		n, ms, err = a.Affirm(org, w.now)
	case kind < 14:
		q := int64(0) // the rest of the leg
		if w.pick(2) == 0 {
			q = w.r.Int64N(a.Quantity+3) - 1 // -1 .. Quantity+1
		}
		n, ms, err = a.Fund(org, w.now, legs[w.pick(len(legs))], q)
	case kind < 16:
		if a.Notary != "" && w.pick(4) != 0 {
			org = a.Notary
		}
		n, ms, err = a.Approve(org, w.now)
	case kind < 17:
		n, ms, err = a.Cancel(org, w.now, "random")
	default:
		n, ms, err = a.Expire(org, w.now)
	}
	if a.Status.Closed() && !errors.Is(err, ErrClosed) {
		w.t.Fatalf("op %d on closed %s: %v", kind, id, err)
	}
	if err != nil {
		if ms != nil || !reflect.DeepEqual(n, Agreement{}) {
			w.t.Fatalf("failed op %d returned movements or a value", kind)
		}
		if errors.Is(err, ErrCorrupt) || errors.Is(err, ErrOverflow) {
			w.t.Fatalf("op %d on %s: %v", kind, id, err)
		}
		return
	}
	if err := n.Validate(); err != nil {
		w.t.Fatalf("op %d produced an invalid agreement: %v", kind, err)
	}
	if w.commit(fmt.Sprintf("agreement op %d", kind), ms) {
		w.store(id, n, w.agreements)
	}
}

func (w *world) stepHTLC(id string) {
	h := w.loadHTLC(id)
	org := w.org()
	var (
		n   HTLC
		ms  []Movement
		err error
	)
	if w.pick(4) != 0 {
		org = h.Receiver.Org
	}
	if w.pick(2) == 0 {
		pre := secret
		if w.pick(3) == 0 {
			pre = otherPre
		}
		n, ms, err = h.Claim(org, w.now, pre)
	} else {
		n, ms, err = h.Refund(org, w.now)
	}
	if h.Status != HTLCLocked && !errors.Is(err, ErrClosed) {
		w.t.Fatalf("op on closed %s: %v", id, err)
	}
	if err != nil {
		if ms != nil || !reflect.DeepEqual(n, HTLC{}) {
			w.t.Fatal("failed HTLC op returned movements or a value")
		}
		return
	}
	if err := n.Validate(); err != nil {
		w.t.Fatal(err)
	}
	if w.commit("htlc op", ms) {
		w.store(id, n, w.htlcs)
	}
}

func (w *world) check() {
	for asset, want := range w.totals {
		if got := w.l.total(asset); got != want {
			w.t.Fatalf("total %s = %d, want %d", asset, got, want)
		}
	}
	for _, id := range w.ids {
		f := w.flow[id]
		if f == nil {
			f = &flows{}
		}
		if f.closings > 1 {
			w.t.Fatalf("%s: escrow paid out by %d operations", id, f.closings)
		}
		if out := f.delivered + f.paid + f.refunded; out > f.in {
			w.t.Fatalf("%s: %d left escrow, only %d came in", id, out, f.in)
		}
		if _, ok := w.agreements[id]; ok {
			a := w.loadAgreement(id)
			se, be := w.l.escrow(id, a.Seller.Account, sym), w.l.escrow(id, a.Buyer.Account, ccy)
			if !a.Status.Closed() && (se != a.SellerFundedQuantity || be != a.BuyerFundedCash) {
				w.t.Fatalf("%s open: escrow %d/%d, funded %d/%d", id, se, be, a.SellerFundedQuantity, a.BuyerFundedCash)
			}
			if a.Status.Closed() {
				if se != 0 || be != 0 {
					w.t.Fatalf("%s closed with escrow %d/%d", id, se, be)
				}
				if f.delivered != a.SettledQuantity || f.paid != a.SettledCash || f.in != f.delivered+f.paid+f.refunded {
					w.t.Fatalf("%s: flows %+v vs settled %d/%d", id, *f, a.SettledQuantity, a.SettledCash)
				}
				if a.SettledQuantity > 0 && a.Status != StatusSettled {
					w.t.Fatalf("%s: delivered but %s", id, a.Status)
				}
			}
			continue
		}
		h := w.loadHTLC(id)
		esc := w.l.escrow(id, h.Sender.Account, h.Asset)
		switch h.Status {
		case HTLCLocked:
			if esc != h.Amount || f.closings != 0 {
				w.t.Fatalf("%s locked with escrow %d", id, esc)
			}
		case HTLCClaimed, HTLCRefunded:
			if esc != 0 || f.closings != 1 || f.in != h.Amount {
				w.t.Fatalf("%s %s with escrow %d, flows %+v", id, h.Status, esc, *f)
			}
		}
	}
}

// TestRandomSequencesConserve drives random operation sequences (right and wrong orgs, legs,
// quantities, preimages, times before and after deadlines) against several agreements and
// HTLCs sharing accounts, storing every value as JSON in between like the adapter. After every
// step: per-asset totals are unchanged, escrow holds exactly what open agreements and HTLCs
// say, closed ones hold nothing, nothing leaves an escrow twice, and closed values reject every
// operation with ErrClosed.
func TestRandomSequencesConserve(t *testing.T) {
	seeds := 250
	if testing.Short() {
		seeds = 50
	}
	reached := map[string]int{}
	for seed := range seeds {
		w := &world{
			t: t, r: rand.New(rand.NewPCG(uint64(seed), 0x5e771e)), now: t0, l: newLedger(),
			agreements: map[string][]byte{}, htlcs: map[string][]byte{}, flow: map[string]*flows{},
			totals: map[string]int64{},
		}
		for _, p := range propAccounts {
			w.l.set(p.Account, sym, 200)
			w.l.set(p.Account, ccy, 20_000)
		}
		w.totals[sym], w.totals[ccy] = 200*int64(len(propAccounts)), 20_000*int64(len(propAccounts))
		for i := range 4 {
			w.newAgreement(i)
			w.newHTLC(i)
		}
		for range 150 {
			w.now = w.now.Add(time.Duration(w.pick(90)) * time.Second)
			if len(w.ids) == 0 {
				break
			}
			id := w.ids[w.pick(len(w.ids))]
			if _, ok := w.agreements[id]; ok {
				w.stepAgreement(id)
			} else {
				w.stepHTLC(id)
			}
			w.check()
		}
		for _, id := range w.ids {
			if _, ok := w.agreements[id]; ok {
				a := w.loadAgreement(id)
				kind := string(a.Status)
				if a.Status == StatusSettled && a.SettledQuantity < a.Quantity {
					kind = "SETTLED_PARTIAL"
				}
				if a.Notary != "" && a.Status == StatusSettled {
					reached["SETTLED_WITH_NOTARY"]++
				}
				reached[kind]++
			} else {
				reached[string(w.loadHTLC(id).Status)]++
			}
		}
	}
	// The random walk must actually reach every outcome, or the properties above say little.
	for _, k := range []string{"SETTLED", "SETTLED_PARTIAL", "SETTLED_WITH_NOTARY", "EXPIRED", "CANCELLED", "CLAIMED", "REFUNDED"} {
		if reached[k] == 0 {
			t.Errorf("no run ended in %s: %v", k, reached)
		}
	}
	t.Logf("final states over %d runs: %v", seeds, reached)
}
