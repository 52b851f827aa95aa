package fabric

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/fabmarket/fabmarket/chaincode/exchange/settle"
	"github.com/fabmarket/fabmarket/gateway/api"
)

// clock is a settable time shared by the fake chain and the orchestrators.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeChain is both channels' htlc contracts over the pure settle rules, with accounts and
// balances; each orchestrator sees it through an orgView (its MSP ID).
type fakeChain struct {
	mu       sync.Mutex
	clock    *clock
	owners   map[string]string          // channel/account → MSP ID
	balances map[string]int64           // channel/account/asset → available
	htlcs    map[string]settle.HTLC     // channel/id
	txs      int                        // committed transactions
	loseNext map[string]bool            // fn → commit it but answer an error (lost answer)
	fail     map[string]error           // fn → refuse it
	seen     map[string]map[string]bool // channel/id → fn → called
	calls    []string
}

func newFakeChain(c *clock) *fakeChain {
	return &fakeChain{clock: c, owners: map[string]string{}, balances: map[string]int64{}, htlcs: map[string]settle.HTLC{},
		loseNext: map[string]bool{}, fail: map[string]error{}, seen: map[string]map[string]bool{}}
}

func (f *fakeChain) open(channel, account, msp string, asset string, amount int64) {
	f.owners[channel+"/"+account] = msp
	f.balances[channel+"/"+account+"/"+asset] += amount
}

func (f *fakeChain) total(channel, asset string) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	var n int64
	for k, v := range f.balances {
		if len(k) > len(asset) && k[:len(channel)] == channel && k[len(k)-len(asset):] == asset {
			n += v
		}
	}
	for k, h := range f.htlcs {
		if k[:len(channel)] == channel && h.Asset == asset && h.Status == settle.HTLCLocked {
			n += h.Amount
		}
	}
	return n
}

type orgView struct {
	*fakeChain
	msp string
}

func (v orgView) getHTLC(_ context.Context, channel, id string) (*settle.HTLC, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	h, ok := v.htlcs[channel+"/"+id]
	if !ok {
		return nil, nil
	}
	return &h, nil
}

func (v orgView) accountOwner(_ context.Context, channel, account string) (string, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	org, ok := v.owners[channel+"/"+account]
	if !ok {
		return "", api.NewError(api.CodeNotFound, "account %s does not exist on %s", account, channel)
	}
	if org != v.msp {
		return "", nil
	}
	return org, nil
}

