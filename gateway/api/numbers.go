package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/fabmarket/fabmarket/chaincode/numbers/porting"
	"github.com/gin-gonic/gin"
)

// NumbersLedger is what the number-transfer routes need from the numbers chaincode (channel
// numbers). The shapes are the chaincode's views (chaincode/numbers/contract/views.go), which
// the REST contract shows as they are. gateway/fabric implements it; tests use a fake.
//
// Errors follow [Ledger]: a *Error is answered as is (a chaincode rejection keeps its code:
// INVALID_ARGUMENT 400, FORBIDDEN 403, NOT_FOUND 404, CONFLICT and ALREADY_EXISTS 409,
// FAILED_PRECONDITION, PAC_REQUIRED and PAC_INVALID 422), anything else is 500.
type NumbersLedger interface {
	// Number returns a number with its owner, status, last code and pending transfer.
	Number(ctx context.Context, number string) (NumberInfo, error)
	// CurrentTransfer returns the number's current or last transfer.
	CurrentTransfer(ctx context.Context, number string) (TransferInfo, error)
	// NumberHistory returns every change of the number's records, oldest first.
	NumberHistory(ctx context.Context, number string) ([]NumberHistoryEntry, error)
	// Transfers lists transfers of status OPEN or ESCALATED (Regulator only), one page of at
	// most limit from bookmark ("" from the start).
	Transfers(ctx context.Context, status string, limit int, bookmark string) (TransferPage, error)
	// CustomerData reads the private customer data of the number's current transfer (the two
	// telcos of the transfer only).
	CustomerData(ctx context.Context, number string) (CustomerData, error)
	// CustomerDataHash compares the on-chain customer-data hash with the peer's private-data
	// hash (empty after the purge).
	CustomerDataHash(ctx context.Context, number string) (CustomerDataHash, error)

	// AllocateNumber allocates number to the telco owner (Regulator only).
	AllocateNumber(ctx context.Context, number, owner string, w Write) (NumberInfo, Receipt, error)
	// AllocateRange allocates first..last to the telco owner, all or nothing (Regulator only).
	AllocateRange(ctx context.Context, first, last, owner string, w Write) (RangeInfo, Receipt, error)
	// IssuePAC records a porting authorisation code for number (owner only); the code travels
	// as transient data.
	IssuePAC(ctx context.Context, number, code string, w Write) (PACInfo, Receipt, error)
	// RevokePAC withdraws the outstanding code of number (owner only).
	RevokePAC(ctx context.Context, number string, w Write) (PACInfo, Receipt, error)
	// RequestTransfer opens a transfer of r.Number to the caller's telco. The customer data,
	// contract hash, code and a fresh random salt travel as transient data only, endorsed by
	// the requester, r.Owner and the Regulator.
	RequestTransfer(ctx context.Context, r TransferRequest, w Write) (TransferInfo, Receipt, error)
	// TransferStep runs one step of the number's transfer (see [TransferStep]).
	TransferStep(ctx context.Context, s TransferStep, w Write) (StepInfo, Receipt, error)
}

// Transfer steps of [TransferStep].
const (
	StepConfirm  = "confirm"
	StepReject   = "reject"
	StepCancel   = "cancel"
	StepEscalate = "escalate"
	StepResolve  = "resolve"
	StepErase    = "erase"
)

// TransferRequest is a transfer request. Customer is a JSON object; it and PAC are secrets
// that must never be logged or stored by the gateway.
type TransferRequest struct {
	Number       string
	Owner        string // the number's current owner (MSP ID), an endorser of the request
	Customer     json.RawMessage
	ContractHash string
	PAC          string // "" when no code is outstanding
}

// String hides the customer data and the code from accidental logging.
func (r TransferRequest) String() string {
	return "TransferRequest{" + r.Number + " from " + r.Owner + "}"
}

// TransferStep is one step on a number's transfer: Action is one of StepConfirm, ...;
// Reason is required for reject, escalate and resolve; Decision (GRANT or DENY) for resolve.
type TransferStep struct {
	Number   string
	Action   string
	Reason   string
	Decision string
}

