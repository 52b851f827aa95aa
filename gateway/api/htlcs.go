package api

import (
	"context"
	"net/http"
	"time"

	"github.com/fabmarket/fabmarket/chaincode/exchange/settle"
	"github.com/fabmarket/fabmarket/chaincode/exchange/units"
	"github.com/gin-gonic/gin"
)

// Channels of the exchange chaincode: shares live on market, cash on payments.
const (
	ChannelMarket   = "market"
	ChannelPayments = "payments"
)

// HTLCLedger is what the HTLC routes (choreography: one step per request) need from the
// exchange chaincode's htlc contract, on channel market (shares, amounts in lots) or payments
// (cash, amounts in minor units). gateway/fabric implements it; tests use a fake.
//
// Errors follow [Ledger]: INVALID_ARGUMENT 400 (also a preimage that does not match),
// FORBIDDEN 403, NOT_FOUND 404, CONFLICT 409 (closed, timelock passed or not reached, id
// taken), INSUFFICIENT_FUNDS 422.
type HTLCLedger interface {
	// HTLC returns the HTLC id on channel (sender's and receiver's orgs, the Regulator).
	HTLC(ctx context.Context, channel, id string) (settle.HTLC, error)
	// LockHTLC locks r.Amount of r.Asset from the sender (an account of the caller's org).
	LockHTLC(ctx context.Context, channel string, r LockRequest, w Write) (settle.HTLC, Receipt, error)
	// ClaimHTLC releases the HTLC to the receiver against the preimage (the receiver's org).
	ClaimHTLC(ctx context.Context, channel, id, preimage string, w Write) (settle.HTLC, Receipt, error)
	// RefundHTLC returns the HTLC to the sender after its timelock (either party's org).
	RefundHTLC(ctx context.Context, channel, id string, w Write) (settle.HTLC, Receipt, error)
}

// LockRequest is an HTLC lock in chaincode units. HTLCID is optional (the chaincode uses the
// transaction id).
type LockRequest struct {
	HTLCID   string
	Asset    string
	Amount   int64
	Sender   string
	Receiver string
	Hashlock string
	Timelock time.Time
}

// Request and response bodies of the HTLC routes.
type (
	lockBody struct {
		HTLCID   string `json:"htlcId,omitempty"`
		Channel  string `json:"channel,omitempty"`
		Asset    string `json:"asset"`
		Amount   string `json:"amount"`
		Sender   string `json:"sender"`
		Receiver string `json:"receiver"`
		Hashlock string `json:"hashlock"`
		Timelock string `json:"timelock"`
	}
	claimBody struct {
		Preimage string `json:"preimage"`
	}
	htlcJSON struct {
		HTLCID      string        `json:"htlcId"`
		Channel     string        `json:"channel"`
		Status      string        `json:"status"`
		Asset       string        `json:"asset"`
		Amount      string        `json:"amount"`
		Sender      string        `json:"sender"`
		SenderOrg   string        `json:"senderOrg"`
		Receiver    string        `json:"receiver"`
		ReceiverOrg string        `json:"receiverOrg"`
		Hashlock    string        `json:"hashlock"`
		Timelock    string        `json:"timelock"`
		Preimage    string        `json:"preimage,omitempty"`
		Messages    []messageJSON `json:"messages"`
		TxID        string        `json:"txId,omitempty"`
		TxStatus    string        `json:"txStatus,omitempty"`
	}
)

// ChannelOfAsset is the default channel of an HTLC on asset: a currency is cash on payments,
// anything else an instrument's shares on market.
func ChannelOfAsset(asset string) string {
	if units.IsCurrency(asset) {
		return ChannelPayments
	}
	return ChannelMarket
}

// htlcAmount renders an HTLC amount: cash in the currency's decimals, shares in the
// instrument's lots.
func (s *Server) htlcAmount(ctx context.Context, asset string, amount int64) (string, error) {
	if units.IsCurrency(asset) {
		return fmtCash(amount, asset), nil
	}
	in, err := s.instr.get(ctx, asset)
	if err != nil {
		return "", err
	}
	return fmtUnits(amount, in.LotSize), nil
}

