package api

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeLedger is an in-memory Ledger: two instruments, a few accounts of two orgs, and error
// injection per method name.
type fakeLedger struct {
	mu       sync.Mutex
	ins      map[string]Instrument
	accounts map[string]Account
	orders   map[string]Order
	keys     map[string]string // idempotency key → fingerprint
	writes   []string          // write methods called, in order
	errs     map[string]error  // method → error to return
	panicOn  string
	commit   bool         // writes report Committed when Wait is set
	nums     *fakeNumbers // numbers chaincode state (numbers_fake_test.go), made on first use
	dvp      *fakeDvP     // settlement and htlc state (settlements_fake_test.go), made on first use
}

func newFake() *fakeLedger {
	return &fakeLedger{
		ins: map[string]Instrument{
			"ACME": {Symbol: "ACME", Currency: "USD", TickSize: "0.01", LotSize: "1", Algorithm: "FIFO"},
			"BOND": {Symbol: "BOND", Currency: "EUR", TickSize: "0.05", LotSize: "10", Algorithm: "FIFO"},
		},
		accounts: map[string]Account{
			"a1": {ID: "a1", Org: "Org1MSP", Balances: map[string]Balance{"USD": {Available: 123456, Reserved: 100}, "ACME": {Available: 7, Reserved: 3}}},
			"b2": {ID: "b2", Org: "Org2MSP", Balances: map[string]Balance{}},
		},
		orders: map[string]Order{
			"o1": {OrderRequest: OrderRequest{ClientOrderID: "c1", Account: "a1", Symbol: "ACME", Side: "BUY", Type: "LIMIT", TimeInForce: "GTC", Quantity: 10, Price: 2030},
				OrderID: "o1", Org: "Org1MSP", Status: "PARTIALLY_FILLED", FilledQuantity: 3, FilledNotional: 6085},
			"o2": {OrderRequest: OrderRequest{Account: "b2", Symbol: "ACME", Side: "SELL", Type: "LIMIT", Quantity: 1, Price: 1},
				OrderID: "o2", Org: "Org2MSP", Status: "NEW"},
		},
		keys:   map[string]string{},
		errs:   map[string]error{},
		commit: true,
	}
}

const testTx = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

func (f *fakeLedger) check(method string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.panicOn == method {
		panic("injected")
	}
	return f.errs[method]
}

func (f *fakeLedger) write(method string, w Write) (Receipt, error) {
	if err := f.check(method); err != nil {
		return Receipt{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if w.IdempotencyKey != "" {
		if fp, ok := f.keys[w.IdempotencyKey]; ok && fp != w.Fingerprint {
			return Receipt{}, NewError(CodeIdempotencyReuse, "reused")
		}
		f.keys[w.IdempotencyKey] = w.Fingerprint
	}
	f.writes = append(f.writes, method)
	return Receipt{TxID: testTx, Committed: w.Wait && f.commit, Block: 7}, nil
}

func (f *fakeLedger) writeCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.writes)
}

func (f *fakeLedger) Ready(context.Context) error { return f.check("Ready") }

func (f *fakeLedger) Instruments(context.Context) ([]Instrument, error) {
	if err := f.check("Instruments"); err != nil {
		return nil, err
	}
	return []Instrument{f.ins["ACME"], f.ins["BOND"]}, nil
}

func (f *fakeLedger) Instrument(_ context.Context, s string) (Instrument, error) {
	if err := f.check("Instrument"); err != nil {
		return Instrument{}, err
	}
	in, ok := f.ins[s]
	if !ok {
		return Instrument{}, NewError(CodeNotFound, "instrument %s is not listed", s)
	}
	return in, nil
}

func (f *fakeLedger) Account(_ context.Context, id string) (Account, error) {
	if err := f.check("Account"); err != nil {
		return Account{}, err
	}
	a, ok := f.accounts[id]
	if !ok {
		return Account{}, NewError(CodeNotFound, "account %s does not exist", id)
	}
	return a, nil
}

func (f *fakeLedger) Order(_ context.Context, id string) (Order, error) {
	if err := f.check("Order"); err != nil {
		return Order{}, err
	}
	o, ok := f.orders[id]
	if !ok {
		return Order{}, NewError(CodeNotFound, "order %s does not exist", id)
	}
	return o, nil
}

