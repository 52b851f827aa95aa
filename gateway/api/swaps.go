package api

import (
	"context"
	"net/http"
	"regexp"
	"time"

	"github.com/fabmarket/fabmarket/chaincode/exchange/settle"
	"github.com/fabmarket/fabmarket/chaincode/exchange/units"
	"github.com/gin-gonic/gin"
)

// Swapper runs cross-channel swaps (orchestration): the initiator's shares locked on market
// with the longer timelock, the counterparty's cash locked on payments with the shorter one,
// claimed in the safe order, refunded after the timelocks otherwise. Every step is persisted
// before it is submitted, so a restarted gateway resumes its swaps. gateway/fabric implements
// it; tests use a fake.
//
// Errors are *Error: INVALID_ARGUMENT 400, FORBIDDEN 403 (an account of another org), NOT_FOUND
// 404, CONFLICT 409 (a swap id taken with other terms, the initiator's lock not there yet),
// IDEMPOTENCY_KEY_REUSED 409, FAILED_PRECONDITION 422 (an account missing on a channel, a lock
// that does not match the terms).
type Swapper interface {
	// StartSwap starts a swap whose initiator is an account of this gateway's org: it draws
	// the secret, persists the swap and locks the shares. With w.Wait it returns after that
	// lock committed (or failed).
	StartSwap(ctx context.Context, r SwapRequest, w Write) (Swap, error)
	// AcceptSwap records the consent of the counterparty (an account of this gateway's org,
	// another org than the initiator's) to the terms t, checks them against the initiator's
	// lock on market and locks the cash; with w.Wait it returns after that lock committed.
	AcceptSwap(ctx context.Context, id string, t SwapTerms, w Write) (Swap, error)
	// Swap returns one swap this gateway takes part in.
	Swap(ctx context.Context, id string) (Swap, error)
	// Swaps lists this gateway's swaps in status ("" = any), newest first.
	Swaps(ctx context.Context, status string) ([]Swap, error)
}

// SwapTerms are the terms of a swap in chaincode units: Initiator sells Quantity lots of
// Symbol (locked on market) to Counterparty for Amount minor units of Currency (locked on
// payments). Both accounts must exist on both channels (the same id).
type SwapTerms struct {
	Initiator            string
	Counterparty         string
	Symbol               string
	Quantity             int64
	Currency             string
	Amount               int64
	Hashlock             string // hex SHA-256 of the secret; drawn by the initiator's gateway
	InitiatorTimelock    time.Time
	CounterpartyTimelock time.Time
}

// SwapRequest starts a swap. SwapID is optional (drawn at random, or derived from the
// Idempotency-Key); zero timelocks take the gateway's defaults; Terms.Hashlock is ignored.
type SwapRequest struct {
	SwapID string
	Terms  SwapTerms
}

// Roles of a gateway in a swap.
const (
	SwapRoleInitiator    = "INITIATOR"
	SwapRoleCounterparty = "COUNTERPARTY"
	SwapRoleBoth         = "BOTH" // both accounts belong to this gateway's org
)

// Swap statuses. COMPLETED, REFUNDED, EXPIRED_UNCLAIMED and FAILED are final.
const (
	SwapLocking          = "LOCKING"               // this side's lock is being submitted
	SwapAwaitingCounter  = "AWAITING_COUNTERPARTY" // initiator: waiting for the cash lock
	SwapAwaitingInitiate = "AWAITING_INITIATOR"    // counterparty: waiting for the cash claim
	SwapClaiming         = "CLAIMING"              // a claim is being submitted
	SwapRefunding        = "REFUNDING"             // waiting for a timelock, then refunding
	SwapCompleted        = "COMPLETED"             // both legs claimed
	SwapRefunded         = "REFUNDED"              // this side's lock (if any) refunded, nothing claimed
	SwapExpiredUnclaimed = "EXPIRED_UNCLAIMED"     // a side did not claim in time; see message
	SwapFailed           = "FAILED"                // nothing of this side was locked; see message
)

// SwapFinal reports whether status is final.
func SwapFinal(status string) bool {
	switch status {
	case SwapCompleted, SwapRefunded, SwapExpiredUnclaimed, SwapFailed:
		return true
	}
	return false
}