// NumberInfo is a number as the chaincode's GetNumber shows it. PendingTransfer is null
// unless a transfer is OPEN or ESCALATED (Status PORTING).
type NumberInfo struct {
	Number          string        `json:"number"`
	Owner           string        `json:"owner"`
	Status          string        `json:"status"`
	AllocatedAt     string        `json:"allocatedAt,omitempty"`
	UpdatedAt       string        `json:"updatedAt,omitempty"`
	PreviousOwner   string        `json:"previousOwner,omitempty"`
	PAC             *PACInfo      `json:"pac,omitempty"`
	PendingTransfer *TransferInfo `json:"pendingTransfer"`
}

// PACInfo describes a porting authorisation code without its hash.
type PACInfo struct {
	Number         string `json:"number"`
	Status         string `json:"status"`
	Outstanding    bool   `json:"outstanding"`
	IssuedBy       string `json:"issuedBy"`
	IssuedAt       string `json:"issuedAt"`
	ExpiresAt      string `json:"expiresAt"`
	UsedByTransfer string `json:"usedByTransfer,omitempty"`
}

// TransferInfo is a transfer record plus whether it is past its deadline.
type TransferInfo struct {
	porting.Transfer
	Overdue bool `json:"overdue"`
}

// StepInfo is the outcome of a transfer step. Applied is false when a late confirm or reject
// only escalated the request (the escalation is committed all the same).
type StepInfo struct {
	Applied             bool          `json:"applied"`
	Event               string        `json:"event"`
	Message             string        `json:"message,omitempty"`
	EscalatedByDeadline bool          `json:"escalatedByDeadline"`
	Transfer            *TransferInfo `json:"transfer"`
}

// RangeInfo is the outcome of a range allocation.
type RangeInfo struct {
	First string `json:"first"`
	Last  string `json:"last"`
	Count int    `json:"count"`
	Owner string `json:"owner"`
}

// NumberHistoryEntry is one change of one of a number's records (number, transfer or pac).
type NumberHistoryEntry struct {
	TxID      string            `json:"txId"`
	Timestamp string            `json:"timestamp"`
	Record    string            `json:"record"`
	Action    string            `json:"action"`
	Actor     string            `json:"actor"`
	Deleted   bool              `json:"deleted"`
	Number    *porting.Number   `json:"number,omitempty"`
	Transfer  *porting.Transfer `json:"transfer,omitempty"`
	PAC       *PACInfo          `json:"pac,omitempty"`
}

// TransferPage is one page of the Regulator's transfer list.
type TransferPage struct {
	Transfers []TransferInfo `json:"transfers"`
	Count     int            `json:"count"`
	Bookmark  string         `json:"bookmark"`
}

// CustomerData is the private customer data of a transfer.
type CustomerData struct {
	Number           string          `json:"number"`
	TransferID       string          `json:"transferId"`
	Collection       string          `json:"collection"`
	ContractHash     string          `json:"contractHash"`
	CustomerDataHash string          `json:"customerDataHash"`
	HashVerified     bool            `json:"hashVerified"`
	Customer         json.RawMessage `json:"customer"`
}

// CustomerDataHash compares the on-chain hash of a transfer's customer data with the hash of
// the private write the answering peer holds.
type CustomerDataHash struct {
	Number           string `json:"number"`
	TransferID       string `json:"transferId"`
	Collection       string `json:"collection"`
	CustomerDataHash string `json:"customerDataHash"`
	LedgerHash       string `json:"ledgerHash"`
	Matches          bool   `json:"matches"`
	PurgedAt         string `json:"purgedAt,omitempty"`
}

// Request bodies of the number routes.
type (
	allocateBody struct {
		Number string `json:"number,omitempty"`
		First  string `json:"first,omitempty"`
		Last   string `json:"last,omitempty"`
		Owner  string `json:"owner"`
	}
	pacBody struct {
		PAC string `json:"pac"`
	}
	transferBody struct {
		Customer     json.RawMessage `json:"customer"`
		ContractHash string          `json:"contractHash"`
		PAC          string          `json:"pac,omitempty"`
	}
	reasonBody struct {
		Reason string `json:"reason"`
	}
	resolveBody struct {
		Decision string `json:"decision"`
		Reason   string `json:"reason"`
	}
	emptyBody struct{}
)

// Response bodies of the number writes: the chaincode's answer plus the transaction.
type (
	numberWriteJSON struct {
		NumberInfo
		TxID string `json:"txId"`
	}
	rangeWriteJSON struct {
		RangeInfo
		TxID string `json:"txId"`
	}
	pacWriteJSON struct {
		PACInfo
		TxID string `json:"txId"`
	}
	transferWriteJSON struct {
		TransferInfo
		TxID string `json:"txId"`
	}
	stepWriteJSON struct {
		StepInfo
		TxID     string `json:"txId"`
		TxStatus string `json:"txStatus"` // PENDING or VALID
	}
)

