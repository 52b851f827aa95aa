package fabric

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/fabmarket/fabmarket/chaincode/exchange/settle"
	"github.com/fabmarket/fabmarket/gateway/api"
	"github.com/fabmarket/fabmarket/internal/fabnet"
	"github.com/hyperledger/fabric-gateway/pkg/client"
)

// The settlement contract (DvP escrow, channel market) and the htlc contract (channels market
// and payments) of the exchange chaincode. Their answers are settle.Agreement and settle.HTLC,
// which decode straight into the api types. Writes go through the pipeline (idempotency keys,
// serialization, MVCC retry), serialized per agreement ("settlement/ID") or HTLC
// ("htlc/CHANNEL/ID"); a lock is serialized on its sender account.

// settlementSteps maps the REST steps to the settlement contract's functions.
var settlementSteps = map[string]string{
	api.SettleAffirm:  "Affirm",
	api.SettleFund:    "Fund",
	api.SettleApprove: "Approve",
	api.SettleCancel:  "Cancel",
	api.SettleExpire:  "Expire",
}

// evaluateOn runs a query of contract cc and decodes the answer into v.
func (c *Client) evaluateOn(ctx context.Context, cc *client.Contract, v any, fn string, args ...string) error {
	p, err := cc.NewProposal(fn, client.WithArguments(args...))
	if err != nil {
		return classify(err)
	}
	raw, err := p.EvaluateWithContext(ctx)
	if err != nil {
		c.log.Debug("evaluate failed", "function", fn, "error", fabnet.Describe(err))
		return classify(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return api.NewError(api.CodeInternal, "cannot read the answer of %s", fn)
	}
	return nil
}

// submitOn runs a write of contract cc through the pipeline and decodes the chaincode's
// answer into v (known from the endorsement, so also while the commit is pending).
func (c *Client) submitOn(ctx context.Context, cc *client.Contract, v any, k call) (api.Receipt, error) {
	k.contract = cc
	res, r, err := c.submit(ctx, k)
	if err != nil {
		return r, err
	}
	if len(res) > 0 && v != nil {
		if err := json.Unmarshal(res, v); err != nil {
			return r, api.NewError(api.CodeInternal, "cannot read the answer of %s", k.fn)
		}
	}
	return r, nil
}

// htlcContract returns the htlc contract of channel (market or payments).
func (c *Client) htlcContract(channel string) (*client.Contract, error) {
	cc, ok := c.htlcs[channel]
	if !ok {
		return nil, api.NewError(api.CodeInvalidArgument, "channel %q: market or payments", channel)
	}
	return cc, nil
}

// Settlement implements api.SettlementsLedger.
func (c *Client) Settlement(ctx context.Context, id string) (settle.Agreement, error) {
	var a settle.Agreement
	err := c.evaluateOn(ctx, c.settlement, &a, "Get", id)
	return a, err
}

// Settlements implements api.SettlementsLedger.
func (c *Client) Settlements(ctx context.Context, account, status string) ([]settle.Agreement, error) {
	var as []settle.Agreement
	err := c.evaluateOn(ctx, c.settlement, &as, "List", account, status)
	return as, err
}

// ccSettlementRequest is the chaincode's SettlementRequest.
type ccSettlementRequest struct {
	SettlementID string `json:"settlementId"`
	Seller       string `json:"seller"`
	Buyer        string `json:"buyer"`
	Symbol       string `json:"symbol"`
	Quantity     int64  `json:"quantity"`
	Price        int64  `json:"price"`
	Currency     string `json:"currency"`
	Deadline     string `json:"deadline"`
	AllowPartial bool   `json:"allowPartial"`
	Notary       string `json:"notary"`
}

// ProposeSettlement implements api.SettlementsLedger. Without a settlement id the chaincode
// uses the transaction id, so a retry with the same Idempotency-Key finds the same agreement.
func (c *Client) ProposeSettlement(ctx context.Context, r api.SettlementRequest, w api.Write) (settle.Agreement, api.Receipt, error) {
	body, _ := json.Marshal(ccSettlementRequest{SettlementID: r.SettlementID, Seller: r.Seller, Buyer: r.Buyer,
		Symbol: r.Symbol, Quantity: r.Quantity, Price: r.Price, Currency: r.Currency,
		Deadline: r.Deadline.UTC().Format(time.RFC3339Nano), AllowPartial: r.AllowPartial, Notary: r.Notary})
	lock := "settlement/" + r.SettlementID
	if r.SettlementID == "" {
		lock = "settlement-propose/" + r.Seller + "/" + r.Buyer
	}
	var a settle.Agreement
	rc, err := c.submitOn(ctx, c.settlement, &a, call{fn: "Propose", args: []string{string(body)}, lock: lock, w: w})
	return a, rc, err
}

// SettlementStep implements api.SettlementsLedger.
func (c *Client) SettlementStep(ctx context.Context, s api.SettlementStep, w api.Write) (settle.Agreement, api.Receipt, error) {
	fn, ok := settlementSteps[s.Action]
	if !ok {
		return settle.Agreement{}, api.Receipt{}, api.NewError(api.CodeInternal, "unknown settlement step %q", s.Action)
	}
	args := []string{s.SettlementID}
	switch s.Action {
	case api.SettleFund:
		q := ""
		if s.Quantity > 0 {
			q = strconv.FormatInt(s.Quantity, 10)
		}
		args = append(args, s.Leg, q)
	case api.SettleCancel:
		args = append(args, s.Reason)
	}
	var a settle.Agreement
	rc, err := c.submitOn(ctx, c.settlement, &a, call{fn: fn, args: args, lock: "settlement/" + s.SettlementID, w: w,
		staleRetry: true})
	return a, rc, err
}

// HTLC implements api.HTLCLedger.
func (c *Client) HTLC(ctx context.Context, channel, id string) (settle.HTLC, error) {
	cc, err := c.htlcContract(channel)
	if err != nil {
		return settle.HTLC{}, err
	}
	var h settle.HTLC
	err = c.evaluateOn(ctx, cc, &h, "Get", id)
	return h, err
}

// ccLockRequest is the chaincode's LockRequest.
type ccLockRequest struct {
	HTLCID   string `json:"htlcId"`
	Asset    string `json:"asset"`
	Amount   int64  `json:"amount"`
	Sender   string `json:"sender"`
	Receiver string `json:"receiver"`
	Hashlock string `json:"hashlock"`
	Timelock string `json:"timelock"`
}

// accountLock is the serialization key of an account's writes on channel (the market's keys
// are those of client.go).
func accountLock(channel, account string) string {
	if channel == api.ChannelMarket {
		return "account/" + account
	}
	return channel + "/account/" + account
}

func lockArgs(r api.LockRequest) string {
	body, _ := json.Marshal(ccLockRequest{HTLCID: r.HTLCID, Asset: r.Asset, Amount: r.Amount, Sender: r.Sender,
		Receiver: r.Receiver, Hashlock: r.Hashlock, Timelock: r.Timelock.UTC().Format(time.RFC3339Nano)})
	return string(body)
}

// LockHTLC implements api.HTLCLedger; serialized on the sender account's writes.
func (c *Client) LockHTLC(ctx context.Context, channel string, r api.LockRequest, w api.Write) (settle.HTLC, api.Receipt, error) {
	cc, err := c.htlcContract(channel)
	if err != nil {
		return settle.HTLC{}, api.Receipt{}, err
	}
	var h settle.HTLC
	rc, err := c.submitOn(ctx, cc, &h, call{fn: "Lock", args: []string{lockArgs(r)}, lock: accountLock(channel, r.Sender), w: w})
	return h, rc, err
}

// ClaimHTLC implements api.HTLCLedger.
func (c *Client) ClaimHTLC(ctx context.Context, channel, id, preimage string, w api.Write) (settle.HTLC, api.Receipt, error) {
	cc, err := c.htlcContract(channel)
	if err != nil {
		return settle.HTLC{}, api.Receipt{}, err
	}
	var h settle.HTLC
	rc, err := c.submitOn(ctx, cc, &h, call{fn: "Claim", args: []string{id, preimage}, lock: "htlc/" + channel + "/" + id, w: w, staleRetry: true})
	return h, rc, err
}

// RefundHTLC implements api.HTLCLedger.
func (c *Client) RefundHTLC(ctx context.Context, channel, id string, w api.Write) (settle.HTLC, api.Receipt, error) {
	cc, err := c.htlcContract(channel)
	if err != nil {
		return settle.HTLC{}, api.Receipt{}, err
	}
	var h settle.HTLC
	rc, err := c.submitOn(ctx, cc, &h, call{fn: "Refund", args: []string{id}, lock: "htlc/" + channel + "/" + id, w: w, staleRetry: true})
	return h, rc, err
}
