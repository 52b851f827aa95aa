package fabric

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"strconv"

	"github.com/fabmarket/fabmarket/chaincode/numbers/endorse"
	"github.com/fabmarket/fabmarket/gateway/api"
	"github.com/fabmarket/fabmarket/internal/fabnet"
	"github.com/hyperledger/fabric-gateway/pkg/client"
)

// The number-transfer chaincode (chaincode/numbers) on its own channel. Its views are the
// JSON shapes of the api types, so answers decode straight into them. Writes go through the
// same pipeline as the exchange's (idempotency, per-key serialization, MVCC retry), keyed
// "number/<number>"; only RequestTransfer names its endorsers (package endorse), every other
// step lets the peer's gateway service plan the endorsement.

// Transient map keys of the numbers chaincode (chaincode/numbers/contract).
const (
	transientCustomer     = "customer"
	transientContractHash = "contractHash"
	transientSalt         = "salt"
	transientPAC          = "pac"
)

// saltBytes is the size of the random salt of a request's customer record (16 to 64 allowed).
const saltBytes = 32

// stepFunctions maps the REST steps to the chaincode's functions.
var stepFunctions = map[string]string{
	api.StepConfirm:  "ConfirmTransfer",
	api.StepReject:   "RejectTransfer",
	api.StepCancel:   "CancelTransfer",
	api.StepEscalate: "EscalateTransfer",
	api.StepResolve:  "ResolveTransfer",
	api.StepErase:    "EraseCustomerData",
}

