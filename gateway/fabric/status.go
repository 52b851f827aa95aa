package fabric

import (
	"context"
	"strings"

	"github.com/fabmarket/fabmarket/gateway/api"
	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"
)

// maxRemembered bounds the transaction outcomes kept in memory.
const maxRemembered = 50000

func (c *Client) setTx(st api.TxStatus) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.txs[st.TxID]; !ok {
		c.txOrder = append(c.txOrder, st.TxID)
		if len(c.txOrder) > maxRemembered {
			delete(c.txs, c.txOrder[0])
			c.txOrder = c.txOrder[1:]
		}
	}
	c.txs[st.TxID] = st
}

// Transaction implements api.Ledger: the outcome this gateway saw, else the ledger's (qscc
// GetTransactionByID and GetBlockByTxID); a transaction the ledger does not know is PENDING.
func (c *Client) Transaction(ctx context.Context, txID string) (api.TxStatus, error) {
	c.mu.Lock()
	st, ok := c.txs[txID]
	c.mu.Unlock()
	if ok && st.Status == api.TxPending {
		return st, nil
	}
	if !ok {
		var err error
		if st, err = c.ledgerStatus(ctx, txID); err != nil {
			return api.TxStatus{}, err
		}
	}
	if st.Status == api.TxInvalid {
		st.SupersededBy = c.store.SupersededBy(txID)
	}
	return st, nil
}

// ledgerQSCC is one channel's qscc, where transaction statuses are looked up.
type ledgerQSCC struct {
	channel string
	qscc    *client.Contract
}

func (c *Client) ledgerStatus(ctx context.Context, txID string) (api.TxStatus, error) {
	// The market channel first, then payments (cash HTLCs), then numbers.
	var raw []byte
	var err error
	var qscc *client.Contract
	var channel string
	for _, l := range c.ledgers {
		qscc, channel = l.qscc, l.channel
		if raw, err = c.evaluateQSCC(ctx, qscc, channel, "GetTransactionByID", txID); err == nil || !notFound(err) {
			break
		}
	}
	if err != nil {
		if notFound(err) {
			return api.TxStatus{TxID: txID, Status: api.TxPending}, nil
		}
		return api.TxStatus{}, classify(err)
	}
	var pt peer.ProcessedTransaction
	if err := proto.Unmarshal(raw, &pt); err != nil {
		return api.TxStatus{}, api.NewError(api.CodeInternal, "cannot read the transaction from qscc")
	}
	code := peer.TxValidationCode(pt.GetValidationCode())
	st := api.TxStatus{TxID: txID, Status: api.TxValid, ValidationCode: code.String()}
	if code != peer.TxValidationCode_VALID {
		st.Status = api.TxInvalid
	}
	if braw, err := c.evaluateQSCC(ctx, qscc, channel, "GetBlockByTxID", txID); err == nil {
		var b common.Block
		if proto.Unmarshal(braw, &b) == nil {
			st.BlockNumber = b.GetHeader().GetNumber()
		}
	}
	c.setTx(st)
	return st, nil
}

func (c *Client) evaluateQSCC(ctx context.Context, qscc *client.Contract, channel, fn, txID string) ([]byte, error) {
	p, err := qscc.NewProposal(fn, client.WithArguments(channel, txID))
	if err != nil {
		return nil, err
	}
	return p.EvaluateWithContext(ctx)
}

func notFound(err error) bool {
	m := err.Error()
	for _, d := range detailsText(err) {
		m += " " + d
	}
	return strings.Contains(m, "no such transaction ID") || strings.Contains(m, "not found") ||
		strings.Contains(m, "Failed to get transaction")
}
