package fabric

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/fabmarket/fabmarket/gateway/api"
	"github.com/fabmarket/fabmarket/internal/fabnet"
	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
)

// call is one write of the exchange contract.
type call struct {
	fn      string
	args    []string
	lock    string // serialization key: "account/ID", "match/SYMBOL", ...
	w       api.Write
	noRetry bool // no re-endorsement after an MVCC conflict (scheduled matches)
	// worthIt, when set, sees the endorsed result and transaction id first: false drops the
	// transaction unsubmitted and submit returns errNotWorthIt with the result (a Match that
	// would do nothing, an order the ledger already holds).
	worthIt func(result []byte, txID string) bool
	// staleRetry: a CONFLICT or NOT_FOUND from the endorsement may come from a peer that has
	// not committed another org's latest step yet (a settlement funded right after the other
	// org affirmed it): endorse again a few times, 300 ms apart, before answering it.
	staleRetry bool
	// contract is the chaincode contract to call; nil means the exchange contract.
	contract *client.Contract
	// opts are extra proposal options (transient data, endorsing organizations). They may
	// carry secrets: never log them.
	opts []client.ProposalOption
}

// flight is a write in progress: the handler that started it, and any request that repeats
// its idempotency key meanwhile, follow it.
type flight struct {
	fingerprint string
	firstTxID   string
	accepted    chan struct{} // closed when the orderer first accepted the transaction
	acceptOnce  sync.Once
	done        chan struct{} // closed when the outcome is known (or given up)

	mu      sync.Mutex
	result  []byte
	receipt api.Receipt
	err     error
}

func (f *flight) accept() { f.acceptOnce.Do(func() { close(f.accepted) }) }

func (f *flight) finish(result []byte, r api.Receipt, err error) {
	f.mu.Lock()
	if result != nil {
		f.result = result
	}
	f.receipt, f.err = r, err
	f.mu.Unlock()
	f.accept()
	close(f.done)
}

func (f *flight) outcome() ([]byte, api.Receipt, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.result, f.receipt, f.err
}

func (f *flight) pending() ([]byte, api.Receipt, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.result, api.Receipt{TxID: f.firstTxID}, nil
}

// follow waits for what the request asked: the commit (w.Wait) or the orderer's acceptance.
// When ctx ends first the answer is "pending" with the transaction id: the commit goes on.
func follow(ctx context.Context, f *flight, wait bool) ([]byte, api.Receipt, error) {
	if wait {
		select {
		case <-f.done:
			return f.outcome()
		case <-ctx.Done():
			return f.pending()
		}
	}
	select {
	case <-f.done:
		return f.outcome()
	case <-f.accepted:
		select {
		case <-f.done:
			return f.outcome()
		default:
			return f.pending()
		}
	case <-ctx.Done():
		return f.pending()
	}
}

func (c *Client) flight(key string) *flight {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.flights[key]
}

func reuseError() error {
	return api.NewError(api.CodeIdempotencyReuse, "this Idempotency-Key was used for a different request")
}

// errNotWorthIt is submit's answer when call.worthIt turned the endorsed transaction down.
var errNotWorthIt = errors.New("endorsed transaction not worth submitting")

