package api

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/fabmarket/fabmarket/chaincode/exchange/settle"
)

// Agreements and HTLCs of the fake: agrOpen is AFFIRMED between a1 (Org1MSP, seller) and b2
// (Org2MSP, buyer) for 10 ACME at 20.30; agrOwn has both parties in Org1MSP; agrClosed is
// SETTLED. htlcShares locks 5 ACME on market, htlcCash 10.00 USD on payments.
const (
	agrOpen    = "agr-open"
	agrOwn     = "agr-own"
	agrClosed  = "agr-closed"
	htlcShares = "h-shares"
	htlcCash   = "h-cash"
	goodLock   = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
)

// fakeDvP is the settlement and htlc contracts of the fake ledger.
type fakeDvP struct {
	agreements map[string]settle.Agreement
	htlcs      map[string]settle.HTLC // channel/id
	proposals  []SettlementRequest
	steps      []SettlementStep
	locks      []LockRequest
	lockChans  []string
	claims     []string // channel/id/preimage
	refunds    []string // channel/id
}

var fakeTime = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func (f *fakeLedger) dvpState() *fakeDvP {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dvp == nil {
		msg := []settle.Message{{Type: settle.MsgProposed, SenderOrg: "Org1MSP", Time: fakeTime, Details: "x"}}
		base := settle.Agreement{ID: agrOpen, Seller: settle.Party{Account: "a1", Org: "Org1MSP"},
			Buyer: settle.Party{Account: "b2", Org: "Org2MSP"}, ProposerOrg: "Org1MSP", Symbol: "ACME",
			Quantity: 10, Price: 2030, Currency: "USD", CashPerLotTick: 1, CashAmount: 20300,
			Deadline: fakeTime.Add(time.Hour), Status: settle.StatusAffirmed, Messages: msg}
		own := base
		own.ID, own.Buyer = agrOwn, settle.Party{Account: "a3", Org: "Org1MSP"}
		closed := base
		closed.ID, closed.Status = agrClosed, settle.StatusSettled
		h := settle.HTLC{ID: htlcShares, Asset: "ACME", Amount: 5, Sender: settle.Party{Account: "a1", Org: "Org1MSP"},
			Receiver: settle.Party{Account: "b2", Org: "Org2MSP"}, Hashlock: goodLock, Timelock: fakeTime,
			Status: settle.HTLCLocked, Messages: msg}
		c := h
		c.ID, c.Asset, c.Amount = htlcCash, "USD", 1000
		f.dvp = &fakeDvP{
			agreements: map[string]settle.Agreement{agrOpen: base, agrOwn: own, agrClosed: closed},
			htlcs:      map[string]settle.HTLC{"market/" + htlcShares: h, "payments/" + htlcCash: c},
		}
	}
	return f.dvp
}

func (f *fakeLedger) Settlement(_ context.Context, id string) (settle.Agreement, error) {
	if err := f.check("Settlement"); err != nil {
		return settle.Agreement{}, err
	}
	d := f.dvpState()
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := d.agreements[id]
	if !ok {
		return settle.Agreement{}, NewError(CodeNotFound, "settlement %s does not exist", id)
	}
	return a, nil
}

