package api

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/fabmarket/fabmarket/chaincode/exchange/settle"
	"github.com/fabmarket/fabmarket/internal/netconf"
	"github.com/gin-gonic/gin"
)

// SettlementsLedger is what the escrow routes need from the exchange chaincode's settlement
// contract (channel market). Agreements are the chaincode's settle.Agreement in integer units
// (quantity in lots, price in ticks, cash in minor units); the handlers render them with the
// instrument's lot and tick sizes. gateway/fabric implements it; tests use a fake.
//
// Errors follow [Ledger]: a chaincode rejection keeps its code (INVALID_ARGUMENT 400,
// FORBIDDEN 403, NOT_FOUND 404, CONFLICT 409 for a closed agreement, a wrong status or a
// deadline passed or not reached, INSUFFICIENT_FUNDS 422).
type SettlementsLedger interface {
	// Settlement returns an agreement with its message thread (the parties' orgs, the notary
	// and the Regulator).
	Settlement(ctx context.Context, id string) (settle.Agreement, error)
	// Settlements lists the agreements of account (its org or the Regulator), in status
	// ("" = any), by id.
	Settlements(ctx context.Context, account, status string) ([]settle.Agreement, error)
	// ProposeSettlement proposes an agreement; the caller's org owns the buyer's or the
	// seller's account.
	ProposeSettlement(ctx context.Context, r SettlementRequest, w Write) (settle.Agreement, Receipt, error)
	// SettlementStep runs one step (affirm, fund, approve, cancel, expire) on an agreement.
	SettlementStep(ctx context.Context, s SettlementStep, w Write) (settle.Agreement, Receipt, error)
}

// SettlementRequest is a proposed agreement in chaincode units. SettlementID is optional (the
// chaincode uses the transaction id). Notary is an MSP ID or "".
type SettlementRequest struct {
	SettlementID string
	Seller       string
	Buyer        string
	Symbol       string
	Quantity     int64 // lots
	Price        int64 // ticks per lot
	Currency     string
	Deadline     time.Time
	AllowPartial bool
	Notary       string
}

// Settlement steps of [SettlementStep].
const (
	SettleAffirm  = "affirm"
	SettleFund    = "fund"
	SettleApprove = "approve"
	SettleCancel  = "cancel"
	SettleExpire  = "expire"
)

// SettlementStep is one step on an agreement. Leg ("seller", "buyer" or "" for the caller's)
// and Quantity (lots, 0 = the rest of the leg) are for fund; Reason for cancel.
type SettlementStep struct {
	SettlementID string
	Action       string
	Leg          string
	Quantity     int64
	Reason       string
}

// Request bodies of the settlement routes.
type (
	settlementBody struct {
		SettlementID string `json:"settlementId,omitempty"`
		Seller       string `json:"seller"`
		Buyer        string `json:"buyer"`
		Symbol       string `json:"symbol"`
		Quantity     string `json:"quantity"`
		Price        string `json:"price"`
		Currency     string `json:"currency"`
		Deadline     string `json:"deadline"`
		AllowPartial bool   `json:"allowPartial"`
		Notary       string `json:"notary,omitempty"`
	}
	fundBody struct {
		Leg      string `json:"leg,omitempty"`
		Quantity string `json:"quantity,omitempty"`
	}
	cancelBody struct {
		Reason string `json:"reason,omitempty"`
	}
)

// Response bodies of the settlement routes.
type (
	messageJSON struct {
		Type      string `json:"type"`
		SenderOrg string `json:"senderOrg"`
		Time      string `json:"time"`
		Details   string `json:"details,omitempty"`
	}
	settlementJSON struct {
		SettlementID         string        `json:"settlementId"`
		Status               string        `json:"status"`
		Seller               string        `json:"seller"`
		SellerOrg            string        `json:"sellerOrg"`
		Buyer                string        `json:"buyer"`
		BuyerOrg             string        `json:"buyerOrg"`
		ProposerOrg          string        `json:"proposerOrg"`
		Symbol               string        `json:"symbol"`
		Quantity             string        `json:"quantity"`
		Price                string        `json:"price"`
		Currency             string        `json:"currency"`
		CashAmount           string        `json:"cashAmount"`
		Deadline             string        `json:"deadline"`
		AllowPartial         bool          `json:"allowPartial"`
		Notary               string        `json:"notary,omitempty"`
		NotaryApproved       bool          `json:"notaryApproved"`
		SellerFundedQuantity string        `json:"sellerFundedQuantity"`
		BuyerFundedQuantity  string        `json:"buyerFundedQuantity"`
		BuyerFundedCash      string        `json:"buyerFundedCash"`
		SettledQuantity      string        `json:"settledQuantity"`
		SettledCash          string        `json:"settledCash"`
		Messages             []messageJSON `json:"messages"`
		TxID                 string        `json:"txId,omitempty"`
		TxStatus             string        `json:"txStatus,omitempty"` // writes: PENDING or VALID
	}
)