// numbersRoles are the organisations of the numbers channel.
var numbersRoles = porting.DefaultRoles()

// portingError converts a validation error of package porting into a 400 (or its code).
func portingError(err error) error {
	var pe *porting.Error
	if !errors.As(err, &pe) {
		return NewError(CodeInvalidArgument, "%v", err)
	}
	code := string(pe.Code)
	if _, ok := codeStatus[code]; !ok {
		code = CodeInvalidArgument
	}
	if pe.Field != "" {
		return NewError(code, "field %s: %s", pe.Field, pe.Message)
	}
	return NewError(code, "%s", pe.Message)
}

// pathNumber validates the {number} of the path: canonical E.164, or 400.
func pathNumber(c *gin.Context) (string, error) {
	n := c.Param("number")
	if err := porting.ValidateNumber("number", n); err != nil {
		e := asError(portingError(err))
		e.Message = "path " + strings.TrimPrefix(e.Message, "field ")
		return "", e
	}
	return n, nil
}

// decodeOptional decodes a body that may be empty (then v keeps its zero value); a body that
// is present is decoded as strictly as by decodeJSON.
func decodeOptional(c *gin.Context, v any) error {
	if c.Request.Body == nil || c.Request.Body == http.NoBody {
		return nil
	}
	raw, err := io.ReadAll(c.Request.Body)
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return NewError(CodeTooLarge, "request body larger than %d bytes", mb.Limit)
		}
		return NewError(CodeInvalidArgument, "cannot read the request body: %v", err)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	return decodeStrict(raw, v)
}

func (s *Server) isRegulator() bool { return s.mspID == numbersRoles.Regulator }

// telcoOnly refuses the Regulator's gateway for the telcos' steps.
func (s *Server) telcoOnly(what string) error {
	if !numbersRoles.IsTelco(s.mspID) {
		return NewError(CodeForbidden, "only a telco may %s; this gateway is %s", what, s.mspID)
	}
	return nil
}

// ---- reads

func (s *Server) getNumber(c *gin.Context) error {
	n, err := pathNumber(c)
	if err != nil {
		return err
	}
	v, err := s.ledger.Number(c.Request.Context(), n)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, v)
	return nil
}

func (s *Server) getTransfer(c *gin.Context) error {
	n, err := pathNumber(c)
	if err != nil {
		return err
	}
	v, err := s.ledger.CurrentTransfer(c.Request.Context(), n)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, v)
	return nil
}

func (s *Server) numberHistory(c *gin.Context) error {
	n, err := pathNumber(c)
	if err != nil {
		return err
	}
	h, err := s.ledger.NumberHistory(c.Request.Context(), n)
	if err != nil {
		return err
	}
	if h == nil {
		h = []NumberHistoryEntry{}
	}
	c.JSON(http.StatusOK, h)
	return nil
}

// listTransfers is the Regulator's list: ?status=OPEN or ESCALATED (absent: both, up to
// limit each, without paging), ?limit=1..1000 (default 100), ?bookmark= (with a status).
func (s *Server) listTransfers(c *gin.Context) error {
	status, bookmark := c.Query("status"), c.Query("bookmark")
	switch status {
	case "", string(porting.StatusOpen), string(porting.StatusEscalated):
	default:
		return NewError(CodeInvalidArgument, "parameter status: OPEN or ESCALATED")
	}
	limit, err := intParam(c, "limit", 100, 1, 1000)
	if err != nil {
		return err
	}
	if len(bookmark) > 1024 || (bookmark != "" && status == "") {
		return NewError(CodeInvalidArgument, "parameter bookmark: at most 1024 characters, with a status")
	}
	if !s.isRegulator() {
		return NewError(CodeForbidden, "only the Regulator lists transfers")
	}
	ctx := c.Request.Context()
	if status != "" {
		p, err := s.ledger.Transfers(ctx, status, limit, bookmark)
		if err != nil {
			return err
		}
		if p.Transfers == nil {
			p.Transfers = []TransferInfo{}
		}
		p.Count = len(p.Transfers)
		c.JSON(http.StatusOK, p)
		return nil
	}
	out := TransferPage{Transfers: []TransferInfo{}}
	for _, st := range []string{string(porting.StatusOpen), string(porting.StatusEscalated)} {
		p, err := s.ledger.Transfers(ctx, st, limit, "")
		if err != nil {
			return err
		}
		out.Transfers = append(out.Transfers, p.Transfers...)
	}
	out.Count = len(out.Transfers)
	c.JSON(http.StatusOK, out)
	return nil
}