// submit runs a write through the pipeline; see the package documentation.
func (c *Client) submit(ctx context.Context, k call) ([]byte, api.Receipt, error) {
	key := k.w.IdempotencyKey
	persist := key != "" && !k.w.KeyInLedger
	if key != "" {
		if f := c.flight(key); f != nil {
			if f.fingerprint != k.w.Fingerprint {
				return nil, api.Receipt{}, reuseError()
			}
			return follow(ctx, f, k.w.Wait)
		}
	}
	unlock, err := c.locks.lock(ctx, k.lock)
	if err != nil {
		return nil, api.Receipt{}, api.NewError(api.CodeTimeout, "timed out waiting for earlier writes of the same account")
	}
	handedOff := false
	defer func() {
		if !handedOff {
			unlock()
		}
	}()

	var tx *client.Transaction
	var rec *Record
	if key != "" {
		if f := c.flight(key); f != nil {
			unlock()
			handedOff = true
			if f.fingerprint != k.w.Fingerprint {
				return nil, api.Receipt{}, reuseError()
			}
			return follow(ctx, f, k.w.Wait)
		}
	}
	if persist {
		if rec, err = c.store.Get(key); err != nil {
			return nil, api.Receipt{}, api.NewError(api.CodeInternal, "idempotency store: %v", err)
		}
		if rec != nil {
			if rec.Fingerprint != k.w.Fingerprint {
				return nil, api.Receipt{}, reuseError()
			}
			if rec.State == stateCommitted {
				return rec.Result, api.Receipt{TxID: rec.TxID, Committed: true, Block: rec.Block, Replayed: true}, nil
			}
			// Bound to a transaction whose outcome this process does not know (it was
			// restarted): ask the ledger instead of endorsing a second one.
			st, err := c.Transaction(ctx, rec.TxID)
			if err != nil {
				return nil, api.Receipt{TxID: rec.TxID}, err
			}
			switch {
			case st.Status == api.TxValid:
				rec.State, rec.Block = stateCommitted, st.BlockNumber
				_ = c.store.Put(key, rec)
				return rec.Result, api.Receipt{TxID: rec.TxID, Committed: true, Block: st.BlockNumber, Replayed: true}, nil
			case st.Status == api.TxInvalid:
				// Safe to endorse anew: the bound transaction can never apply.
			default:
				if tx, err = c.gw.NewTransaction(rec.TxBytes); err != nil {
					return nil, api.Receipt{TxID: rec.TxID}, api.NewError(api.CodeInternal, "cannot restore transaction %s", rec.TxID)
				}
			}
		}
	}

	if tx == nil {
		if tx, err = c.endorse(ctx, k); err != nil {
			return nil, api.Receipt{}, err
		}
		if k.worthIt != nil && !k.worthIt(tx.Result(), tx.TransactionID()) {
			return tx.Result(), api.Receipt{}, errNotWorthIt
		}
		if persist {
			if err := c.bind(key, k, tx, rec); err != nil {
				return nil, api.Receipt{}, err
			}
		}
	}
	f := &flight{fingerprint: k.w.Fingerprint, firstTxID: tx.TransactionID(), result: tx.Result(),
		accepted: make(chan struct{}), done: make(chan struct{})}
	if key != "" {
		c.mu.Lock()
		c.flights[key] = f
		c.mu.Unlock()
	}
	c.setTx(api.TxStatus{TxID: tx.TransactionID(), Status: api.TxPending})
	handedOff = true
	c.wg.Add(1)
	go c.run(f, k, tx, persist, unlock)
	return follow(ctx, f, k.w.Wait)
}

// bind persists key → the endorsed transaction (replacing prev, an invalid one, if any).
func (c *Client) bind(key string, k call, tx *client.Transaction, prev *Record) error {
	raw, err := tx.Bytes()
	if err != nil {
		return api.NewError(api.CodeInternal, "serialize transaction: %v", err)
	}
	if prev != nil && prev.TxID != tx.TransactionID() {
		_ = c.store.Supersede(prev.TxID, tx.TransactionID())
	}
	r := &Record{Fingerprint: k.w.Fingerprint, Function: k.fn, TxID: tx.TransactionID(), TxBytes: raw,
		Result: tx.Result(), State: statePending, Created: time.Now().UTC()}
	if err := c.store.Put(key, r); err != nil {
		return api.NewError(api.CodeInternal, "idempotency store: %v", err)
	}
	return nil
}

// endorse builds and endorses a proposal; a transient failure (nothing was submitted) is tried
// again twice.
func (c *Client) endorse(ctx context.Context, k call) (*client.Transaction, error) {
	for attempt := 0; ; attempt++ {
		cc := k.contract
		if cc == nil {
			cc = c.contract
		}
		p, err := cc.NewProposal(k.fn, append([]client.ProposalOption{client.WithArguments(k.args...)}, k.opts...)...)
		if err != nil {
			return nil, api.NewError(api.CodeInternal, "proposal: %v", err)
		}
		tx, err := p.EndorseWithContext(ctx)
		if err == nil {
			return tx, nil
		}
		e := classify(err)
		if e.Code == api.CodeNotFound && attempt < 10 && ctx.Err() == nil && c.recent.lagging(k.lock, time.Now()) {
			// The key was written through this gateway a moment ago: another endorsing
			// peer has not committed that block yet. Wait for it rather than answer 404.
			c.log.Info("endorsement found nothing just written; waiting for the other peers", "function", k.fn, "key", k.lock)
			if fabnet.Sleep(ctx, 200*time.Millisecond) {
				continue
			}
		}
		if k.staleRetry && (e.Code == api.CodeConflict || e.Code == api.CodeNotFound) && attempt < 3 && ctx.Err() == nil {
			if fabnet.Sleep(ctx, 300*time.Millisecond) {
				continue
			}
		}
		if e.Status == http.StatusServiceUnavailable && attempt < 2 && ctx.Err() == nil {
			c.log.Warn("endorsement failed, retrying", "function", k.fn, "txId", p.TransactionID(), "error", fabnet.Describe(err))
			if fabnet.Sleep(ctx, jitter(200*time.Millisecond<<attempt)) {
				continue
			}
		}
		outcome := "rejected"
		if e.Status >= 500 {
			outcome = "unavailable"
			c.log.Error("endorsement failed", "function", k.fn, "txId", p.TransactionID(), "error", fabnet.Describe(err))
		}
		c.metrics.Submit(k.fn, outcome)
		return nil, e
	}
}