func (f *fakeLedger) Settlements(_ context.Context, account, status string) ([]settle.Agreement, error) {
	if err := f.check("Settlements"); err != nil {
		return nil, err
	}
	d := f.dvpState()
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []settle.Agreement
	for _, a := range d.agreements {
		if (a.Buyer.Account == account || a.Seller.Account == account) && (status == "" || string(a.Status) == status) {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (f *fakeLedger) ProposeSettlement(_ context.Context, r SettlementRequest, w Write) (settle.Agreement, Receipt, error) {
	d := f.dvpState()
	rc, err := f.write("ProposeSettlement", w)
	if err != nil {
		return settle.Agreement{}, rc, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	d.proposals = append(d.proposals, r)
	id := r.SettlementID
	if id == "" {
		id = rc.TxID
	}
	a := settle.Agreement{ID: id, Seller: settle.Party{Account: r.Seller, Org: "Org1MSP"}, Buyer: settle.Party{Account: r.Buyer, Org: "Org2MSP"},
		ProposerOrg: "Org1MSP", Symbol: r.Symbol, Quantity: r.Quantity, Price: r.Price, Currency: r.Currency, CashPerLotTick: 1,
		CashAmount: r.Quantity * r.Price, Deadline: r.Deadline, AllowPartial: r.AllowPartial, Notary: r.Notary,
		Status: settle.StatusProposed, Messages: []settle.Message{{Type: settle.MsgProposed, SenderOrg: "Org1MSP", Time: fakeTime}}}
	d.agreements[id] = a
	return a, rc, nil
}

func (f *fakeLedger) SettlementStep(_ context.Context, s SettlementStep, w Write) (settle.Agreement, Receipt, error) {
	d := f.dvpState()
	rc, err := f.write("SettlementStep", w)
	if err != nil {
		return settle.Agreement{}, rc, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	d.steps = append(d.steps, s)
	a := d.agreements[s.SettlementID]
	switch s.Action {
	case SettleAffirm:
		a.Status = settle.StatusAffirmed
	case SettleFund:
		a.Status = settle.StatusFunding
	case SettleCancel:
		a.Status = settle.StatusCancelled
	case SettleExpire:
		a.Status = settle.StatusExpired
	}
	a.Messages = append(a.Messages, settle.Message{Type: s.Action, SenderOrg: "Org1MSP", Time: fakeTime})
	d.agreements[s.SettlementID] = a
	return a, rc, nil
}

func (f *fakeLedger) HTLC(_ context.Context, channel, id string) (settle.HTLC, error) {
	if err := f.check("HTLC"); err != nil {
		return settle.HTLC{}, err
	}
	d := f.dvpState()
	f.mu.Lock()
	defer f.mu.Unlock()
	h, ok := d.htlcs[channel+"/"+id]
	if !ok {
		return settle.HTLC{}, NewError(CodeNotFound, "htlc %s does not exist on %s", id, channel)
	}
	return h, nil
}

func (f *fakeLedger) LockHTLC(_ context.Context, channel string, r LockRequest, w Write) (settle.HTLC, Receipt, error) {
	d := f.dvpState()
	rc, err := f.write("LockHTLC", w)
	if err != nil {
		return settle.HTLC{}, rc, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	d.locks, d.lockChans = append(d.locks, r), append(d.lockChans, channel)
	id := r.HTLCID
	if id == "" {
		id = rc.TxID
	}
	h := settle.HTLC{ID: id, Asset: r.Asset, Amount: r.Amount, Sender: settle.Party{Account: r.Sender, Org: "Org1MSP"},
		Receiver: settle.Party{Account: r.Receiver, Org: "Org2MSP"}, Hashlock: r.Hashlock, Timelock: r.Timelock,
		Status: settle.HTLCLocked, Messages: []settle.Message{{Type: settle.MsgLocked, SenderOrg: "Org1MSP", Time: fakeTime}}}
	d.htlcs[channel+"/"+id] = h
	return h, rc, nil
}

func (f *fakeLedger) ClaimHTLC(_ context.Context, channel, id, preimage string, w Write) (settle.HTLC, Receipt, error) {
	d := f.dvpState()
	rc, err := f.write("ClaimHTLC", w)
	if err != nil {
		return settle.HTLC{}, rc, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	d.claims = append(d.claims, channel+"/"+id+"/"+preimage)
	h := d.htlcs[channel+"/"+id]
	h.Status, h.Preimage = settle.HTLCClaimed, preimage
	d.htlcs[channel+"/"+id] = h
	return h, rc, nil
}

func (f *fakeLedger) RefundHTLC(_ context.Context, channel, id string, w Write) (settle.HTLC, Receipt, error) {
	d := f.dvpState()
	rc, err := f.write("RefundHTLC", w)
	if err != nil {
		return settle.HTLC{}, rc, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	d.refunds = append(d.refunds, channel+"/"+id)
	h := d.htlcs[channel+"/"+id]
	h.Status = settle.HTLCRefunded
	d.htlcs[channel+"/"+id] = h
	return h, rc, nil
}

// fakeSwapper is an in-memory Swapper: it records requests and answers a swap whose lock step
// is DONE when the write waits.
type fakeSwapper struct {
	mu      sync.Mutex
	swaps   map[string]Swap
	starts  []SwapRequest
	accepts []SwapTerms
	errs    map[string]error
}

func newFakeSwapper() *fakeSwapper {
	return &fakeSwapper{swaps: map[string]Swap{}, errs: map[string]error{}}
}

func (f *fakeSwapper) make(id, role, step string, t SwapTerms, w Write) Swap {
	sw := Swap{SwapID: id, Role: role, Status: SwapLocking, Terms: t, SharesHTLC: id + ".shares", CashHTLC: id + ".cash",
		Created: fakeTime, Updated: fakeTime}
	for _, n := range []string{StepLockShares, StepLockCash, StepClaimCash, StepClaimShares, StepRefundCash, StepRefundShares} {
		sw.Steps = append(sw.Steps, SwapStep{Name: n, Status: StepPending})
	}
	if w.Wait {
		st := sw.Step(step)
		st.Status, st.TxID, st.Time = StepDone, testTx, fakeTime
		sw.Status = SwapAwaitingCounter
	}
	return sw
}

func (f *fakeSwapper) StartSwap(_ context.Context, r SwapRequest, w Write) (Swap, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.errs["StartSwap"]; err != nil {
		return Swap{}, err
	}
	f.starts = append(f.starts, r)
	id := r.SwapID
	if id == "" {
		id = "sw-1"
	}
	if old, ok := f.swaps[id]; ok {
		old.Replayed = true
		return old, nil
	}
	t := r.Terms
	t.Hashlock = goodLock
	sw := f.make(id, SwapRoleInitiator, StepLockShares, t, w)
	f.swaps[id] = sw
	return sw, nil
}

func (f *fakeSwapper) AcceptSwap(_ context.Context, id string, t SwapTerms, w Write) (Swap, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.errs["AcceptSwap"]; err != nil {
		return Swap{}, err
	}
	f.accepts = append(f.accepts, t)
	sw := f.make(id, SwapRoleCounterparty, StepLockCash, t, w)
	f.swaps[id] = sw
	return sw, nil
}

func (f *fakeSwapper) Swap(_ context.Context, id string) (Swap, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.errs["Swap"]; err != nil {
		return Swap{}, err
	}
	sw, ok := f.swaps[id]
	if !ok {
		return Swap{}, NewError(CodeNotFound, "swap %s is not known to this gateway", id)
	}
	return sw, nil
}

func (f *fakeSwapper) Swaps(_ context.Context, status string) ([]Swap, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []Swap{}
	for _, sw := range f.swaps {
		if status == "" || sw.Status == status {
			out = append(out, sw)
		}
	}
	return out, nil
}