// evaluateNumbers runs a query function of the numbers contract on this org's peer and
// decodes the answer into v.
func (c *Client) evaluateNumbers(ctx context.Context, v any, fn string, args ...string) error {
	p, err := c.numbers.NewProposal(fn, client.WithArguments(args...))
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

// submitNumbers runs a write of the numbers contract through the pipeline and decodes the
// chaincode's answer (known from the endorsement, so also while the commit is pending).
func (c *Client) submitNumbers(ctx context.Context, v any, k call) (api.Receipt, error) {
	k.contract = c.numbers
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

// Number implements api.NumbersLedger.
func (c *Client) Number(ctx context.Context, number string) (api.NumberInfo, error) {
	var v api.NumberInfo
	err := c.evaluateNumbers(ctx, &v, "GetNumber", number)
	return v, err
}

// CurrentTransfer implements api.NumbersLedger.
func (c *Client) CurrentTransfer(ctx context.Context, number string) (api.TransferInfo, error) {
	var v api.TransferInfo
	err := c.evaluateNumbers(ctx, &v, "GetTransfer", number)
	return v, err
}

// NumberHistory implements api.NumbersLedger.
func (c *Client) NumberHistory(ctx context.Context, number string) ([]api.NumberHistoryEntry, error) {
	var v []api.NumberHistoryEntry
	err := c.evaluateNumbers(ctx, &v, "History", number)
	return v, err
}

// Transfers implements api.NumbersLedger.
func (c *Client) Transfers(ctx context.Context, status string, limit int, bookmark string) (api.TransferPage, error) {
	var v api.TransferPage
	err := c.evaluateNumbers(ctx, &v, "ListTransfers", status, strconv.Itoa(limit), bookmark)
	return v, err
}

// CustomerData implements api.NumbersLedger. The answer is private data of this org's peer.
func (c *Client) CustomerData(ctx context.Context, number string) (api.CustomerData, error) {
	var v api.CustomerData
	err := c.evaluateNumbers(ctx, &v, "ReadCustomerData", number)
	return v, err
}

// CustomerDataHash implements api.NumbersLedger.
func (c *Client) CustomerDataHash(ctx context.Context, number string) (api.CustomerDataHash, error) {
	var v api.CustomerDataHash
	err := c.evaluateNumbers(ctx, &v, "GetCustomerDataHash", number)
	return v, err
}

// AllocateNumber implements api.NumbersLedger.
func (c *Client) AllocateNumber(ctx context.Context, number, owner string, w api.Write) (api.NumberInfo, api.Receipt, error) {
	var v api.NumberInfo
	r, err := c.submitNumbers(ctx, &v, call{fn: "AllocateNumber", args: []string{number, owner}, lock: "number/" + number, w: w})
	return v, r, err
}

// AllocateRange implements api.NumbersLedger.
func (c *Client) AllocateRange(ctx context.Context, first, last, owner string, w api.Write) (api.RangeInfo, api.Receipt, error) {
	var v api.RangeInfo
	r, err := c.submitNumbers(ctx, &v, call{fn: "AllocateRange", args: []string{first, last, owner}, lock: "range/" + first, w: w})
	return v, r, err
}

// IssuePAC implements api.NumbersLedger: the code travels in the transient map only.
func (c *Client) IssuePAC(ctx context.Context, number, code string, w api.Write) (api.PACInfo, api.Receipt, error) {
	var v api.PACInfo
	r, err := c.submitNumbers(ctx, &v, call{fn: "IssuePAC", args: []string{number}, lock: "number/" + number, w: w,
		opts: []client.ProposalOption{client.WithTransient(map[string][]byte{transientPAC: []byte(code)})}})
	return v, r, err
}

// RevokePAC implements api.NumbersLedger.
func (c *Client) RevokePAC(ctx context.Context, number string, w api.Write) (api.PACInfo, api.Receipt, error) {
	var v api.PACInfo
	r, err := c.submitNumbers(ctx, &v, call{fn: "RevokePAC", args: []string{number}, lock: "number/" + number, w: w})
	return v, r, err
}

// RequestTransfer implements api.NumbersLedger: the customer data, the contract hash, the
// code and a fresh random salt go in the transient map, endorsed by exactly the requester, the
// owner and the Regulator (endorse.EndorsersFor), so the third telco never receives them.
func (c *Client) RequestTransfer(ctx context.Context, req api.TransferRequest, w api.Write) (api.TransferInfo, api.Receipt, error) {
	var v api.TransferInfo
	orgs := endorse.EndorsersFor("RequestTransfer", c.msp, req.Owner)
	if orgs == nil {
		return v, api.Receipt{}, api.NewError(api.CodeFailedPrecond, "%s cannot request %s from %s", c.msp, req.Number, req.Owner)
	}
	salt := make([]byte, saltBytes)
	if _, err := rand.Read(salt); err != nil {
		return v, api.Receipt{}, api.NewError(api.CodeInternal, "no randomness for the salt")
	}
	tm := map[string][]byte{
		transientCustomer:     req.Customer,
		transientContractHash: []byte(req.ContractHash),
		transientSalt:         salt,
	}
	if req.PAC != "" {
		tm[transientPAC] = []byte(req.PAC)
	}
	r, err := c.submitNumbers(ctx, &v, call{fn: "RequestTransfer", args: []string{req.Number}, lock: "number/" + req.Number, w: w,
		opts: []client.ProposalOption{client.WithTransient(tm), client.WithEndorsingOrganizations(orgs...)}})
	return v, r, err
}

// TransferStep implements api.NumbersLedger.
func (c *Client) TransferStep(ctx context.Context, s api.TransferStep, w api.Write) (api.StepInfo, api.Receipt, error) {
	var v api.StepInfo
	fn, ok := stepFunctions[s.Action]
	if !ok {
		return v, api.Receipt{}, api.NewError(api.CodeInternal, "unknown transfer step %q", s.Action)
	}
	args := []string{s.Number}
	switch s.Action {
	case api.StepReject, api.StepEscalate:
		args = append(args, s.Reason)
	case api.StepResolve:
		args = append(args, s.Decision, s.Reason)
	}
	r, err := c.submitNumbers(ctx, &v, call{fn: fn, args: args, lock: "number/" + s.Number, w: w})
	return v, r, err
}