// settlementIDRE is the chaincode's identifier rule (checkIdent) for agreement and HTLC ids.
var settlementIDRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)

// messagesOut renders a message thread.
func messagesOut(ms []settle.Message) []messageJSON {
	out := make([]messageJSON, 0, len(ms))
	for _, m := range ms {
		out = append(out, messageJSON{Type: m.Type, SenderOrg: m.SenderOrg, Time: m.Time.UTC().Format(time.RFC3339Nano), Details: m.Details})
	}
	return out
}

func settlementOut(a settle.Agreement, in Instrument) settlementJSON {
	return settlementJSON{
		SettlementID: a.ID, Status: string(a.Status), Seller: a.Seller.Account, SellerOrg: a.Seller.Org,
		Buyer: a.Buyer.Account, BuyerOrg: a.Buyer.Org, ProposerOrg: a.ProposerOrg, Symbol: a.Symbol,
		Quantity: fmtUnits(a.Quantity, in.LotSize), Price: fmtUnits(a.Price, in.TickSize),
		Currency: a.Currency, CashAmount: fmtCash(a.CashAmount, a.Currency),
		Deadline: a.Deadline.UTC().Format(time.RFC3339Nano), AllowPartial: a.AllowPartial,
		Notary: a.Notary, NotaryApproved: a.NotaryApproved,
		SellerFundedQuantity: fmtUnits(a.SellerFundedQuantity, in.LotSize),
		BuyerFundedQuantity:  fmtUnits(a.BuyerFundedQuantity, in.LotSize),
		BuyerFundedCash:      fmtCash(a.BuyerFundedCash, a.Currency),
		SettledQuantity:      fmtUnits(a.SettledQuantity, in.LotSize),
		SettledCash:          fmtCash(a.SettledCash, a.Currency),
		Messages:             messagesOut(a.Messages),
	}
}

// mspOf accepts an org as its MSP ID ("Org3MSP") or its short name ("org3") and returns the
// MSP ID.
func mspOf(field, v string) (string, error) {
	for _, o := range netconf.Orgs {
		msp, _ := netconf.MSPID(o)
		if v == o || v == msp {
			return msp, nil
		}
	}
	return "", NewError(CodeInvalidArgument, "field %s: an org such as Org3MSP or org3 (one of %s)", field, strings.Join(netconf.Orgs, ", "))
}

// pathSettlement validates the {id} of the path.
func pathSettlement(c *gin.Context) (string, error) {
	id := c.Param("id")
	if !settlementIDRE.MatchString(id) {
		return "", NewError(CodeNotFound, "settlement %q not found", id)
	}
	return id, nil
}

// ---- reads

func (s *Server) getSettlement(c *gin.Context) error {
	id, err := pathSettlement(c)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	a, err := s.ledger.Settlement(ctx, id)
	if err != nil {
		return err
	}
	in, err := s.instr.get(ctx, a.Symbol)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, settlementOut(a, in))
	return nil
}

func (s *Server) listSettlements(c *gin.Context) error {
	ctx := c.Request.Context()
	account, status := c.Query("account"), c.Query("status")
	if account == "" {
		return NewError(CodeInvalidArgument, "parameter account: required")
	}
	if checkID("account", account) != nil {
		return NewError(CodeInvalidArgument, "parameter account: an account id")
	}
	if status != "" && !settle.Status(status).Valid() {
		return NewError(CodeInvalidArgument, "parameter status: one of PROPOSED, AFFIRMED, FUNDING, SETTLED, EXPIRED, CANCELLED")
	}
	as, err := s.ledger.Settlements(ctx, account, status)
	if err != nil {
		return err
	}
	out := make([]settlementJSON, 0, len(as))
	for _, a := range as {
		in, err := s.instr.get(ctx, a.Symbol)
		if err != nil {
			return err
		}
		out = append(out, settlementOut(a, in))
	}
	c.JSON(http.StatusOK, out)
	return nil
}

// ---- writes