func (v orgView) htlcTx(_ context.Context, channel, fn string, args []string, started func(string)) (string, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.txs++
	txID := fmt.Sprintf("tx%04d", v.txs)
	started(txID)
	v.calls = append(v.calls, v.msp+":"+fn)
	if err := v.fail[fn]; err != nil {
		return txID, err
	}
	now := v.clock.now()
	var h settle.HTLC
	var moves []settle.Movement
	var err error
	switch fn {
	case "Lock":
		var r ccLockRequest
		_ = json.Unmarshal([]byte(args[0]), &r)
		if _, ok := v.htlcs[channel+"/"+r.HTLCID]; ok {
			return txID, api.NewError(api.CodeConflict, "htlc %s already exists", r.HTLCID)
		}
		tl, _ := time.Parse(time.RFC3339Nano, r.Timelock)
		h, moves, err = settle.Lock(v.msp, now, settle.LockTerms{ID: r.HTLCID, Asset: r.Asset, Amount: r.Amount,
			Sender:   settle.Party{Account: r.Sender, Org: v.owners[channel+"/"+r.Sender]},
			Receiver: settle.Party{Account: r.Receiver, Org: v.owners[channel+"/"+r.Receiver]}, Hashlock: r.Hashlock, Timelock: tl})
	case "Claim", "Refund":
		old, ok := v.htlcs[channel+"/"+args[0]]
		if !ok {
			return txID, api.NewError(api.CodeNotFound, "htlc %s", args[0])
		}
		if fn == "Claim" {
			h, moves, err = old.Claim(v.msp, now, args[1])
		} else {
			h, moves, err = old.Refund(v.msp, now)
		}
	}
	if err != nil {
		return txID, api.NewError(api.CodeConflict, "%v", err)
	}
	for _, m := range moves {
		if m.From.Bucket == settle.Available {
			k := channel + "/" + m.From.Account + "/" + m.Asset
			if v.balances[k] < m.Amount {
				return txID, api.NewError("INSUFFICIENT_FUNDS", "%s", k)
			}
			v.balances[k] -= m.Amount
		}
		if m.To.Bucket == settle.Available {
			v.balances[channel+"/"+m.To.Account+"/"+m.Asset] += m.Amount
		}
	}
	v.htlcs[channel+"/"+h.ID] = h
	if v.loseNext[fn] {
		delete(v.loseNext, fn)
		return txID, api.NewError(api.CodeUnavailable, "the network is unavailable")
	}
	return txID, nil
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func testStore(t *testing.T) *Store {
	st, err := OpenStore(filepath.Join(t.TempDir(), "s.db"), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// world is a fake chain with the initiator "ini" of Org1MSP (100 ACME on market) and the
// counterparty "cp" of cpMSP (1,000 USD cents... 100,000 on payments), both with accounts on
// both channels.
type world struct {
	clock *clock
	chain *fakeChain
}

func newWorld(cpMSP string) *world {
	c := &clock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	f := newFakeChain(c)
	f.open("market", "ini", "Org1MSP", "ACME", 100)
	f.open("payments", "ini", "Org1MSP", "USD", 0)
	f.open("market", "cp", cpMSP, "ACME", 0)
	f.open("payments", "cp", cpMSP, "USD", 100_000)
	return &world{clock: c, chain: f}
}

func (w *world) swaps(t *testing.T, msp string, store *Store) *Swaps {
	s := newSwaps(orgView{w.chain, msp}, store, msp, SwapConfig{Poll: 2 * time.Millisecond}, quiet, w.clock.now)
	t.Cleanup(s.Close)
	return s
}

func terms(now time.Time) api.SwapTerms {
	return api.SwapTerms{Initiator: "ini", Counterparty: "cp", Symbol: "ACME", Quantity: 10, Currency: "USD", Amount: 20_300,
		CounterpartyTimelock: now.Add(time.Minute), InitiatorTimelock: now.Add(2 * time.Minute)}
}

// wait polls the swap on s until cond holds, advancing the clock by step each time.
func wait(t *testing.T, w *world, s *Swaps, id string, step time.Duration, cond func(api.Swap) bool) api.Swap {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		sw, err := s.Swap(context.Background(), id)
		if err == nil && cond(sw) {
			return sw
		}
		if time.Now().After(deadline) {
			t.Fatalf("swap %s: condition not reached: %+v (%v)", id, sw, err)
		}
		w.clock.add(step)
		time.Sleep(5 * time.Millisecond)
	}
}

func final(sw api.Swap) bool { return api.SwapFinal(sw.Status) }

func (w *world) conserved(t *testing.T) {
	t.Helper()
	if m, p := w.chain.total("market", "ACME"), w.chain.total("payments", "USD"); m != 100 || p != 100_000 {
		t.Fatalf("conservation: %d ACME on market, %d USD on payments", m, p)
	}
}

func TestSwapSameOrgCompletes(t *testing.T) {
	w := newWorld("Org1MSP")
	s := w.swaps(t, "Org1MSP", testStore(t))
	sw, err := s.StartSwap(context.Background(), api.SwapRequest{SwapID: "s1", Terms: terms(w.clock.now())}, api.Write{Wait: true, Fingerprint: "f"})
	if err != nil || sw.Role != api.SwapRoleBoth || sw.Step(api.StepLockShares).Status != api.StepDone {
		t.Fatalf("start: %+v %v", sw, err)
	}
	sw = wait(t, w, s, "s1", 0, final)
	if sw.Status != api.SwapCompleted || sw.Preimage == "" {
		t.Fatalf("swap %+v", sw)
	}
	for _, st := range []string{api.StepLockShares, api.StepLockCash, api.StepClaimCash, api.StepClaimShares} {
		if x := sw.Step(st); x.Status != api.StepDone || x.TxID == "" {
			t.Fatalf("step %+v", x)
		}
	}
	if w.chain.balances["market/cp/ACME"] != 10 || w.chain.balances["payments/ini/USD"] != 20_300 {
		t.Fatalf("balances %v", w.chain.balances)
	}
	w.conserved(t)
}

func TestSwapAcrossOrgsWithAccept(t *testing.T) {
	w := newWorld("Org2MSP")
	ini, cp := w.swaps(t, "Org1MSP", testStore(t)), w.swaps(t, "Org2MSP", testStore(t))
	ctx := context.Background()
	sw, err := ini.StartSwap(ctx, api.SwapRequest{SwapID: "x", Terms: terms(w.clock.now())}, api.Write{Wait: true, Fingerprint: "f"})
	if err != nil || sw.Role != api.SwapRoleInitiator {
		t.Fatalf("start %+v %v", sw, err)
	}
	wait(t, w, ini, "x", 0, func(s api.Swap) bool { return s.Status == api.SwapAwaitingCounter })
	bad := sw.Terms
	bad.Quantity = 9
	if _, err := cp.AcceptSwap(ctx, "x", bad, api.Write{Fingerprint: "g"}); asCode(err) != api.CodeFailedPrecond {
		t.Fatalf("accept with other terms: %v", err)
	}
	if _, err := ini.AcceptSwap(ctx, "x", sw.Terms, api.Write{}); asCode(err) != api.CodeConflict {
		t.Fatalf("accept on the initiator's gateway: %v", err)
	}
	got, err := cp.AcceptSwap(ctx, "x", sw.Terms, api.Write{Wait: true, Fingerprint: "g"})
	if err != nil || got.Role != api.SwapRoleCounterparty || got.Step(api.StepLockCash).Status != api.StepDone {
		t.Fatalf("accept %+v %v", got, err)
	}
	a := wait(t, w, ini, "x", 0, final)
	b := wait(t, w, cp, "x", 0, final)
	if a.Status != api.SwapCompleted || b.Status != api.SwapCompleted {
		t.Fatalf("statuses %s %s", a.Status, b.Status)
	}
	if a.Step(api.StepClaimShares).Status != api.StepObserved || b.Step(api.StepClaimCash).Status != api.StepObserved {
		t.Fatalf("observed steps: %+v / %+v", a.Steps, b.Steps)
	}
	w.conserved(t)
}

func asCode(err error) string {
	var e *api.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func TestSwapCounterpartyNeverLocks(t *testing.T) {
	w := newWorld("Org2MSP")
	ini := w.swaps(t, "Org1MSP", testStore(t))
	if _, err := ini.StartSwap(context.Background(), api.SwapRequest{SwapID: "y", Terms: terms(w.clock.now())}, api.Write{Wait: true}); err != nil {
		t.Fatal(err)
	}
	sw := wait(t, w, ini, "y", 5*time.Second, final)
	if sw.Status != api.SwapRefunded || sw.Step(api.StepRefundShares).Status != api.StepDone || sw.Step(api.StepClaimCash).Status != api.StepSkipped {
		t.Fatalf("swap %+v", sw)
	}
	if w.clock.now().Before(sw.Terms.InitiatorTimelock) || w.chain.balances["market/ini/ACME"] != 100 {
		t.Fatalf("refunded at %s (timelock %s), balance %d", w.clock.now(), sw.Terms.InitiatorTimelock, w.chain.balances["market/ini/ACME"])
	}
	w.conserved(t)
}

// TestSwapResumesAfterRestart: the initiator's orchestrator stops after locking (a crash); a
// new one over the same store resumes and completes once the counterparty locked, with the
// secret from the store.
func TestSwapResumesAfterRestart(t *testing.T) {
	w := newWorld("Org2MSP")
	store := testStore(t)
	ini := newSwaps(orgView{w.chain, "Org1MSP"}, store, "Org1MSP", SwapConfig{Poll: 2 * time.Millisecond}, quiet, w.clock.now)
	ctx := context.Background()
	sw, err := ini.StartSwap(ctx, api.SwapRequest{SwapID: "z", Terms: terms(w.clock.now())}, api.Write{Wait: true})
	if err != nil {
		t.Fatal(err)
	}
	ini.Close()
	cp := w.swaps(t, "Org2MSP", testStore(t))
	if _, err := cp.AcceptSwap(ctx, "z", sw.Terms, api.Write{Wait: true}); err != nil {
		t.Fatal(err)
	}
	again := w.swaps(t, "Org1MSP", store)
	if n, err := again.Resume(); err != nil || n != 1 {
		t.Fatalf("resumed %d, %v", n, err)
	}
	a := wait(t, w, again, "z", 0, final)
	b := wait(t, w, cp, "z", 0, final)
	if a.Status != api.SwapCompleted || b.Status != api.SwapCompleted {
		t.Fatalf("statuses %s %s", a.Status, b.Status)
	}
	w.conserved(t)
}

// TestSwapLostAnswerNotRepeated: the lock commits but its answer is lost; the next tick sees
// the lock on the ledger and does not lock again.
func TestSwapLostAnswerNotRepeated(t *testing.T) {
	w := newWorld("Org1MSP")
	w.chain.loseNext["Lock"] = true
	s := w.swaps(t, "Org1MSP", testStore(t))
	if _, err := s.StartSwap(context.Background(), api.SwapRequest{SwapID: "l", Terms: terms(w.clock.now())}, api.Write{}); err != nil {
		t.Fatal(err)
	}
	sw := wait(t, w, s, "l", 0, final)
	locks := 0
	for _, c := range w.chain.calls {
		if c == "Org1MSP:Lock" {
			locks++
		}
	}
	if sw.Status != api.SwapCompleted || locks != 2 { // shares once (answer lost, then seen), cash once
		t.Fatalf("swap %s with %d locks: %v", sw.Status, locks, w.chain.calls)
	}
	w.conserved(t)
}

func TestSwapStartErrors(t *testing.T) {
	w := newWorld("Org2MSP")
	w.chain.open("market", "other", "Org3MSP", "ACME", 5)
	s := w.swaps(t, "Org1MSP", testStore(t))
	now := w.clock.now()
	ctx := context.Background()
	tests := []struct {
		name string
		mod  func(*api.SwapTerms)
		code string
	}{
		{"initiator of another org", func(x *api.SwapTerms) { x.Initiator = "other" }, api.CodeForbidden},
		{"initiator unknown", func(x *api.SwapTerms) { x.Initiator = "nobody" }, api.CodeFailedPrecond},
		{"counterparty unknown", func(x *api.SwapTerms) { x.Counterparty = "nobody" }, api.CodeFailedPrecond},
		{"margin too small", func(x *api.SwapTerms) { x.InitiatorTimelock = x.CounterpartyTimelock.Add(time.Second) }, api.CodeInvalidArgument},
		{"counterparty lock too short", func(x *api.SwapTerms) {
			x.CounterpartyTimelock = now.Add(time.Second)
			x.InitiatorTimelock = now.Add(time.Minute)
		}, api.CodeInvalidArgument},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x := terms(now)
			tc.mod(&x)
			if _, err := s.StartSwap(ctx, api.SwapRequest{Terms: x}, api.Write{}); asCode(err) != tc.code {
				t.Fatalf("got %v, want %s", err, tc.code)
			}
		})
	}
	// A lock refused by the chaincode fails the swap; with wait the error is answered.
	w.chain.fail["Lock"] = api.NewError("INSUFFICIENT_FUNDS", "available 0 < 10")
	if _, err := s.StartSwap(ctx, api.SwapRequest{SwapID: "f", Terms: terms(now)}, api.Write{Wait: true, Fingerprint: "a"}); asCode(err) != "INSUFFICIENT_FUNDS" {
		t.Fatalf("lock refused: %v", err)
	}
	sw := wait(t, w, s, "f", 0, final)
	if sw.Status != api.SwapFailed {
		t.Fatalf("swap %+v", sw)
	}
	// The same id with other terms, and an Idempotency-Key reused for other terms.
	if _, err := s.StartSwap(ctx, api.SwapRequest{SwapID: "f", Terms: terms(now)}, api.Write{Fingerprint: "b"}); asCode(err) != api.CodeConflict {
		t.Fatalf("id reused: %v", err)
	}
	delete(w.chain.fail, "Lock")
	k := api.Write{IdempotencyKey: "k1", Fingerprint: "c"}
	first, err := s.StartSwap(ctx, api.SwapRequest{Terms: terms(now)}, k)
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.StartSwap(ctx, api.SwapRequest{Terms: terms(now)}, k)
	if err != nil || again.SwapID != first.SwapID || !again.Replayed {
		t.Fatalf("replay %+v %v", again, err)
	}
	k.Fingerprint = "d"
	if _, err := s.StartSwap(ctx, api.SwapRequest{Terms: terms(now)}, k); asCode(err) != api.CodeIdempotencyReuse {
		t.Fatalf("key reused: %v", err)
	}
}

// TestDecide checks the choice of the next action in the states of the protocol.
func TestDecide(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	tm := terms(t0)
	tm.Hashlock = settle.HashlockOf(make([]byte, 32))
	secret := hex.EncodeToString(make([]byte, 32))
	sh := func(st settle.HTLCStatus) *settle.HTLC {
		return &settle.HTLC{ID: "s.shares", Asset: "ACME", Amount: 10, Sender: settle.Party{Account: "ini"},
			Receiver: settle.Party{Account: "cp"}, Hashlock: tm.Hashlock, Timelock: tm.InitiatorTimelock, Status: st}
	}
	ca := func(st settle.HTLCStatus) *settle.HTLC {
		h := &settle.HTLC{ID: "s.cash", Asset: "USD", Amount: 20_300, Sender: settle.Party{Account: "cp"},
			Receiver: settle.Party{Account: "ini"}, Hashlock: tm.Hashlock, Timelock: tm.CounterpartyTimelock, Status: st}
		if st == settle.HTLCClaimed {
			h.Preimage = secret
		}
		return h
	}
	cheap := ca(settle.HTLCLocked)
	cheap.Amount = 1
	const (
		L, C, R = settle.HTLCLocked, settle.HTLCClaimed, settle.HTLCRefunded
	)
	beforeT2, betweenT, afterT1 := t0.Add(10*time.Second), t0.Add(90*time.Second), t0.Add(3*time.Minute)
	tests := []struct {
		name       string
		role       string
		sh, ca     *settle.HTLC
		now        time.Time
		wantStep   string
		wantStatus string
	}{
		{"initiator locks first", api.SwapRoleInitiator, nil, nil, t0, api.StepLockShares, api.SwapLocking},
		{"initiator too late to lock", api.SwapRoleInitiator, nil, nil, betweenT, "", api.SwapFailed},
		{"initiator waits for cash", api.SwapRoleInitiator, sh(L), nil, beforeT2, "", api.SwapAwaitingCounter},
		{"initiator claims cash", api.SwapRoleInitiator, sh(L), ca(L), beforeT2, api.StepClaimCash, api.SwapClaiming},
		{"initiator ignores a cash lock with other terms", api.SwapRoleInitiator, sh(L), cheap, beforeT2, "", api.SwapAwaitingCounter},
		{"initiator does not claim after T2", api.SwapRoleInitiator, sh(L), ca(L), betweenT, "", api.SwapRefunding},
		{"initiator refunds after T1", api.SwapRoleInitiator, sh(L), nil, afterT1, api.StepRefundShares, api.SwapRefunding},
		{"initiator waits for the share claim", api.SwapRoleInitiator, sh(L), ca(C), betweenT, "", api.SwapClaiming},
		{"initiator done", api.SwapRoleInitiator, sh(C), ca(C), betweenT, "", api.SwapCompleted},
		{"initiator refunded", api.SwapRoleInitiator, sh(R), ca(L), afterT1, "", api.SwapRefunded},
		{"initiator, counterparty never claimed", api.SwapRoleInitiator, sh(R), ca(C), afterT1, "", api.SwapExpiredUnclaimed},
		{"counterparty waits for the shares lock", api.SwapRoleCounterparty, nil, nil, t0, "", api.SwapLocking},
		{"counterparty locks cash", api.SwapRoleCounterparty, sh(L), nil, beforeT2, api.StepLockCash, api.SwapLocking},
		{"counterparty too late to lock", api.SwapRoleCounterparty, sh(L), nil, betweenT, "", api.SwapFailed},
		{"counterparty waits for the claim", api.SwapRoleCounterparty, sh(L), ca(L), beforeT2, "", api.SwapAwaitingInitiate},
		{"counterparty claims shares", api.SwapRoleCounterparty, sh(L), ca(C), betweenT, api.StepClaimShares, api.SwapClaiming},
		{"counterparty refunds after T2", api.SwapRoleCounterparty, sh(L), ca(L), betweenT, api.StepRefundCash, api.SwapRefunding},
		{"counterparty refunded", api.SwapRoleCounterparty, sh(L), ca(R), betweenT, "", api.SwapRefunded},
		{"counterparty too late to claim", api.SwapRoleCounterparty, sh(L), ca(C), afterT1, "", api.SwapExpiredUnclaimed},
		{"both: cash lock after shares", api.SwapRoleBoth, sh(L), nil, beforeT2, api.StepLockCash, api.SwapLocking},
		{"both: claim cash first", api.SwapRoleBoth, sh(L), ca(L), beforeT2, api.StepClaimCash, api.SwapClaiming},
		{"both: then the shares", api.SwapRoleBoth, sh(L), ca(C), beforeT2, api.StepClaimShares, api.SwapClaiming},
		{"both: refund cash first", api.SwapRoleBoth, sh(L), ca(L), betweenT, api.StepRefundCash, api.SwapRefunding},
		{"both: then wait for T1", api.SwapRoleBoth, sh(L), ca(R), betweenT, "", api.SwapRefunding},
		{"both: refund shares", api.SwapRoleBoth, sh(L), ca(R), afterT1, api.StepRefundShares, api.SwapRefunding},
		{"both: refunded", api.SwapRoleBoth, sh(R), ca(R), afterT1, "", api.SwapRefunded},
		{"both: completed", api.SwapRoleBoth, sh(C), ca(C), betweenT, "", api.SwapCompleted},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &swapRecord{Swap: api.Swap{SwapID: "s", Role: tc.role, Terms: tm, Steps: newSteps("s")}}
			if tc.role != api.SwapRoleCounterparty {
				r.Secret = secret
			}
			if tc.sh != nil && tc.role != api.SwapRoleCounterparty {
				r.Step(api.StepLockShares).Status = api.StepDone
			}
			if tc.ca != nil && tc.role != api.SwapRoleInitiator {
				r.Step(api.StepLockCash).Status = api.StepDone
			}
			a := decide(r, tc.sh, tc.ca, tc.now, SwapConfig{Guard: 2 * time.Second})
			if a.Step != tc.wantStep || a.Status != tc.wantStatus {
				t.Fatalf("decide = step %q status %q (%s); want %q %q", a.Step, a.Status, a.Message, tc.wantStep, tc.wantStatus)
			}
			if a.Step == api.StepClaimShares && a.Preimage != secret {
				t.Fatalf("claim with %q", a.Preimage)
			}
		})
	}
}