func (s *Server) customerData(c *gin.Context) error {
	n, err := pathNumber(c)
	if err != nil {
		return err
	}
	if err := s.telcoOnly("read customer data"); err != nil {
		return err
	}
	d, err := s.ledger.CustomerData(c.Request.Context(), n)
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, d)
	return nil
}

func (s *Server) customerDataHash(c *gin.Context) error {
	n, err := pathNumber(c)
	if err != nil {
		return err
	}
	h, err := s.ledger.CustomerDataHash(c.Request.Context(), n)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, h)
	return nil
}

// ---- writes

// allocateNumber takes {"number","owner"} or {"first","last","owner"}.
func (s *Server) allocateNumber(c *gin.Context) error {
	var b allocateBody
	if err := decodeJSON(c, &b); err != nil {
		return err
	}
	isRange := b.First != "" || b.Last != ""
	switch {
	case isRange && b.Number != "":
		return NewError(CodeInvalidArgument, "field number: give either number or first and last")
	case isRange:
		if _, err := porting.NumberRange(b.First, b.Last); err != nil {
			return portingError(err)
		}
	default:
		if err := porting.ValidateNumber("number", b.Number); err != nil {
			return portingError(err)
		}
	}
	if err := porting.ValidateOwner("owner", b.Owner, numbersRoles); err != nil {
		return portingError(err)
	}
	if !s.isRegulator() {
		return NewError(CodeForbidden, "only the Regulator allocates numbers")
	}
	w, ctx, cancel, err := s.begin(c, b)
	if err != nil {
		return err
	}
	defer cancel()
	if isRange {
		res, r, err := s.ledger.AllocateRange(ctx, b.First, b.Last, b.Owner, w)
		setTx(c, r.TxID)
		if err != nil {
			return err
		}
		c.JSON(writeStatus(r, true), rangeWriteJSON{RangeInfo: res, TxID: r.TxID})
		return nil
	}
	v, r, err := s.ledger.AllocateNumber(ctx, b.Number, b.Owner, w)
	setTx(c, r.TxID)
	if err != nil {
		return err
	}
	c.JSON(writeStatus(r, true), numberWriteJSON{NumberInfo: v, TxID: r.TxID})
	return nil
}

func (s *Server) issuePAC(c *gin.Context) error {
	n, err := pathNumber(c)
	if err != nil {
		return err
	}
	var b pacBody
	if err := decodeJSON(c, &b); err != nil {
		return err
	}
	if err := porting.ValidatePACCode("pac", b.PAC); err != nil {
		return portingError(err)
	}
	if err := s.telcoOnly("issue a porting authorisation code"); err != nil {
		return err
	}
	w, ctx, cancel, err := s.begin(c, b)
	if err != nil {
		return err
	}
	defer cancel()
	p, r, err := s.ledger.IssuePAC(ctx, n, b.PAC, w)
	setTx(c, r.TxID)
	if err != nil {
		return err
	}
	c.JSON(writeStatus(r, true), pacWriteJSON{PACInfo: p, TxID: r.TxID})
	return nil
}

func (s *Server) revokePAC(c *gin.Context) error {
	n, err := pathNumber(c)
	if err != nil {
		return err
	}
	var b emptyBody
	if err := decodeOptional(c, &b); err != nil {
		return err
	}
	if err := s.telcoOnly("revoke a porting authorisation code"); err != nil {
		return err
	}
	w, ctx, cancel, err := s.begin(c, nil)
	if err != nil {
		return err
	}
	defer cancel()
	p, r, err := s.ledger.RevokePAC(ctx, n, w)
	setTx(c, r.TxID)
	if err != nil {
		return err
	}
	c.JSON(writeStatus(r, false), pacWriteJSON{PACInfo: p, TxID: r.TxID})
	return nil
}