func (f *fakeLedger) Orders(_ context.Context, flt OrderFilter) ([]Order, error) {
	if err := f.check("Orders"); err != nil {
		return nil, err
	}
	var out []Order
	for _, id := range []string{"o1", "o2"} {
		if o := f.orders[id]; o.Account == flt.Account {
			out = append(out, o)
		}
	}
	return out, nil
}

func (f *fakeLedger) OrderBook(_ context.Context, s string, depth int) (Book, error) {
	if err := f.check("OrderBook"); err != nil {
		return Book{}, err
	}
	return Book{Symbol: s, Bids: []Level{{2030, 5, 2}, {2025, 1, 1}}, Asks: []Level{{2035, 4, 1}}}, nil
}

func (f *fakeLedger) Trades(_ context.Context, s, after string, limit int) ([]Trade, error) {
	if err := f.check("Trades"); err != nil {
		return nil, err
	}
	return []Trade{{TradeID: s + "-1", Symbol: s, Price: 2030, Quantity: 3, BuyOrderID: "o1", SellOrderID: "o9",
		Time: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), TxID: testTx}}, nil
}

func (f *fakeLedger) Transaction(_ context.Context, id string) (TxStatus, error) {
	if err := f.check("Transaction"); err != nil {
		return TxStatus{}, err
	}
	if id == testTx {
		return TxStatus{TxID: id, Status: TxValid, ValidationCode: "VALID", BlockNumber: 7}, nil
	}
	return TxStatus{TxID: id, Status: TxPending}, nil
}

func (f *fakeLedger) CreateInstrument(_ context.Context, in Instrument, w Write) (Instrument, Receipt, error) {
	r, err := f.write("CreateInstrument", w)
	return in, r, err
}

func (f *fakeLedger) OpenAccount(_ context.Context, id string, w Write) (Account, Receipt, error) {
	r, err := f.write("OpenAccount", w)
	return Account{ID: id, Org: "Org1MSP"}, r, err
}

func (f *fakeLedger) Deposit(_ context.Context, m Movement, w Write) (Receipt, error) {
	return f.write("Deposit", w)
}

func (f *fakeLedger) Withdraw(_ context.Context, m Movement, w Write) (Receipt, error) {
	return f.write("Withdraw", w)
}

func (f *fakeLedger) PlaceOrder(_ context.Context, o OrderRequest, w Write) (Order, Receipt, error) {
	r, err := f.write("PlaceOrder", w)
	return Order{OrderRequest: o, OrderID: r.TxID, Status: "NEW", TxID: r.TxID}, r, err
}

func (f *fakeLedger) CancelOrder(_ context.Context, o Order, w Write) (Receipt, error) {
	return f.write("CancelOrder", w)
}

func (f *fakeLedger) ReplaceOrder(_ context.Context, o Order, q, p int64, w Write) (Receipt, error) {
	return f.write("ReplaceOrder", w)
}

func (f *fakeLedger) Match(_ context.Context, s string, w Write) (MatchResult, Receipt, error) {
	r, err := f.write("Match", w)
	return MatchResult{Symbol: s, Trades: 2}, r, err
}

// Test keys.
const (
	key1   = "key-org1-0123456789"
	key2   = "key-org2-0123456789"
	keyReg = "key-regulator-0123456789"
)

type mapKeys map[string]string

func (m mapKeys) Org(k string) (string, bool) { o, ok := m[k]; return o, ok }

var testKeys = mapKeys{key1: "org1", key2: "org2", keyReg: "regulator"}

// harness is a gateway of org over a fake ledger.
type harness struct {
	t      *testing.T
	h      http.Handler
	ledger *fakeLedger
}

func newHarness(t *testing.T, org string) *harness {
	t.Helper()
	f := newFake()
	h, err := New(Config{Ledger: f, Keys: testKeys, Org: org, MaxBody: 2048, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, h: h, ledger: f}
}

// do sends a request; key "" sends no Authorization header.
func (h *harness) do(method, path, key, body string, headers ...string) *httptest.ResponseRecorder {
	h.t.Helper()
	var r *http.Request
	if body == "" {
		r = httptest.NewRequest(method, path, nil)
	} else {
		r = httptest.NewRequest(method, path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		r.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	h.h.ServeHTTP(w, r)
	return w
}