// Swap step names and statuses.
const (
	StepLockShares   = "LOCK_SHARES"
	StepLockCash     = "LOCK_CASH"
	StepClaimCash    = "CLAIM_CASH"
	StepClaimShares  = "CLAIM_SHARES"
	StepRefundShares = "REFUND_SHARES"
	StepRefundCash   = "REFUND_CASH"

	StepPending    = "PENDING"    // not started
	StepSubmitting = "SUBMITTING" // persisted, being endorsed and ordered (TxID known)
	StepDone       = "DONE"       // committed VALID (or seen done on the ledger)
	StepObserved   = "OBSERVED"   // done by the other side's gateway, seen on the ledger
	StepFailed     = "FAILED"     // rejected; Message says why
	StepSkipped    = "SKIPPED"    // not needed any more
)

// SwapStep is one step of a swap as this gateway saw or ran it.
type SwapStep struct {
	Name     string    `json:"name"`
	Channel  string    `json:"channel"`
	HTLCID   string    `json:"htlcId"`
	Status   string    `json:"status"`
	TxID     string    `json:"txId,omitempty"`
	Time     time.Time `json:"time,omitempty"`
	Attempts int       `json:"attempts,omitempty"`
	Message  string    `json:"message,omitempty"`
}

// Swap is a swap as this gateway knows it.
type Swap struct {
	SwapID     string
	Role       string
	Status     string
	Terms      SwapTerms
	SharesHTLC string // HTLC id on market
	CashHTLC   string // HTLC id on payments
	Preimage   string // hex; only once revealed on the ledger
	Steps      []SwapStep
	Message    string
	Created    time.Time
	Updated    time.Time
	Replayed   bool // answered from an earlier request with the same id or key
}

// Step returns the step called name, or nil.
func (s *Swap) Step(name string) *SwapStep {
	for i := range s.Steps {
		if s.Steps[i].Name == name {
			return &s.Steps[i]
		}
	}
	return nil
}

// Request and response bodies of the swap routes.
type (
	swapBody struct {
		SwapID               string `json:"swapId,omitempty"`
		Initiator            string `json:"initiator"`
		Counterparty         string `json:"counterparty"`
		Symbol               string `json:"symbol"`
		Quantity             string `json:"quantity"`
		Currency             string `json:"currency"`
		Amount               string `json:"amount"`
		InitiatorTimelock    string `json:"initiatorTimelock,omitempty"`
		CounterpartyTimelock string `json:"counterpartyTimelock,omitempty"`
	}
	acceptBody struct {
		Initiator            string `json:"initiator"`
		Counterparty         string `json:"counterparty"`
		Symbol               string `json:"symbol"`
		Quantity             string `json:"quantity"`
		Currency             string `json:"currency"`
		Amount               string `json:"amount"`
		Hashlock             string `json:"hashlock"`
		InitiatorTimelock    string `json:"initiatorTimelock"`
		CounterpartyTimelock string `json:"counterpartyTimelock"`
	}
	swapTermsJSON struct {
		Initiator            string `json:"initiator"`
		Counterparty         string `json:"counterparty"`
		Symbol               string `json:"symbol"`
		Quantity             string `json:"quantity"`
		Currency             string `json:"currency"`
		Amount               string `json:"amount"`
		Hashlock             string `json:"hashlock"`
		InitiatorTimelock    string `json:"initiatorTimelock"`
		CounterpartyTimelock string `json:"counterpartyTimelock"`
	}
	swapStepJSON struct {
		Name     string `json:"name"`
		Channel  string `json:"channel"`
		HTLCID   string `json:"htlcId"`
		Status   string `json:"status"`
		TxID     string `json:"txId,omitempty"`
		Time     string `json:"time,omitempty"`
		Attempts int    `json:"attempts,omitempty"`
		Message  string `json:"message,omitempty"`
	}
	swapJSON struct {
		SwapID     string         `json:"swapId"`
		Role       string         `json:"role"`
		Status     string         `json:"status"`
		Terms      swapTermsJSON  `json:"terms"`
		SharesHTLC string         `json:"sharesHtlc"`
		CashHTLC   string         `json:"cashHtlc"`
		Preimage   string         `json:"preimage,omitempty"`
		Steps      []swapStepJSON `json:"steps"`
		Message    string         `json:"message,omitempty"`
		Created    string         `json:"created"`
		Updated    string         `json:"updated"`
	}
)