func (s *Server) htlcOut(ctx context.Context, channel string, h settle.HTLC) (htlcJSON, error) {
	amount, err := s.htlcAmount(ctx, h.Asset, h.Amount)
	if err != nil {
		return htlcJSON{}, err
	}
	return htlcJSON{
		HTLCID: h.ID, Channel: channel, Status: string(h.Status), Asset: h.Asset, Amount: amount,
		Sender: h.Sender.Account, SenderOrg: h.Sender.Org, Receiver: h.Receiver.Account, ReceiverOrg: h.Receiver.Org,
		Hashlock: h.Hashlock, Timelock: h.Timelock.UTC().Format(time.RFC3339Nano), Preimage: h.Preimage,
		Messages: messagesOut(h.Messages),
	}, nil
}

// channelParam reads ?channel= ("" when absent).
func channelParam(c *gin.Context) (string, error) {
	switch ch := c.Query("channel"); ch {
	case "", ChannelMarket, ChannelPayments:
		return ch, nil
	}
	return "", NewError(CodeInvalidArgument, "parameter channel: market or payments")
}

// htlcPath returns the HTLC id of the path and the ?channel= of the request: 400 or 404
// before anything is read.
func htlcPath(c *gin.Context) (id, ch string, err error) {
	if ch, err = channelParam(c); err != nil {
		return "", "", err
	}
	id = c.Param("id")
	if !settlementIDRE.MatchString(id) {
		return "", "", NewError(CodeNotFound, "htlc %q not found", id)
	}
	return id, ch, nil
}

// findHTLC loads HTLC id on channel ch, or, with ch "", on market and then on payments.
func (s *Server) findHTLC(ctx context.Context, id, ch string) (string, settle.HTLC, error) {
	if ch != "" {
		h, err := s.ledger.HTLC(ctx, ch, id)
		return ch, h, err
	}
	h, err := s.ledger.HTLC(ctx, ChannelMarket, id)
	if err == nil {
		return ChannelMarket, h, nil
	}
	if asError(err).Code != CodeNotFound {
		return "", settle.HTLC{}, err
	}
	h, err = s.ledger.HTLC(ctx, ChannelPayments, id)
	if err != nil && asError(err).Code == CodeNotFound {
		return "", settle.HTLC{}, NewError(CodeNotFound, "htlc %s exists on neither market nor payments", id)
	}
	return ChannelPayments, h, err
}

func (s *Server) getHTLC(c *gin.Context) error {
	id, ch, err := htlcPath(c)
	if err != nil {
		return err
	}
	ch, h, err := s.findHTLC(c.Request.Context(), id, ch)
	if err != nil {
		return err
	}
	out, err := s.htlcOut(c.Request.Context(), ch, h)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, out)
	return nil
}