// lingerFor is how long a committed write whose key the ledger keeps (KeyInLedger) stays in
// memory after its commit, so that a repeat soon after is answered exactly as the first.
const lingerFor = 30 * time.Second

// run commits tx in the background, re-endorsing after read conflicts, and records the
// outcome (in the store when persist); it releases the serialization lock at the end.
func (c *Client) run(f *flight, k call, tx *client.Transaction, persist bool, unlock func()) {
	defer c.wg.Done()
	defer unlock()
	key := k.w.IdempotencyKey
	linger := false
	defer func() {
		if key == "" {
			return
		}
		forget := func() {
			c.mu.Lock()
			if c.flights[key] == f {
				delete(c.flights, key)
			}
			c.mu.Unlock()
		}
		if linger {
			time.AfterFunc(lingerFor, forget)
			return
		}
		forget()
	}()
	ctx, cancel := context.WithTimeout(c.base, c.commitTO)
	defer cancel()
	for attempt := 0; ; attempt++ {
		start := time.Now()
		txID := tx.TransactionID()
		out, err := c.sub.CommitNotify(ctx, tx, f.accept)
		if out != nil {
			c.metrics.Retry("resubmit", out.Resubmits)
		}
		if err == nil {
			c.metrics.Commit(out.Code.String(), time.Since(start).Seconds())
			c.metrics.Submit(k.fn, "committed")
			c.setTx(api.TxStatus{TxID: txID, Status: api.TxValid, ValidationCode: out.Code.String(), BlockNumber: out.Block})
			c.recent.committed(k.lock, time.Now())
			c.latency.observe(time.Since(start))
			c.log.Debug("committed", "function", k.fn, "txId", txID, "block", out.Block)
			f.finish(tx.Result(), api.Receipt{TxID: txID, Committed: true, Block: out.Block}, nil)
			if persist {
				// After the answer: until this record lands, the pending one still leads a
				// retry to this transaction's status. A committed record needs no tx bytes.
				_ = c.store.Put(key, &Record{Fingerprint: k.w.Fingerprint, Function: k.fn, TxID: txID,
					Result: tx.Result(), State: stateCommitted, Block: out.Block, Created: time.Now().UTC()})
			}
			linger = key != "" && !persist
			return
		}
		var inv *fabnet.InvalidError
		if !errors.As(err, &inv) {
			// No commit status (network trouble, shutdown): the record stays pending, and a
			// retry with the same key asks the ledger for this transaction's status.
			c.metrics.Submit(k.fn, "pending")
			c.log.Warn("commit status unknown", "function", k.fn, "txId", txID, "error", fabnet.Describe(err))
			f.finish(nil, api.Receipt{TxID: txID}, nil)
			return
		}
		c.metrics.Commit(inv.Code.String(), time.Since(start).Seconds())
		c.setTx(api.TxStatus{TxID: txID, Status: api.TxInvalid, ValidationCode: inv.Code.String(), BlockNumber: out.Block})
		conflict := inv.Code == peer.TxValidationCode_MVCC_READ_CONFLICT || inv.Code == peer.TxValidationCode_PHANTOM_READ_CONFLICT
		if conflict && !k.noRetry && attempt < c.mvcc {
			c.metrics.Retry("mvcc", 1)
			c.log.Info("read conflict, endorsing again", "function", k.fn, "txId", txID, "attempt", attempt+1)
			if !fabnet.Sleep(ctx, jitter(50*time.Millisecond<<attempt)) {
				f.finish(nil, api.Receipt{TxID: txID}, nil)
				return
			}
			ntx, err := c.endorse(ctx, k)
			if err != nil {
				if persist {
					_ = c.store.Delete(key)
				}
				f.finish(nil, api.Receipt{TxID: txID}, err)
				return
			}
			if persist {
				prev := &Record{TxID: txID}
				if err := c.bind(key, k, ntx, prev); err != nil {
					f.finish(nil, api.Receipt{TxID: txID}, err)
					return
				}
			} else {
				_ = c.store.Supersede(txID, ntx.TransactionID())
			}
			c.setTx(api.TxStatus{TxID: ntx.TransactionID(), Status: api.TxPending})
			tx = ntx
			continue
		}
		c.metrics.Submit(k.fn, "invalid")
		if persist {
			_ = c.store.Delete(key)
		}
		e := api.NewError(api.CodeConflict, "transaction %s was committed invalid (%s); nothing changed, send the request again", txID, inv.Code)
		if !conflict {
			e = api.NewError(api.CodeInternal, "transaction %s was committed invalid (%s)", txID, inv.Code)
		}
		f.finish(nil, api.Receipt{TxID: txID}, e)
		return
	}
}