// swapIDRE: swap ids become HTLC ids with a suffix, so they follow the chaincode's identifier
// rule, shorter.
var swapIDRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$`)

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func swapOut(sw Swap, in Instrument) swapJSON {
	t := sw.Terms
	out := swapJSON{
		SwapID: sw.SwapID, Role: sw.Role, Status: sw.Status,
		Terms: swapTermsJSON{Initiator: t.Initiator, Counterparty: t.Counterparty, Symbol: t.Symbol,
			Quantity: fmtUnits(t.Quantity, in.LotSize), Currency: t.Currency, Amount: fmtCash(t.Amount, t.Currency),
			Hashlock: t.Hashlock, InitiatorTimelock: stamp(t.InitiatorTimelock), CounterpartyTimelock: stamp(t.CounterpartyTimelock)},
		SharesHTLC: sw.SharesHTLC, CashHTLC: sw.CashHTLC, Preimage: sw.Preimage, Message: sw.Message,
		Created: stamp(sw.Created), Updated: stamp(sw.Updated), Steps: []swapStepJSON{},
	}
	for _, st := range sw.Steps {
		out.Steps = append(out.Steps, swapStepJSON{Name: st.Name, Channel: st.Channel, HTLCID: st.HTLCID, Status: st.Status,
			TxID: st.TxID, Time: stamp(st.Time), Attempts: st.Attempts, Message: st.Message})
	}
	return out
}

// swapper returns the configured Swapper or a 503.
func (s *Server) swapper() (Swapper, error) {
	if s.swaps == nil {
		return nil, NewError(CodeUnavailable, "swaps are not configured on this gateway")
	}
	return s.swaps, nil
}

// swapTerms validates the common fields of a swap body and converts them with the
// instrument's lot size and the currency's decimals.
func (s *Server) swapTerms(ctx context.Context, initiator, counterparty, symbol, quantity, currency, amount string) (SwapTerms, Instrument, error) {
	t := SwapTerms{Initiator: initiator, Counterparty: counterparty, Symbol: symbol, Currency: currency}
	for _, f := range []struct{ name, v string }{{"initiator", initiator}, {"counterparty", counterparty}} {
		if err := checkID(f.name, f.v); err != nil {
			return t, Instrument{}, err
		}
	}
	if initiator == counterparty {
		return t, Instrument{}, NewError(CodeInvalidArgument, "field counterparty: must differ from initiator")
	}
	if err := checkSymbol("symbol", symbol); err != nil {
		return t, Instrument{}, err
	}
	if units.IsCurrency(symbol) {
		return t, Instrument{}, NewError(CodeInvalidArgument, "field symbol: an instrument, not a currency")
	}
	if !units.IsCurrency(currency) {
		return t, Instrument{}, NewError(CodeInvalidArgument, "field currency: one of %v", units.Currencies())
	}
	in, err := s.instr.get(ctx, symbol)
	if err != nil {
		return t, Instrument{}, err
	}
	if t.Quantity, err = positive("quantity", quantity, in.LotSize, "lot"); err != nil {
		return t, in, err
	}
	if t.Amount, err = cash("amount", amount, currency); err != nil {
		return t, in, err
	}
	return t, in, nil
}

func pathSwap(c *gin.Context) (string, error) {
	id := c.Param("id")
	if !swapIDRE.MatchString(id) {
		return "", NewError(CodeNotFound, "swap %q not found", id)
	}
	return id, nil
}

// startSwap: 201 once the initiator's lock committed (?wait=commit), 202 while it is under
// way, 200 for a replay of the same swap.
func (s *Server) startSwap(c *gin.Context) error {
	sw, err := s.swapper()
	if err != nil {
		return err
	}
	var b swapBody
	if err := decodeJSON(c, &b); err != nil {
		return err
	}
	if b.SwapID != "" && !swapIDRE.MatchString(b.SwapID) {
		return NewError(CodeInvalidArgument, "field swapId: 1-64 characters of A-Z a-z 0-9 . _ : - starting with a letter or digit")
	}
	t, in, err := s.swapTerms(c.Request.Context(), b.Initiator, b.Counterparty, b.Symbol, b.Quantity, b.Currency, b.Amount)
	if err != nil {
		return err
	}
	now := time.Now()
	for _, f := range []struct {
		name, v string
		dst     *time.Time
	}{{"initiatorTimelock", b.InitiatorTimelock, &t.InitiatorTimelock}, {"counterpartyTimelock", b.CounterpartyTimelock, &t.CounterpartyTimelock}} {
		if f.v == "" {
			continue
		}
		if *f.dst, err = rfc3339(f.name, f.v); err != nil {
			return err
		}
		if !f.dst.After(now) {
			return NewError(CodeInvalidArgument, "field %s: must be in the future", f.name)
		}
		if f.dst.Sub(now) > settle.MaxTimelock {
			return NewError(CodeInvalidArgument, "field %s: at most %s ahead", f.name, settle.MaxTimelock)
		}
	}
	if !t.InitiatorTimelock.IsZero() && !t.CounterpartyTimelock.IsZero() && !t.InitiatorTimelock.After(t.CounterpartyTimelock) {
		return NewError(CodeInvalidArgument, "field initiatorTimelock: must be after counterpartyTimelock (the initiator locks longer)")
	}
	w, ctx, cancel, err := s.begin(c, b)
	if err != nil {
		return err
	}
	defer cancel()
	res, err := sw.StartSwap(ctx, SwapRequest{SwapID: b.SwapID, Terms: t}, w)
	if err != nil {
		return err
	}
	s.answerSwap(c, res, in, StepLockShares, http.StatusCreated)
	return nil
}

// answerSwap writes a swap after a write: 200 for a replay, done (201 for a new swap, 200 for
// an acceptance) when this side's lock step is done, else 202.
func (s *Server) answerSwap(c *gin.Context, sw Swap, in Instrument, lockStep string, done int) {
	c.Header("Location", "/v1/swaps/"+sw.SwapID)
	if st := sw.Step(lockStep); st != nil {
		setTx(c, st.TxID)
	}
	status := http.StatusAccepted
	switch {
	case sw.Replayed:
		status = http.StatusOK
	case sw.Step(lockStep) != nil && (sw.Step(lockStep).Status == StepDone || sw.Step(lockStep).Status == StepFailed):
		status = done
	}
	c.JSON(status, swapOut(sw, in))
}

// acceptSwap is the counterparty's consent on its own gateway: the body restates the terms as
// the initiator's gateway shows them; 200 once the cash lock committed (?wait=commit), else
// 202.
func (s *Server) acceptSwap(c *gin.Context) error {
	sw, err := s.swapper()
	if err != nil {
		return err
	}
	id, err := pathSwap(c)
	if err != nil {
		return err
	}
	var b acceptBody
	if err := decodeJSON(c, &b); err != nil {
		return err
	}
	t, in, err := s.swapTerms(c.Request.Context(), b.Initiator, b.Counterparty, b.Symbol, b.Quantity, b.Currency, b.Amount)
	if err != nil {
		return err
	}
	if t.Hashlock, err = settle.ParseHashlock(b.Hashlock); err != nil {
		return NewError(CodeInvalidArgument, "field hashlock: 64 hexadecimal characters")
	}
	for _, f := range []struct {
		name, v string
		dst     *time.Time
	}{{"initiatorTimelock", b.InitiatorTimelock, &t.InitiatorTimelock}, {"counterpartyTimelock", b.CounterpartyTimelock, &t.CounterpartyTimelock}} {
		if f.v == "" {
			return NewError(CodeInvalidArgument, "field %s: required", f.name)
		}
		if *f.dst, err = rfc3339(f.name, f.v); err != nil {
			return err
		}
	}
	if !t.InitiatorTimelock.After(t.CounterpartyTimelock) {
		return NewError(CodeInvalidArgument, "field initiatorTimelock: must be after counterpartyTimelock")
	}
	w, ctx, cancel, err := s.begin(c, b)
	if err != nil {
		return err
	}
	defer cancel()
	res, err := sw.AcceptSwap(ctx, id, t, w)
	if err != nil {
		return err
	}
	s.answerSwap(c, res, in, StepLockCash, http.StatusOK)
	return nil
}

func (s *Server) getSwap(c *gin.Context) error {
	sw, err := s.swapper()
	if err != nil {
		return err
	}
	id, err := pathSwap(c)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	res, err := sw.Swap(ctx, id)
	if err != nil {
		return err
	}
	in, err := s.instr.get(ctx, res.Terms.Symbol)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, swapOut(res, in))
	return nil
}

func (s *Server) listSwaps(c *gin.Context) error {
	sw, err := s.swapper()
	if err != nil {
		return err
	}
	status := c.Query("status")
	switch status {
	case "", SwapLocking, SwapAwaitingCounter, SwapAwaitingInitiate, SwapClaiming, SwapRefunding,
		SwapCompleted, SwapRefunded, SwapExpiredUnclaimed, SwapFailed:
	default:
		return NewError(CodeInvalidArgument, "parameter status: a swap status such as COMPLETED")
	}
	ctx := c.Request.Context()
	list, err := sw.Swaps(ctx, status)
	if err != nil {
		return err
	}
	out := make([]swapJSON, 0, len(list))
	for _, x := range list {
		in, err := s.instr.get(ctx, x.Terms.Symbol)
		if err != nil {
			return err
		}
		out = append(out, swapOut(x, in))
	}
	c.JSON(http.StatusOK, out)
	return nil
}
