package fabric

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/fabmarket/fabmarket/chaincode/exchange/settle"
	"github.com/fabmarket/fabmarket/gateway/api"
	"github.com/fabmarket/fabmarket/internal/fabnet"
	"github.com/hyperledger/fabric-gateway/pkg/client"
)

// Swap orchestration (api.Swapper): shares of the initiator locked on market with the longer
// timelock T1, cash of the counterparty locked on payments with the shorter timelock T2 < T1,
// under one SHA-256 hashlock whose secret only the initiator's gateway knows.
//
//	1. LOCK_SHARES   initiator's org   market    htlc SWAPID.shares, until T1
//	2. LOCK_CASH     counterparty's    payments  htlc SWAPID.cash,   until T2 (after checking 1)
//	3. CLAIM_CASH    initiator's org   payments  reveals the secret on the ledger (before T2)
//	4. CLAIM_SHARES  counterparty's    market    with the revealed secret (before T1)
//	   REFUND_CASH   counterparty's    payments  at T2 if 3 never happened
//	   REFUND_SHARES initiator's org   market    at T1 if 4 never happened
//
// The chaincode lets only the sender's org lock and only the receiver's org claim, so each org's
// gateway runs its own side: when both accounts belong to this gateway's org (role BOTH) it
// runs every step; otherwise the initiator's gateway runs 1 and 3 (and the refund of 1) and
// the counterparty's gateway, after POST /v1/swaps/{id}/accept with the terms (its consent),
// runs 2 and 4 (and the refund of 2). The gateways never talk to each other: each watches the
// ledger.
//
// Every decision is a pure function of the persisted swap, the two HTLCs on the ledger and the
// clock (decide), so a restarted gateway resumes every unfinished swap from the store and the
// ledger alone. A step is persisted (with its transaction id, computed before endorsement)
// before it is submitted; submitting it again is harmless because the HTLC ids are
// deterministic (a second lock is refused as a duplicate id, a second claim or refund as
// closed) and every action is chosen from the ledger's current state.

// SwapConfig tunes the orchestrator. Zero values take the defaults.
type SwapConfig struct {
	// MinMargin is the least T1 - T2: the time the counterparty has to claim the shares after
	// the secret is revealed (default 10 s; production deployments should use minutes).
	MinMargin time.Duration
	// MinLock is the least time from the start of a swap to T2 (default 10 s).
	MinLock time.Duration
	// DefaultCounterpartyLock and DefaultInitiatorLock are T2 and T1 from the start when a
	// request names no timelocks (default 5 and 10 minutes).
	DefaultCounterpartyLock time.Duration
	DefaultInitiatorLock    time.Duration
	// Guard is how long before a timelock a lock or claim is still started (its transaction
	// must be endorsed and ordered in time; default 2 s).
	Guard time.Duration
	// Poll is how often a running swap reads the ledger (default 500 ms).
	Poll time.Duration
}

func (c *SwapConfig) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.MinMargin, 10*time.Second)
	def(&c.MinLock, 10*time.Second)
	def(&c.DefaultCounterpartyLock, 5*time.Minute)
	def(&c.DefaultInitiatorLock, 10*time.Minute)
	def(&c.Guard, 2*time.Second)
	def(&c.Poll, 500*time.Millisecond)
}

// swapChain is what the orchestrator needs from the ledger; *Client implements it, tests use a
// fake.
type swapChain interface {
	// getHTLC returns the HTLC id on channel, or nil when it does not exist.
	getHTLC(ctx context.Context, channel, id string) (*settle.HTLC, error)
	// accountOwner returns the MSP ID of the org that owns account on channel; "" when the
	// account exists but belongs to an org whose accounts this identity may not read. A
	// missing account is a NOT_FOUND *api.Error.
	accountOwner(ctx context.Context, channel, account string) (string, error)
	// htlcTx submits fn(args) of the htlc contract on channel and waits for its commit;
	// started is called with the transaction id before the proposal is endorsed.
	htlcTx(ctx context.Context, channel, fn string, args []string, started func(txID string)) (string, error)
}

// swapRecord is what the store keeps of a swap: the view plus the secret (initiator only)
// and the request's fingerprint.
type swapRecord struct {
	api.Swap
	Secret      string `json:"secret,omitempty"`
	Fingerprint string `json:"fingerprint"`
	ByKey       bool   `json:"byKey,omitempty"` // the id derives from an Idempotency-Key
}

func (r *swapRecord) initiator() bool {
	return r.Role == api.SwapRoleInitiator || r.Role == api.SwapRoleBoth
}

func (r *swapRecord) counterparty() bool {
	return r.Role == api.SwapRoleCounterparty || r.Role == api.SwapRoleBoth
}