// requestTransfer opens a transfer to this gateway's telco. The body's customer data goes to
// the chaincode as transient data only; the handler never logs it.
func (s *Server) requestTransfer(c *gin.Context) error {
	n, err := pathNumber(c)
	if err != nil {
		return err
	}
	var b transferBody
	if err := decodeJSON(c, &b); err != nil {
		return err
	}
	// The chaincode's own checks of the customer object and the contract hash (the salt here
	// is a placeholder; the ledger client draws the real one).
	if _, _, err := porting.BuildCustomerRecord(n, "validation", b.Customer, b.ContractHash, make([]byte, porting.MinSaltBytes)); err != nil {
		return portingError(err)
	}
	if len(b.PAC) > 256 {
		return NewError(CodeInvalidArgument, "field pac: at most %d characters", porting.MaxPACLength)
	}
	if err := s.telcoOnly("request a transfer"); err != nil {
		return err
	}
	// The number may have been allocated through the Regulator's gateway a moment ago.
	var num NumberInfo
	if err := readFresh(c.Request.Context(), func() (err error) {
		num, err = s.ledger.Number(c.Request.Context(), n)
		return err
	}); err != nil {
		return err
	}
	// The owner names the endorsers. A second open request is the chaincode's CONFLICT (409),
	// not checked here, so that a retry with the same Idempotency-Key replays the first one.
	if num.Owner == s.mspID {
		return NewError(CodeFailedPrecond, "%s already owns %s", s.mspID, n)
	}
	w, ctx, cancel, err := s.begin(c, b)
	if err != nil {
		return err
	}
	defer cancel()
	t, r, err := s.ledger.RequestTransfer(ctx, TransferRequest{Number: n, Owner: num.Owner, Customer: b.Customer, ContractHash: b.ContractHash, PAC: b.PAC}, w)
	setTx(c, r.TxID)
	if err != nil {
		return err
	}
	c.JSON(writeStatus(r, true), transferWriteJSON{TransferInfo: t, TxID: r.TxID})
	return nil
}

func (s *Server) confirmTransfer(c *gin.Context) error  { return s.transferStep(c, StepConfirm) }
func (s *Server) rejectTransfer(c *gin.Context) error   { return s.transferStep(c, StepReject) }
func (s *Server) cancelTransfer(c *gin.Context) error   { return s.transferStep(c, StepCancel) }
func (s *Server) escalateTransfer(c *gin.Context) error { return s.transferStep(c, StepEscalate) }
func (s *Server) resolveTransfer(c *gin.Context) error  { return s.transferStep(c, StepResolve) }
func (s *Server) eraseCustomer(c *gin.Context) error    { return s.transferStep(c, StepErase) }

// transferStep decodes the body of action, checks the static role rules (the Regulator
// resolves, the telcos do the rest; who among the telcos is the chaincode's call) and runs it.
func (s *Server) transferStep(c *gin.Context, action string) error {
	n, err := pathNumber(c)
	if err != nil {
		return err
	}
	st := TransferStep{Number: n, Action: action}
	var body any
	switch action {
	case StepReject, StepEscalate:
		var b reasonBody
		if err := decodeJSON(c, &b); err != nil {
			return err
		}
		if err := porting.ValidateReason("reason", b.Reason); err != nil {
			return portingError(err)
		}
		st.Reason, body = b.Reason, b
	case StepResolve:
		var b resolveBody
		if err := decodeJSON(c, &b); err != nil {
			return err
		}
		if _, err := porting.ParseDecision("decision", b.Decision); err != nil {
			return portingError(err)
		}
		if err := porting.ValidateReason("reason", b.Reason); err != nil {
			return portingError(err)
		}
		st.Reason, st.Decision, body = b.Reason, b.Decision, b
	default:
		var b emptyBody
		if err := decodeOptional(c, &b); err != nil {
			return err
		}
	}
	if action == StepResolve {
		if !s.isRegulator() {
			return NewError(CodeForbidden, "only the Regulator resolves transfers")
		}
	} else if err := s.telcoOnly(action + " a transfer"); err != nil {
		return err
	}
	w, ctx, cancel, err := s.begin(c, body)
	if err != nil {
		return err
	}
	defer cancel()
	res, r, err := s.ledger.TransferStep(ctx, st, w)
	setTx(c, r.TxID)
	if err != nil {
		return err
	}
	c.JSON(writeStatus(r, false), stepWriteJSON{StepInfo: res, TxID: r.TxID, TxStatus: txState(r)})
	return nil
}
