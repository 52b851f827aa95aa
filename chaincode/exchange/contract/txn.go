package contract

import (
	"encoding/json"
	"math"
	"sort"
	"time"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// txn is one transaction's view of the ledger. Fabric does not show a transaction its own
// writes, so txn buffers them and answers reads from the buffer first; balances, deltas and
// escrows are accumulated in memory and written once, in key order, by flush. Nothing reaches
// the stub before flush, so a function that fails writes nothing.
type txn struct {
	cfg     *Config
	books   *bookCache
	stub    shim.ChaincodeStubInterface
	org     string
	now     time.Time
	id      string
	channel string

	pending map[string][]byte // key -> value; nil value: delete
	bases   map[string]*baseBalance
	folded  map[string]bool
	credits map[string]*delta // "ACCT~ASSET" -> delta written under dl~ACCT~ASSET~TXID
	escrows map[string]*escrowAmount

	eventName    string
	eventPayload any

	// readOnly: a query function (beginQuery); its range scans page past the peer's limit.
	readOnly bool
}

// begin starts a transaction: caller org, timestamp and channel check.
func (c *core) begin(ctx contractapi.TransactionContextInterface, where channelSet) (*txn, error) {
	stub := ctx.GetStub()
	org, err := ctx.GetClientIdentity().GetMSPID()
	if err != nil || org == "" {
		return nil, forbidden("cannot read the caller's MSP ID: %v", err)
	}
	ts, err := stub.GetTxTimestamp()
	if err != nil || ts == nil {
		return nil, internal("cannot read the transaction timestamp: %v", err)
	}
	if err := ts.CheckValid(); err != nil || ts.AsTime().UnixNano() <= 0 {
		return nil, invalidArg("timestamp", "transaction timestamp is not valid")
	}
	ch := stub.GetChannelID()
	ok := (ch == c.cfg.MarketChannel && where&onMarket != 0) || (ch == c.cfg.PaymentsChannel && where&onPayments != 0)
	if !ok {
		allowed := c.cfg.MarketChannel + " and " + c.cfg.PaymentsChannel
		switch where {
		case onMarket:
			allowed = c.cfg.MarketChannel
		case onPayments:
			allowed = c.cfg.PaymentsChannel
		}
		return nil, &Error{Code: CodeWrongChannel, Detail: "this function runs on channel " + allowed + ", not on " + ch}
	}
	return &txn{
		cfg: &c.cfg, books: c.books, stub: stub, org: org, now: ts.AsTime().UTC(), id: stub.GetTxID(), channel: ch,
		pending: map[string][]byte{}, bases: map[string]*baseBalance{}, folded: map[string]bool{},
		credits: map[string]*delta{}, escrows: map[string]*escrowAmount{},
	}, nil
}

// beginQuery is begin for a read-only function: one that never writes, so that its range
// scans may use pagination (Fabric refuses writes after a paginated query).
func (c *core) beginQuery(ctx contractapi.TransactionContextInterface, where channelSet) (*txn, error) {
	t, err := c.begin(ctx, where)
	if err != nil {
		return nil, err
	}
	t.readOnly = true
	return t, nil
}

func (t *txn) isRegulator() bool { return t.org == t.cfg.RegulatorMSP }

func (t *txn) onMarket() bool { return t.channel == t.cfg.MarketChannel }

// get returns the value of key as this transaction sees it (its own writes first).
func (t *txn) get(k string) ([]byte, error) {
	if v, ok := t.pending[k]; ok {
		return v, nil
	}
	v, err := t.stub.GetState(k)
	if err != nil {
		return nil, internal("read %s: %v", k, err)
	}
	return v, nil
}

// getJSON decodes the value of key into v; it reports false when the key is absent.
func (t *txn) getJSON(k string, v any) (bool, error) {
	b, err := t.get(k)
	if err != nil || b == nil {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, internal("decode %s: %v", k, err)
	}
	return true, nil
}

func (t *txn) put(k string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return internal("encode %s: %v", k, err)
	}
	t.pending[k] = b
	return nil
}

func (t *txn) del(k string) { t.pending[k] = nil }

// kv is one result of a range scan.
type kv struct {
	Key   string
	Value []byte
}

// scan returns the committed keys in [start, end) in order. It does not see this
// transaction's own writes; callers never scan a range they wrote before.
func (t *txn) scan(start, end string) ([]kv, error) {
	var out []kv
	err := t.each(start, end, func(r kv) (bool, error) {
		out = append(out, r)
		return true, nil
	})
	return out, err
}

// scanFirst returns the first committed keys in [start, end), fewer than the peer's
// QueryLimit: for a transaction that works through a range in order and may leave the rest
// to the next one (Match's intake, folding deltas).
func (t *txn) scanFirst(start, end string) ([]kv, error) {
	n := t.cfg.QueryLimit - 1
	var out []kv
	err := t.each(start, end, func(r kv) (bool, error) {
		out = append(out, r)
		return len(out) < n, nil
	})
	return out, err
}

// scanPrefix returns every committed key starting with p (which ends with the separator).
func (t *txn) scanPrefix(p string) ([]kv, error) { return t.scan(p, prefixEnd(p)) }

// event sets the transaction's single chaincode event.
func (t *txn) event(name string, payload any) { t.eventName, t.eventPayload = name, payload }

// flush writes balances, deltas, escrows and buffered keys in key order, then the event.
func (t *txn) flush() error {
	for _, k := range sortedKeys(t.bases) {
		if err := t.put(k, t.bases[k]); err != nil {
			return err
		}
	}
	for _, k := range sortedKeys(t.credits) {
		d := t.credits[k]
		if d.Available == 0 && d.Reserved == 0 {
			continue
		}
		if err := t.put(key(pDelta, k, t.id), d); err != nil {
			return err
		}
	}
	for _, k := range sortedKeys(t.escrows) {
		if e := t.escrows[k]; e.Amount == 0 {
			t.del(k)
		} else if err := t.put(k, e); err != nil {
			return err
		}
	}
	for _, k := range sortedKeys(t.pending) {
		var err error
		if v := t.pending[k]; v == nil {
			err = t.stub.DelState(k)
		} else {
			err = t.stub.PutState(k, v)
		}
		if err != nil {
			return internal("write %s: %v", k, err)
		}
	}
	if t.eventName != "" {
		b, err := json.Marshal(t.eventPayload)
		if err != nil {
			return internal("encode event: %v", err)
		}
		if err := t.stub.SetEvent(t.eventName, b); err != nil {
			return internal("set event: %v", err)
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// jsonString renders a result.
func jsonString(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", internal("encode result: %v", err)
	}
	return string(b), nil
}

// --- checked arithmetic ---------------------------------------------------------------------

func addI(a, b int64) (int64, bool) {
	s := a + b
	if (b > 0 && s < a) || (b < 0 && s > a) {
		return 0, false
	}
	return s, true
}

func mulI(a, b int64) (int64, bool) {
	if a < 0 || b < 0 {
		return 0, false
	}
	if a != 0 && b > math.MaxInt64/a {
		return 0, false
	}
	return a * b, true
}

// mul3 returns a×b×c for non-negative operands.
func mul3(a, b, c int64) (int64, bool) {
	x, ok := mulI(a, b)
	if !ok {
		return 0, false
	}
	return mulI(x, c)
}