// Swaps is the swap orchestrator of one gateway (implements api.Swapper).
type Swaps struct {
	chain swapChain
	store *Store
	msp   string
	cfg   SwapConfig
	log   *slog.Logger
	now   func() time.Time

	base   context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	running map[string]bool
	recMu   sync.Mutex // serializes read-modify-write of records
}

var _ api.Swapper = (*Swaps)(nil)

// NewSwaps returns the orchestrator of the gateway c (its store and identity). Call Resume
// once at start-up and Close at shutdown.
func NewSwaps(c *Client, cfg SwapConfig) *Swaps {
	return newSwaps(c, c.store, c.msp, cfg, c.log, time.Now)
}

func newSwaps(chain swapChain, store *Store, msp string, cfg SwapConfig, log *slog.Logger, now func() time.Time) *Swaps {
	cfg.defaults()
	if log == nil {
		log = slog.Default()
	}
	base, cancel := context.WithCancel(context.Background())
	return &Swaps{chain: chain, store: store, msp: msp, cfg: cfg, log: log, now: now,
		base: base, cancel: cancel, running: map[string]bool{}}
}

// Resume starts a runner for every unfinished swap in the store and returns how many.
func (s *Swaps) Resume() (int, error) {
	var ids []string
	err := s.store.EachSwap(func(id string, raw []byte) error {
		var r swapRecord
		if json.Unmarshal(raw, &r) == nil && !api.SwapFinal(r.Status) {
			ids = append(ids, id)
		}
		return nil
	})
	for _, id := range ids {
		s.log.Info("resuming swap", "swapId", id)
		s.start(id)
	}
	return len(ids), err
}

// Close stops the runners (their swaps stay in the store, resumed at the next start).
func (s *Swaps) Close() {
	s.cancel()
	s.wg.Wait()
}

// ---- records

func (s *Swaps) load(id string) (*swapRecord, error) {
	raw, err := s.store.GetSwap(id)
	if err != nil {
		return nil, api.NewError(api.CodeInternal, "swap store: %v", err)
	}
	if raw == nil {
		return nil, nil
	}
	r := &swapRecord{}
	if err := json.Unmarshal(raw, r); err != nil {
		return nil, api.NewError(api.CodeInternal, "swap %s: unreadable record", id)
	}
	return r, nil
}

func (s *Swaps) save(r *swapRecord) error {
	r.Updated = s.now().UTC()
	r.Replayed = false
	raw, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := s.store.PutSwap(r.SwapID, raw); err != nil {
		return api.NewError(api.CodeInternal, "swap store: %v", err)
	}
	return nil
}

// update applies fn to the stored record of id and saves it.
func (s *Swaps) update(id string, fn func(r *swapRecord)) (*swapRecord, error) {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	r, err := s.load(id)
	if err != nil || r == nil {
		return r, err
	}
	fn(r)
	return r, s.save(r)
}

// view is what the API shows: never the secret before the ledger reveals it.
func (r *swapRecord) view() api.Swap {
	v := r.Swap
	v.Steps = append([]api.SwapStep(nil), r.Steps...)
	return v
}

func newSteps(id string) []api.SwapStep {
	sh, ca := id+".shares", id+".cash"
	mk := func(name, ch, htlc string) api.SwapStep {
		return api.SwapStep{Name: name, Channel: ch, HTLCID: htlc, Status: api.StepPending}
	}
	return []api.SwapStep{
		mk(api.StepLockShares, api.ChannelMarket, sh),
		mk(api.StepLockCash, api.ChannelPayments, ca),
		mk(api.StepClaimCash, api.ChannelPayments, ca),
		mk(api.StepClaimShares, api.ChannelMarket, sh),
		mk(api.StepRefundCash, api.ChannelPayments, ca),
		mk(api.StepRefundShares, api.ChannelMarket, sh),
	}
}

// ---- api.Swapper

// Swap implements api.Swapper.
func (s *Swaps) Swap(_ context.Context, id string) (api.Swap, error) {
	r, err := s.load(id)
	if err != nil {
		return api.Swap{}, err
	}
	if r == nil {
		return api.Swap{}, api.NewError(api.CodeNotFound, "swap %s is not known to this gateway", id)
	}
	return r.view(), nil
}