// proposeSettlement validates and converts the terms with the instrument's sizes; who may
// propose (the org of a party) is the chaincode's rule.
func (s *Server) proposeSettlement(c *gin.Context) error {
	var b settlementBody
	if err := decodeJSON(c, &b); err != nil {
		return err
	}
	if b.SettlementID != "" && !settlementIDRE.MatchString(b.SettlementID) {
		return NewError(CodeInvalidArgument, "field settlementId: 1-128 characters of A-Z a-z 0-9 . _ : - starting with a letter or digit")
	}
	for _, f := range []struct{ name, v string }{{"seller", b.Seller}, {"buyer", b.Buyer}} {
		if err := checkID(f.name, f.v); err != nil {
			return err
		}
	}
	if b.Seller == b.Buyer {
		return NewError(CodeInvalidArgument, "field buyer: must differ from seller")
	}
	if err := checkSymbol("symbol", b.Symbol); err != nil {
		return err
	}
	if b.Currency == "" {
		return NewError(CodeInvalidArgument, "field currency: required")
	}
	if b.Deadline == "" {
		return NewError(CodeInvalidArgument, "field deadline: required")
	}
	deadline, err := rfc3339("deadline", b.Deadline)
	if err != nil {
		return err
	}
	if !deadline.After(time.Now()) {
		return NewError(CodeInvalidArgument, "field deadline: must be in the future")
	}
	notary := ""
	if b.Notary != "" {
		if notary, err = mspOf("notary", b.Notary); err != nil {
			return err
		}
	}
	in, err := s.instr.get(c.Request.Context(), b.Symbol)
	if err != nil {
		return err
	}
	if b.Currency != in.Currency {
		return NewError(CodeInvalidArgument, "field currency: %s trades in %s", in.Symbol, in.Currency)
	}
	r := SettlementRequest{SettlementID: b.SettlementID, Seller: b.Seller, Buyer: b.Buyer, Symbol: b.Symbol,
		Currency: b.Currency, Deadline: deadline, AllowPartial: b.AllowPartial, Notary: notary}
	if r.Quantity, err = positive("quantity", b.Quantity, in.LotSize, "lot"); err != nil {
		return err
	}
	if r.Price, err = positive("price", b.Price, in.TickSize, "tick"); err != nil {
		return err
	}
	w, ctx, cancel, err := s.begin(c, b)
	if err != nil {
		return err
	}
	defer cancel()
	a, rc, err := s.ledger.ProposeSettlement(ctx, r, w)
	setTx(c, rc.TxID)
	if err != nil {
		return err
	}
	out := settlementOut(a, in)
	out.TxID, out.TxStatus = rc.TxID, txState(rc)
	if rc.Committed {
		c.Header("Location", "/v1/settlements/"+a.ID)
	}
	c.JSON(writeStatus(rc, true), out)
	return nil
}

func (s *Server) affirmSettlement(c *gin.Context) error  { return s.settlementStep(c, SettleAffirm) }
func (s *Server) fundSettlement(c *gin.Context) error    { return s.settlementStep(c, SettleFund) }
func (s *Server) approveSettlement(c *gin.Context) error { return s.settlementStep(c, SettleApprove) }
func (s *Server) cancelSettlement(c *gin.Context) error  { return s.settlementStep(c, SettleCancel) }
func (s *Server) expireSettlement(c *gin.Context) error  { return s.settlementStep(c, SettleExpire) }

// settlementStep decodes the body of action (optional for every step), loads the agreement
// (404/403 before anything is endorsed; its instrument converts a fund quantity), and runs
// the step. The rules of who may do what in which status are the chaincode's.
func (s *Server) settlementStep(c *gin.Context, action string) error {
	id, err := pathSettlement(c)
	if err != nil {
		return err
	}
	st := SettlementStep{SettlementID: id, Action: action}
	var body any
	var fb fundBody
	switch action {
	case SettleFund:
		if err := decodeOptional(c, &fb); err != nil {
			return err
		}
		switch strings.ToLower(fb.Leg) {
		case "", "seller", "buyer":
			st.Leg = strings.ToLower(fb.Leg)
		default:
			return NewError(CodeInvalidArgument, "field leg: seller or buyer")
		}
		body = fb
	case SettleCancel:
		var b cancelBody
		if err := decodeOptional(c, &b); err != nil {
			return err
		}
		if len(b.Reason) > 500 || strings.ContainsFunc(b.Reason, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			return NewError(CodeInvalidArgument, "field reason: at most 500 characters, no control characters")
		}
		st.Reason, body = b.Reason, b
	default:
		var b emptyBody
		if err := decodeOptional(c, &b); err != nil {
			return err
		}
	}
	var a settle.Agreement
	if err := readFresh(c.Request.Context(), func() (err error) {
		a, err = s.ledger.Settlement(c.Request.Context(), id)
		return err
	}); err != nil {
		return err
	}
	in, err := s.instr.get(c.Request.Context(), a.Symbol)
	if err != nil {
		return err
	}
	if action == SettleFund {
		if fb.Quantity != "" && fb.Quantity != "0" {
			if st.Quantity, err = positive("quantity", fb.Quantity, in.LotSize, "lot"); err != nil {
				return err
			}
		}
		if st.Leg == "" && a.Buyer.Org == s.mspID && a.Seller.Org == s.mspID {
			return NewError(CodeInvalidArgument, "field leg: required, %s owns both the seller's and the buyer's account", s.mspID)
		}
	}
	w, ctx, cancel, err := s.begin(c, body)
	if err != nil {
		return err
	}
	defer cancel()
	n, rc, err := s.ledger.SettlementStep(ctx, st, w)
	setTx(c, rc.TxID)
	if err != nil {
		return err
	}
	if n.ID == "" {
		n = a
	}
	out := settlementOut(n, in)
	out.TxID, out.TxStatus = rc.TxID, txState(rc)
	c.JSON(writeStatus(rc, false), out)
	return nil
}