// lockHTLC validates the lock: the channel defaults to the asset's (currency: payments,
// instrument: market) and must agree with it; amounts are decimal strings (cash in the
// currency's decimals, shares in multiples of the lot size).
func (s *Server) lockHTLC(c *gin.Context) error {
	var b lockBody
	if err := decodeJSON(c, &b); err != nil {
		return err
	}
	if b.HTLCID != "" && !settlementIDRE.MatchString(b.HTLCID) {
		return NewError(CodeInvalidArgument, "field htlcId: 1-128 characters of A-Z a-z 0-9 . _ : - starting with a letter or digit")
	}
	if b.Asset == "" {
		return NewError(CodeInvalidArgument, "field asset: required")
	}
	want := ChannelOfAsset(b.Asset)
	switch b.Channel {
	case "":
		b.Channel = want
	case ChannelMarket, ChannelPayments:
		if b.Channel != want {
			return NewError(CodeInvalidArgument, "field channel: %s locks %s; %s belongs on %s", b.Channel,
				map[string]string{ChannelMarket: "shares", ChannelPayments: "cash"}[b.Channel], b.Asset, want)
		}
	default:
		return NewError(CodeInvalidArgument, "field channel: market or payments")
	}
	r := LockRequest{HTLCID: b.HTLCID, Asset: b.Asset, Sender: b.Sender, Receiver: b.Receiver}
	var err error
	if b.Channel == ChannelPayments {
		r.Amount, err = cash("amount", b.Amount, b.Asset)
	} else if err = checkSymbol("asset", b.Asset); err == nil {
		var in Instrument
		if in, err = s.instr.get(c.Request.Context(), b.Asset); err == nil {
			r.Amount, err = positive("amount", b.Amount, in.LotSize, "lot")
		}
	}
	if err != nil {
		return err
	}
	for _, f := range []struct{ name, v string }{{"sender", b.Sender}, {"receiver", b.Receiver}} {
		if err := checkID(f.name, f.v); err != nil {
			return err
		}
	}
	if b.Sender == b.Receiver {
		return NewError(CodeInvalidArgument, "field receiver: must differ from sender")
	}
	if r.Hashlock, err = settle.ParseHashlock(b.Hashlock); err != nil {
		return NewError(CodeInvalidArgument, "field hashlock: 64 hexadecimal characters (SHA-256 of the preimage)")
	}
	if b.Timelock == "" {
		return NewError(CodeInvalidArgument, "field timelock: required")
	}
	if r.Timelock, err = rfc3339("timelock", b.Timelock); err != nil {
		return err
	}
	if !r.Timelock.After(time.Now()) {
		return NewError(CodeInvalidArgument, "field timelock: must be in the future")
	}
	if r.Timelock.Sub(time.Now()) > settle.MaxTimelock {
		return NewError(CodeInvalidArgument, "field timelock: at most %s ahead", settle.MaxTimelock)
	}
	w, ctx, cancel, err := s.begin(c, b)
	if err != nil {
		return err
	}
	defer cancel()
	h, rc, err := s.ledger.LockHTLC(ctx, b.Channel, r, w)
	setTx(c, rc.TxID)
	if err != nil {
		return err
	}
	out, err := s.htlcOut(ctx, b.Channel, h)
	if err != nil {
		return err
	}
	out.TxID, out.TxStatus = rc.TxID, txState(rc)
	c.JSON(writeStatus(rc, true), out)
	return nil
}

func (s *Server) claimHTLC(c *gin.Context) error  { return s.htlcStep(c, true) }
func (s *Server) refundHTLC(c *gin.Context) error { return s.htlcStep(c, false) }

// htlcStep claims (with {"preimage"}) or refunds the HTLC of the path.
func (s *Server) htlcStep(c *gin.Context, claim bool) error {
	var body any
	var cb claimBody
	if claim {
		if err := decodeJSON(c, &cb); err != nil {
			return err
		}
		if _, err := settle.ParsePreimage(cb.Preimage); err != nil {
			return NewError(CodeInvalidArgument, "field preimage: 64 hexadecimal characters (32 bytes)")
		}
		body = cb
	} else {
		var b emptyBody
		if err := decodeOptional(c, &b); err != nil {
			return err
		}
	}
	id, asked, err := htlcPath(c)
	if err != nil {
		return err
	}
	var ch string
	var h settle.HTLC
	if err := readFresh(c.Request.Context(), func() (err error) {
		ch, h, err = s.findHTLC(c.Request.Context(), id, asked)
		return err
	}); err != nil {
		return err
	}
	w, ctx, cancel, err := s.begin(c, body)
	if err != nil {
		return err
	}
	defer cancel()
	var n settle.HTLC
	var rc Receipt
	if claim {
		n, rc, err = s.ledger.ClaimHTLC(ctx, ch, h.ID, cb.Preimage, w)
	} else {
		n, rc, err = s.ledger.RefundHTLC(ctx, ch, h.ID, w)
	}
	setTx(c, rc.TxID)
	if err != nil {
		return err
	}
	if n.ID == "" {
		n = h
	}
	out, err := s.htlcOut(ctx, ch, n)
	if err != nil {
		return err
	}
	out.TxID, out.TxStatus = rc.TxID, txState(rc)
	c.JSON(writeStatus(rc, false), out)
	return nil
}