// Swaps implements api.Swapper.
func (s *Swaps) Swaps(_ context.Context, status string) ([]api.Swap, error) {
	out := []api.Swap{}
	err := s.store.EachSwap(func(id string, raw []byte) error {
		var r swapRecord
		if json.Unmarshal(raw, &r) == nil && (status == "" || r.Status == status) {
			out = append(out, r.view())
		}
		return nil
	})
	if err != nil {
		return nil, api.NewError(api.CodeInternal, "swap store: %v", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out, nil
}

// own checks that account exists on channel and belongs to this gateway's org.
func (s *Swaps) own(ctx context.Context, field, channel, account string) error {
	org, err := s.chain.accountOwner(ctx, channel, account)
	if err != nil {
		if e := (*api.Error)(nil); errors.As(err, &e) && e.Code == api.CodeNotFound {
			return api.NewError(api.CodeFailedPrecond, "field %s: account %s does not exist on channel %s", field, account, channel)
		}
		return err
	}
	if org != s.msp {
		return api.NewError(api.CodeForbidden, "field %s: account %s on %s belongs to another org than %s", field, account, channel, s.msp)
	}
	return nil
}

// owner returns the owner of account on channel ("" for another org) or FAILED_PRECONDITION
// when it does not exist.
func (s *Swaps) owner(ctx context.Context, field, channel, account string) (string, error) {
	org, err := s.chain.accountOwner(ctx, channel, account)
	if err != nil {
		if e := (*api.Error)(nil); errors.As(err, &e) && e.Code == api.CodeNotFound {
			return "", api.NewError(api.CodeFailedPrecond, "field %s: account %s does not exist on channel %s", field, account, channel)
		}
		return "", err
	}
	return org, nil
}

// swapIDFromKey derives a swap id from this org and an Idempotency-Key.
func swapIDFromKey(msp, key string) string {
	sum := sha256.Sum256([]byte(msp + "\x00swap\x00" + key))
	return "sw-" + hex.EncodeToString(sum[:12])
}

func sameTerms(a, b api.SwapTerms) bool {
	return a.Initiator == b.Initiator && a.Counterparty == b.Counterparty && a.Symbol == b.Symbol &&
		a.Quantity == b.Quantity && a.Currency == b.Currency && a.Amount == b.Amount &&
		(a.Hashlock == "" || b.Hashlock == "" || a.Hashlock == b.Hashlock) &&
		a.InitiatorTimelock.Equal(b.InitiatorTimelock) && a.CounterpartyTimelock.Equal(b.CounterpartyTimelock)
}

// StartSwap implements api.Swapper.
func (s *Swaps) StartSwap(ctx context.Context, req api.SwapRequest, w api.Write) (api.Swap, error) {
	id, byKey := req.SwapID, false
	if id == "" && w.IdempotencyKey != "" {
		id, byKey = swapIDFromKey(s.msp, w.IdempotencyKey), true
	}
	if id == "" {
		b := make([]byte, 12)
		if _, err := rand.Read(b); err != nil {
			return api.Swap{}, api.NewError(api.CodeInternal, "no randomness")
		}
		id = "sw-" + hex.EncodeToString(b)
	}
	if old, err := s.load(id); err != nil {
		return api.Swap{}, err
	} else if old != nil {
		return s.replay(ctx, old, w, byKey, api.StepLockShares)
	}
	t := req.Terms
	now := s.now().UTC()
	if t.CounterpartyTimelock.IsZero() {
		t.CounterpartyTimelock = now.Add(s.cfg.DefaultCounterpartyLock)
	}
	if t.InitiatorTimelock.IsZero() {
		t.InitiatorTimelock = t.CounterpartyTimelock.Add(s.cfg.DefaultInitiatorLock - s.cfg.DefaultCounterpartyLock)
	}
	t.CounterpartyTimelock = t.CounterpartyTimelock.UTC().Truncate(time.Millisecond)
	t.InitiatorTimelock = t.InitiatorTimelock.UTC().Truncate(time.Millisecond)
	if t.CounterpartyTimelock.Sub(now) < s.cfg.MinLock {
		return api.Swap{}, api.NewError(api.CodeInvalidArgument, "field counterpartyTimelock: at least %s ahead", s.cfg.MinLock)
	}
	if t.InitiatorTimelock.Sub(t.CounterpartyTimelock) < s.cfg.MinMargin {
		return api.Swap{}, api.NewError(api.CodeInvalidArgument, "field initiatorTimelock: at least %s after counterpartyTimelock", s.cfg.MinMargin)
	}
	if t.InitiatorTimelock.Sub(now) > settle.MaxTimelock {
		return api.Swap{}, api.NewError(api.CodeInvalidArgument, "field initiatorTimelock: at most %s ahead", settle.MaxTimelock)
	}
	// The initiator locks shares on market and receives cash on payments; the counterparty
	// needs an account on both too.
	if err := s.own(ctx, "initiator", api.ChannelMarket, t.Initiator); err != nil {
		return api.Swap{}, err
	}
	if err := s.own(ctx, "initiator", api.ChannelPayments, t.Initiator); err != nil {
		return api.Swap{}, err
	}
	if _, err := s.owner(ctx, "counterparty", api.ChannelMarket, t.Counterparty); err != nil {
		return api.Swap{}, err
	}
	cpOrg, err := s.owner(ctx, "counterparty", api.ChannelPayments, t.Counterparty)
	if err != nil {
		return api.Swap{}, err
	}
	role := api.SwapRoleInitiator
	if cpOrg == s.msp {
		role = api.SwapRoleBoth
	}
	secret := make([]byte, settle.PreimageSize)
	if _, err := rand.Read(secret); err != nil {
		return api.Swap{}, api.NewError(api.CodeInternal, "no randomness for the secret")
	}
	t.Hashlock = settle.HashlockOf(secret)
	r := &swapRecord{
		Swap: api.Swap{SwapID: id, Role: role, Status: api.SwapLocking, Terms: t,
			SharesHTLC: id + ".shares", CashHTLC: id + ".cash", Steps: newSteps(id), Created: now},
		Secret: hex.EncodeToString(secret), Fingerprint: w.Fingerprint, ByKey: byKey,
	}
	s.recMu.Lock()
	if old, err := s.load(id); err != nil || old != nil {
		s.recMu.Unlock()
		if err != nil {
			return api.Swap{}, err
		}
		return s.replay(ctx, old, w, byKey, api.StepLockShares)
	}
	err = s.save(r)
	s.recMu.Unlock()
	if err != nil {
		return api.Swap{}, err
	}
	s.log.Info("swap started", "swapId", id, "role", role, "initiatorTimelock", t.InitiatorTimelock, "counterpartyTimelock", t.CounterpartyTimelock)
	s.start(id)
	return s.await(ctx, id, w, api.StepLockShares)
}

// replay answers a repeated start or accept of a swap that exists.
func (s *Swaps) replay(ctx context.Context, old *swapRecord, w api.Write, byKey bool, step string) (api.Swap, error) {
	if old.Fingerprint != w.Fingerprint {
		if byKey {
			return api.Swap{}, api.NewError(api.CodeIdempotencyReuse, "this Idempotency-Key was used for a different swap")
		}
		return api.Swap{}, api.NewError(api.CodeConflict, "swap %s already exists with other terms", old.SwapID)
	}
	v, err := s.await(ctx, old.SwapID, w, step)
	v.Replayed = true
	return v, err
}

// await returns the swap at once, or with w.Wait once step is done or failed (a failed lock
// answers its error) or ctx ends.
func (s *Swaps) await(ctx context.Context, id string, w api.Write, step string) (api.Swap, error) {
	for {
		r, err := s.load(id)
		if err != nil {
			return api.Swap{}, err
		}
		st := r.Step(step)
		if !w.Wait {
			return r.view(), nil
		}
		switch {
		case st.Status == api.StepDone || st.Status == api.StepObserved:
			return r.view(), nil
		case st.Status == api.StepFailed || api.SwapFinal(r.Status):
			if e, ok := api.ParseCoded(st.Message); ok && st.Status == api.StepFailed {
				return api.Swap{}, e
			}
			return r.view(), nil
		}
		if !fabnet.Sleep(ctx, 100*time.Millisecond) {
			return r.view(), nil
		}
	}
}

// AcceptSwap implements api.Swapper.
func (s *Swaps) AcceptSwap(ctx context.Context, id string, t api.SwapTerms, w api.Write) (api.Swap, error) {
	t.InitiatorTimelock = t.InitiatorTimelock.UTC()
	t.CounterpartyTimelock = t.CounterpartyTimelock.UTC()
	if old, err := s.load(id); err != nil {
		return api.Swap{}, err
	} else if old != nil {
		if old.Role != api.SwapRoleCounterparty {
			return api.Swap{}, api.NewError(api.CodeConflict, "swap %s was started by this gateway (role %s): it runs both sides itself", id, old.Role)
		}
		return s.replay(ctx, old, w, false, api.StepLockCash)
	}
	if err := s.own(ctx, "counterparty", api.ChannelPayments, t.Counterparty); err != nil {
		return api.Swap{}, err
	}
	if org, err := s.owner(ctx, "initiator", api.ChannelPayments, t.Initiator); err != nil {
		return api.Swap{}, err
	} else if org == s.msp {
		return api.Swap{}, api.NewError(api.CodeConflict, "both accounts belong to %s: the swap's own gateway runs both sides, nothing to accept", s.msp)
	}
	if t.InitiatorTimelock.Sub(t.CounterpartyTimelock) < s.cfg.MinMargin {
		return api.Swap{}, api.NewError(api.CodeFailedPrecond, "initiatorTimelock must be at least %s after counterpartyTimelock", s.cfg.MinMargin)
	}
	if !s.now().Before(t.CounterpartyTimelock.Add(-s.cfg.Guard)) {
		return api.Swap{}, api.NewError(api.CodeConflict, "too late: counterpartyTimelock %s is (nearly) reached", t.CounterpartyTimelock.Format(time.RFC3339))
	}
	// The initiator's lock, as the consent describes it (the peer of this org may lag the
	// initiator's by a moment).
	var sh *settle.HTLC
	for i := 0; ; i++ {
		var err error
		if sh, err = s.chain.getHTLC(ctx, api.ChannelMarket, id+".shares"); err != nil {
			return api.Swap{}, err
		}
		if sh != nil || i >= 15 || !fabnet.Sleep(ctx, 200*time.Millisecond) {
			break
		}
	}
	if sh == nil {
		return api.Swap{}, api.NewError(api.CodeConflict, "the initiator has not locked the shares of swap %s on market yet", id)
	}
	if !sharesMatch(t, sh) {
		return api.Swap{}, api.NewError(api.CodeFailedPrecond, "the initiator's lock %s does not match the terms", sh.ID)
	}
	if sh.Status != settle.HTLCLocked {
		return api.Swap{}, api.NewError(api.CodeConflict, "the initiator's lock %s is %s", sh.ID, sh.Status)
	}
	now := s.now().UTC()
	r := &swapRecord{
		Swap: api.Swap{SwapID: id, Role: api.SwapRoleCounterparty, Status: api.SwapLocking, Terms: t,
			SharesHTLC: id + ".shares", CashHTLC: id + ".cash", Steps: newSteps(id), Created: now},
		Fingerprint: w.Fingerprint,
	}
	s.recMu.Lock()
	if old, err := s.load(id); err != nil || old != nil {
		s.recMu.Unlock()
		if err != nil {
			return api.Swap{}, err
		}
		return s.replay(ctx, old, w, false, api.StepLockCash)
	}
	err := s.save(r)
	s.recMu.Unlock()
	if err != nil {
		return api.Swap{}, err
	}
	s.log.Info("swap accepted", "swapId", id)
	s.start(id)
	return s.await(ctx, id, w, api.StepLockCash)
}

// ---- the decision

func sharesMatch(t api.SwapTerms, h *settle.HTLC) bool {
	return h.Sender.Account == t.Initiator && h.Receiver.Account == t.Counterparty && h.Asset == t.Symbol &&
		h.Amount == t.Quantity && h.Hashlock == t.Hashlock && h.Timelock.Equal(t.InitiatorTimelock)
}

func cashMatch(t api.SwapTerms, h *settle.HTLC) bool {
	return h.Sender.Account == t.Counterparty && h.Receiver.Account == t.Initiator && h.Asset == t.Currency &&
		h.Amount == t.Amount && h.Hashlock == t.Hashlock && h.Timelock.Equal(t.CounterpartyTimelock)
}

// swapAction is what decide chooses: a step to run (Step != ""), or a status to show (final
// or while waiting).
type swapAction struct {
	Step     string
	Preimage string // for claims
	Status   string
	Message  string
}

func htlcState(h *settle.HTLC) settle.HTLCStatus {
	if h == nil {
		return ""
	}
	return h.Status
}

// decide chooses the next action of swap r given the two HTLCs as the ledger has them (nil:
// none with the swap's id) at time now. It is pure; see the protocol at the top of the file.
func decide(r *swapRecord, sh, ca *settle.HTLC, now time.Time, cfg SwapConfig) swapAction {
	t := r.Terms
	I, C := r.initiator(), r.counterparty()
	if sh != nil && !sharesMatch(t, sh) {
		if I && r.Step(api.StepLockShares).Status != api.StepDone {
			return swapAction{Status: api.SwapFailed, Message: "htlc id " + sh.ID + " is taken by a lock with other terms"}
		}
		sh = nil // not ours: as if absent
	}
	if ca != nil && !cashMatch(t, ca) {
		if C && r.Step(api.StepLockCash).Status != api.StepDone {
			return swapAction{Status: api.SwapFailed, Message: "htlc id " + ca.ID + " is taken by a lock with other terms"}
		}
		ca = nil // a lock that does not match the terms is never claimed
	}
	shS, caS := htlcState(sh), htlcState(ca)
	before := func(tl time.Time) bool { return now.Before(tl.Add(-cfg.Guard)) }

	// Claims, in the safe order: the initiator claims the cash (revealing the secret), the
	// counterparty then claims the shares with it.
	if I && caS == settle.HTLCLocked && (shS == settle.HTLCLocked || shS == settle.HTLCClaimed) && before(ca.Timelock) && r.Secret != "" {
		return swapAction{Step: api.StepClaimCash, Preimage: r.Secret, Status: api.SwapClaiming}
	}
	if C && caS == settle.HTLCClaimed && shS == settle.HTLCLocked && before(sh.Timelock) {
		return swapAction{Step: api.StepClaimShares, Preimage: ca.Preimage, Status: api.SwapClaiming}
	}
	// Locks: the shares first, then the cash against a checked shares lock.
	canLockShares := before(t.CounterpartyTimelock)
	if I && sh == nil && canLockShares && r.Step(api.StepLockShares).Status != api.StepFailed {
		return swapAction{Step: api.StepLockShares, Status: api.SwapLocking}
	}
	canLockCash := shS == settle.HTLCLocked && before(t.CounterpartyTimelock)
	if C && ca == nil && canLockCash && r.Step(api.StepLockCash).Status != api.StepFailed {
		return swapAction{Step: api.StepLockCash, Status: api.SwapLocking}
	}
	// Refunds once the timelocks have passed.
	if C && caS == settle.HTLCLocked && !now.Before(ca.Timelock) {
		return swapAction{Step: api.StepRefundCash, Status: api.SwapRefunding}
	}
	if I && shS == settle.HTLCLocked && !now.Before(sh.Timelock) {
		return swapAction{Step: api.StepRefundShares, Status: api.SwapRefunding}
	}

	// Nothing to do now: is this side finished?
	closed := func(s settle.HTLCStatus) bool { return s == settle.HTLCClaimed || s == settle.HTLCRefunded }
	iDone := !I || closed(shS) || (sh == nil && (!canLockShares || r.Step(api.StepLockShares).Status == api.StepFailed))
	if I && caS == settle.HTLCLocked && shS == settle.HTLCClaimed {
		iDone = false // the cash can still be claimed (handled above while in time)
		if !before(ca.Timelock) {
			iDone = true
		}
	}
	cDone := !C || closed(caS) || (ca == nil && (r.Step(api.StepLockCash).Status == api.StepFailed ||
		!before(t.CounterpartyTimelock) || closed(shS)))
	if C && caS == settle.HTLCClaimed && shS == settle.HTLCLocked && before(sh.Timelock) {
		cDone = false
	}
	if iDone && cDone {
		switch {
		case (!I || sh == nil) && (!C || ca == nil):
			msg := "nothing was locked"
			if I {
				msg = "the shares were never locked"
			} else if C {
				msg = "the cash was never locked: the initiator's lock was missing, closed or too close to its timelock"
			}
			return swapAction{Status: api.SwapFailed, Message: msg}
		case shS == settle.HTLCClaimed && caS == settle.HTLCClaimed:
			return swapAction{Status: api.SwapCompleted, Message: "both legs claimed"}
		case I && C && (shS == settle.HTLCClaimed || caS == settle.HTLCClaimed),
			I && !C && caS == settle.HTLCClaimed,
			C && !I && caS == settle.HTLCClaimed:
			return swapAction{Status: api.SwapExpiredUnclaimed, Message: "one leg was claimed, the other was not claimed before its timelock and went back to its sender"}
		case I && !C && shS == settle.HTLCClaimed:
			return swapAction{Status: api.SwapExpiredUnclaimed, Message: "the shares were claimed but the cash could not be claimed before its timelock"}
		default:
			return swapAction{Status: api.SwapRefunded, Message: "refunded: the swap did not complete before the timelocks"}
		}
	}
	// Waiting.
	switch {
	case I && sh == nil, C && !I && ca == nil && shS != settle.HTLCLocked:
		return swapAction{Status: api.SwapLocking, Message: "waiting for the initiator's lock"}
	case I && shS == settle.HTLCLocked && ca == nil && before(t.CounterpartyTimelock):
		return swapAction{Status: api.SwapAwaitingCounter, Message: "waiting for the counterparty's cash lock"}
	case I && !C && caS == settle.HTLCClaimed && shS == settle.HTLCLocked:
		return swapAction{Status: api.SwapClaiming, Message: "cash claimed; waiting for the counterparty to claim the shares"}
	case C && !I && caS == settle.HTLCLocked && before(ca.Timelock):
		return swapAction{Status: api.SwapAwaitingInitiate, Message: "cash locked; waiting for the initiator to claim it"}
	}
	return swapAction{Status: api.SwapRefunding, Message: "waiting for a timelock to pass before refunding"}
}

// observe records on r what the ledger shows (steps done by either side, the revealed
// secret).
func observe(r *swapRecord, sh, ca *settle.HTLC) {
	if sh != nil && !sharesMatch(r.Terms, sh) {
		sh = nil
	}
	if ca != nil && !cashMatch(r.Terms, ca) {
		ca = nil
	}
	mark := func(step string, mine bool, h *settle.HTLC, msg string) {
		st := r.Step(step)
		if st.Status == api.StepDone || st.Status == api.StepObserved {
			return
		}
		if mine {
			st.Status = api.StepDone
		} else {
			st.Status = api.StepObserved
		}
		st.Message = ""
		for _, m := range h.Messages {
			if m.Type == msg {
				st.Time = m.Time
			}
		}
	}
	I, C := r.initiator(), r.counterparty()
	if sh != nil {
		mark(api.StepLockShares, I, sh, settle.MsgLocked)
		switch sh.Status {
		case settle.HTLCClaimed:
			mark(api.StepClaimShares, C, sh, settle.MsgClaimed)
		case settle.HTLCRefunded:
			mark(api.StepRefundShares, I, sh, settle.MsgRefunded)
		}
	}
	if ca != nil {
		mark(api.StepLockCash, C, ca, settle.MsgLocked)
		switch ca.Status {
		case settle.HTLCClaimed:
			mark(api.StepClaimCash, I, ca, settle.MsgClaimed)
			r.Preimage = ca.Preimage
		case settle.HTLCRefunded:
			mark(api.StepRefundCash, C, ca, settle.MsgRefunded)
		}
	}
}

// ---- the runner

// start runs swap id in the background unless it already runs.
func (s *Swaps) start(id string) {
	s.mu.Lock()
	if s.running[id] {
		s.mu.Unlock()
		return
	}
	s.running[id] = true
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer func() {
			s.mu.Lock()
			delete(s.running, id)
			s.mu.Unlock()
		}()
		s.run(id)
	}()
}

// run drives swap id until it is final or the orchestrator closes.
func (s *Swaps) run(id string) {
	ctx := s.base
	for ctx.Err() == nil {
		final, stepped, err := s.tick(ctx, id)
		if final {
			return
		}
		if err != nil {
			s.log.Warn("swap step", "swapId", id, "error", err)
		}
		if stepped && err == nil {
			continue // a step committed: the next one may be due at once
		}
		if !fabnet.Sleep(ctx, s.cfg.Poll) {
			return
		}
	}
}

// tick reads the ledger, records what it shows, decides, and runs at most one step. It
// reports whether the swap is final and whether a step was run.
func (s *Swaps) tick(ctx context.Context, id string) (final, stepped bool, err error) {
	r, err := s.load(id)
	if err != nil || r == nil {
		return true, false, err
	}
	if api.SwapFinal(r.Status) {
		return true, false, nil
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	sh, err := s.chain.getHTLC(rctx, api.ChannelMarket, r.SharesHTLC)
	var ca *settle.HTLC
	if err == nil {
		ca, err = s.chain.getHTLC(rctx, api.ChannelPayments, r.CashHTLC)
	}
	cancel()
	if err != nil {
		return false, false, err
	}
	now := s.now()
	var act swapAction
	r, err = s.update(id, func(r *swapRecord) {
		observe(r, sh, ca)
		act = decide(r, sh, ca, now, s.cfg)
		r.Status, r.Message = act.Status, act.Message
		if act.Step != "" {
			st := r.Step(act.Step)
			st.Status, st.Attempts, st.Time, st.TxID, st.Message = api.StepSubmitting, st.Attempts+1, now.UTC(), "", ""
		}
		if act.Step == "" && api.SwapFinal(act.Status) {
			for i := range r.Steps {
				if r.Steps[i].Status == api.StepPending || r.Steps[i].Status == api.StepSubmitting {
					r.Steps[i].Status = api.StepSkipped
				}
			}
		}
	})
	if err != nil {
		return false, false, err
	}
	if act.Step == "" {
		if api.SwapFinal(act.Status) {
			s.log.Info("swap finished", "swapId", id, "status", act.Status, "message", act.Message)
			return true, false, nil
		}
		return false, false, nil
	}
	return false, true, s.runStep(ctx, r, act)
}

// afterStep is the status a swap shows once step committed, until the next tick reads the
// ledger.
func afterStep(r *swapRecord, step string) string {
	switch step {
	case api.StepLockShares:
		if r.Role == api.SwapRoleInitiator {
			return api.SwapAwaitingCounter
		}
		return api.SwapLocking
	case api.StepLockCash:
		if r.Role == api.SwapRoleCounterparty {
			return api.SwapAwaitingInitiate
		}
		return api.SwapClaiming
	case api.StepClaimCash, api.StepClaimShares:
		return api.SwapClaiming
	}
	return api.SwapRefunding
}

// runStep submits the transaction of act; the step is already persisted as SUBMITTING, and its
// transaction id is persisted before the proposal is endorsed.
func (s *Swaps) runStep(ctx context.Context, r *swapRecord, act swapAction) error {
	st := r.Step(act.Step)
	var fn string
	var args []string
	switch act.Step {
	case api.StepLockShares:
		fn, args = "Lock", []string{lockArgs(api.LockRequest{HTLCID: r.SharesHTLC, Asset: r.Terms.Symbol, Amount: r.Terms.Quantity,
			Sender: r.Terms.Initiator, Receiver: r.Terms.Counterparty, Hashlock: r.Terms.Hashlock, Timelock: r.Terms.InitiatorTimelock})}
	case api.StepLockCash:
		fn, args = "Lock", []string{lockArgs(api.LockRequest{HTLCID: r.CashHTLC, Asset: r.Terms.Currency, Amount: r.Terms.Amount,
			Sender: r.Terms.Counterparty, Receiver: r.Terms.Initiator, Hashlock: r.Terms.Hashlock, Timelock: r.Terms.CounterpartyTimelock})}
	case api.StepClaimCash, api.StepClaimShares:
		fn, args = "Claim", []string{st.HTLCID, act.Preimage}
	case api.StepRefundCash, api.StepRefundShares:
		fn, args = "Refund", []string{st.HTLCID}
	}
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	txID, err := s.chain.htlcTx(sctx, st.Channel, fn, args, func(txID string) {
		if _, err := s.update(r.SwapID, func(r *swapRecord) { r.Step(act.Step).TxID = txID }); err != nil {
			s.log.Error("persist swap step", "swapId", r.SwapID, "error", err)
		}
	})
	_, perr := s.update(r.SwapID, func(r *swapRecord) {
		x := r.Step(act.Step)
		if txID != "" {
			x.TxID = txID
		}
		x.Time = s.now().UTC()
		if err == nil {
			x.Status, x.Message = api.StepDone, ""
			r.Status, r.Message = afterStep(r, act.Step), ""
			return
		}
		e := classify(err)
		x.Message = e.Code + ": " + e.Message
		switch e.Code {
		case "INSUFFICIENT_FUNDS", api.CodeForbidden, api.CodeNotFound, api.CodeInvalidArgument, "WRONG_CHANNEL":
			if act.Step == api.StepLockShares || act.Step == api.StepLockCash {
				x.Status = api.StepFailed // never locked: decide makes the swap FAILED
				return
			}
		}
		x.Status = api.StepSubmitting // tried again from the ledger's state at the next tick
	})
	if err != nil {
		s.log.Info("swap step not done", "swapId", r.SwapID, "step", act.Step, "txId", txID, "error", err)
	} else {
		s.log.Info("swap step done", "swapId", r.SwapID, "step", act.Step, "txId", txID)
	}
	if perr != nil {
		return perr
	}
	return err
}

// ---- *Client as the swap chain

// getHTLC implements swapChain.
func (c *Client) getHTLC(ctx context.Context, channel, id string) (*settle.HTLC, error) {
	h, err := c.HTLC(ctx, channel, id)
	if err != nil {
		if e := classify(err); e.Code == api.CodeNotFound {
			return nil, nil
		}
		return nil, err
	}
	return &h, nil
}

// accountOwner implements swapChain: GetAccount answers the owner and the Regulator, and
// FORBIDDEN (so: the account exists) to the other orgs.
func (c *Client) accountOwner(ctx context.Context, channel, account string) (string, error) {
	cc, ok := c.exchanges[channel]
	if !ok {
		return "", api.NewError(api.CodeInternal, "unknown channel %s", channel)
	}
	var a ccAccount
	if err := c.evaluateOn(ctx, cc, &a, "GetAccount", account); err != nil {
		if e := classify(err); e.Code == api.CodeForbidden {
			return "", nil
		}
		return "", err
	}
	return a.Org, nil
}

// htlcTx implements swapChain: the proposal's transaction id is reported before endorsement,
// the transaction is committed with the Submitter (resent when its commit status is late).
func (c *Client) htlcTx(ctx context.Context, channel, fn string, args []string, started func(txID string)) (string, error) {
	cc, err := c.htlcContract(channel)
	if err != nil {
		return "", err
	}
	unlock, err := c.locks.lock(ctx, "htlc/"+channel+"/"+args[0])
	if err != nil {
		return "", api.NewError(api.CodeTimeout, "timed out waiting for another write of the same HTLC")
	}
	defer unlock()
	p, err := cc.NewProposal(fn, client.WithArguments(args...))
	if err != nil {
		return "", api.NewError(api.CodeInternal, "proposal: %v", err)
	}
	txID := p.TransactionID()
	if started != nil {
		started(txID)
	}
	tx, err := p.EndorseWithContext(ctx)
	if err != nil {
		c.metrics.Submit("swap."+fn, "rejected")
		return txID, classify(err)
	}
	c.setTx(api.TxStatus{TxID: txID, Status: api.TxPending})
	start := time.Now()
	out, err := c.sub.CommitNotify(ctx, tx, nil)
	if err != nil {
		var inv *fabnet.InvalidError
		if errors.As(err, &inv) {
			c.metrics.Commit(inv.Code.String(), time.Since(start).Seconds())
			st := api.TxStatus{TxID: txID, Status: api.TxInvalid, ValidationCode: inv.Code.String()}
			if out != nil {
				st.BlockNumber = out.Block
			}
			c.setTx(st)
			c.metrics.Submit("swap."+fn, "invalid")
			return txID, api.NewError(api.CodeConflict, "transaction %s was committed invalid (%s)", txID, inv.Code)
		}
		c.metrics.Submit("swap."+fn, "pending")
		return txID, classify(err)
	}
	c.metrics.Commit(out.Code.String(), time.Since(start).Seconds())
	c.metrics.Submit("swap."+fn, "committed")
	c.setTx(api.TxStatus{TxID: txID, Status: api.TxValid, ValidationCode: out.Code.String(), BlockNumber: out.Block})
	return txID, nil
}
