package contract

import (
	"strings"
	"testing"
	"time"

	"github.com/fabmarket/fabmarket/chaincode/internal/stubtest"
)

func submitFn(e *env, req string) func(tx *stubtest.Tx) (string, error) {
	return func(tx *stubtest.Tx) (string, error) { return e.ex.SubmitOrder(tx, req) }
}

func TestSubmitOrderValidation(t *testing.T) {
	e := newEnv(t)
	e.setup(AlgoFIFO)
	future := day.Add(time.Hour).Format(time.RFC3339)
	past := day.Add(-time.Hour).Format(time.RFC3339)
	tests := []struct {
		org, req, code, want string
	}{
		{org1, `{`, "INVALID_ARGUMENT", "field request"},
		{org1, `{"account":"b4","bogus":1}`, "INVALID_ARGUMENT", "unknown field"},
		{org1, `{"account":"b4"} {}`, "INVALID_ARGUMENT", "trailing data"},
		{org1, `{"account":"b4","symbol":"ACME","side":"BUY","type":"LIMIT","price":"20.30","quantity":1}`, "INVALID_ARGUMENT", "price"},
		{org2, `{"account":"b4","symbol":"ACME","side":"BUY","type":"LIMIT","price":1,"quantity":1}`, "FORBIDDEN", "belongs to Org1MSP"},
		{org1, `{"account":"nobody","symbol":"ACME"}`, "NOT_FOUND", "account nobody"},
		{org1, `{"account":"b4","symbol":"NOPE","side":"BUY"}`, "NOT_FOUND", "instrument NOPE"},
		{org1, `{"account":"b4","symbol":"ACME","side":"HOLD","type":"LIMIT","price":1,"quantity":1}`, "INVALID_ARGUMENT", "field side"},
		{org1, `{"account":"b4","symbol":"ACME","side":"BUY","type":"ICEBERG","price":1,"quantity":1}`, "INVALID_ARGUMENT", "field type"},
		{org1, `{"account":"b4","symbol":"ACME","side":"BUY","type":"LIMIT","timeInForce":"DAY","price":1,"quantity":1}`, "INVALID_ARGUMENT", "field timeInForce"},
		{org1, `{"account":"b4","symbol":"ACME","side":"BUY","type":"LIMIT","price":1,"quantity":0}`, "INVALID_ARGUMENT", "field quantity"},
		{org1, `{"account":"b4","symbol":"ACME","side":"BUY","type":"LIMIT","price":1,"quantity":2000000000}`, "INVALID_ARGUMENT", "field quantity"},
		{org1, `{"account":"b4","symbol":"ACME","side":"BUY","type":"LIMIT","quantity":1}`, "INVALID_ARGUMENT", "field price"},
		{org1, `{"account":"b4","symbol":"ACME","side":"BUY","type":"LIMIT","price":-5,"quantity":1}`, "INVALID_ARGUMENT", "field price"},
		{org1, `{"account":"b4","symbol":"ACME","side":"BUY","type":"LIMIT","price":2000000000,"quantity":1}`, "INVALID_ARGUMENT", "field price"},
		{org1, `{"account":"b4","symbol":"ACME","side":"SELL","type":"MARKET","price":5,"quantity":1}`, "INVALID_ARGUMENT", "field price"},
		{org1, `{"account":"b4","symbol":"ACME","side":"SELL","type":"STOP","quantity":1}`, "INVALID_ARGUMENT", "field stopPrice"},
		{org1, `{"account":"b4","symbol":"ACME","side":"SELL","type":"LIMIT","price":1,"stopPrice":3,"quantity":1}`, "INVALID_ARGUMENT", "field stopPrice"},
		{org1, `{"account":"b4","symbol":"ACME","side":"SELL","type":"MARKET","timeInForce":"GTC","quantity":1}`, "INVALID_ARGUMENT", "field timeInForce"},
		{org1, `{"account":"b4","symbol":"ACME","side":"BUY","type":"MARKET","quantity":1}`, "INVALID_ARGUMENT", "field maxNotional"},
		{org1, `{"account":"b4","symbol":"ACME","side":"BUY","type":"LIMIT","price":1,"quantity":1,"maxNotional":5}`, "INVALID_ARGUMENT", "field maxNotional"},
		{org1, `{"account":"b4","symbol":"ACME","side":"BUY","type":"LIMIT","timeInForce":"GTT","price":1,"quantity":1}`, "INVALID_ARGUMENT", "field expireTime: required"},
		{org1, `{"account":"b4","symbol":"ACME","side":"BUY","type":"LIMIT","timeInForce":"GTT","price":1,"quantity":1,"expireTime":"tomorrow"}`, "INVALID_ARGUMENT", "RFC 3339"},
		{org1, `{"account":"b4","symbol":"ACME","side":"BUY","type":"LIMIT","timeInForce":"GTT","price":1,"quantity":1,"expireTime":"` + past + `"}`, "INVALID_ARGUMENT", "not in the future"},
		{org1, `{"account":"b4","symbol":"ACME","side":"BUY","type":"LIMIT","price":1,"quantity":1,"expireTime":"` + future + `"}`, "INVALID_ARGUMENT", "only for timeInForce GTT"},
		{org1, `{"account":"b4","symbol":"ACME","clientOrderId":"a~b","side":"BUY","type":"LIMIT","price":1,"quantity":1}`, "INVALID_ARGUMENT", "field clientOrderId"},
		{org1, `{"account":"b4","symbol":"ACME","side":"BUY","type":"LIMIT","price":1000000,"quantity":1000}`, "INSUFFICIENT_FUNDS", "needed"},
		{org2, `{"account":"s1","symbol":"ACME","side":"SELL","type":"LIMIT","price":1,"quantity":1001}`, "INSUFFICIENT_FUNDS", "1000 ACME available"},
	}
	for _, tt := range tests {
		e.fail(tt.org, Code(tt.code), tt.want, submitFn(e, tt.req))
	}
	e.failOn(e.payments, org1, CodeWrongChannel, "market", submitFn(e, `{}`))
}

func TestSubmitOrderIdempotent(t *testing.T) {
	e := newEnv(t)
	e.setup(AlgoFIFO)
	req := limit("b4", "BUY", 2000, 10)
	req.ClientOrderID = "cli-1"
	first := e.submit(org1, req)
	out, tx, err := e.run(e.market, org1, submitFn(e, js(req)))
	if err != nil {
		t.Fatal(err)
	}
	if again := decode[*Order](t, out); again.OrderID != first.OrderID || len(tx.Writes()) != 0 {
		t.Fatalf("retry gave %s (first %s), writes %v", again.OrderID, first.OrderID, tx.Writes())
	}
	if b := e.bal(org1, "b4", "USD"); b.Reserved != 20_000 {
		t.Fatalf("reserved twice: %+v", b)
	}
	req.Quantity = 11
	e.fail(org1, CodeConflict, "already used by order "+first.OrderID, submitFn(e, js(req)))
	e.match("ACME")
	req.Quantity = 10
	if again := decode[*Order](t, e.ok(org1, submitFn(e, js(req)))); again.Status != "NEW" || again.OrderID != first.OrderID {
		t.Fatalf("retry after match %+v", again)
	}
}

func TestCancelOrder(t *testing.T) {
	e := newEnv(t)
	e.setup(AlgoFIFO)
	o := e.submit(org1, limit("b4", "BUY", 2000, 10))
	cancel := func(id string) func(tx *stubtest.Tx) (string, error) {
		return func(tx *stubtest.Tx) (string, error) { return e.ex.CancelOrder(tx, id) }
	}
	e.fail(org2, CodeForbidden, "belongs to account b4", cancel(o.OrderID))
	e.fail(org1, CodeNotFound, "does not exist", cancel("nope"))
	// Canceled while still in intake: the next Match accepts it, then cancels it.
	e.ok(org1, cancel(o.OrderID))
	r := e.match("ACME")
	if r.Processed != 2 || len(r.OrderUpdates) != 2 || r.OrderUpdates[1].Status != "CANCELED" {
		t.Fatalf("match %+v", r)
	}
	if b := e.bal(org1, "b4", "USD"); b.Reserved != 0 || b.Available != 100_000_000 {
		t.Fatalf("reservation not released: %+v", b)
	}
	// A cancel of an order that already ended is consumed without effect.
	e.ok(org1, cancel(o.OrderID))
	if r := e.match("ACME"); r.Processed != 1 || len(r.OrderUpdates) != 0 {
		t.Fatalf("second cancel %+v", r)
	}
	// A cancel whose order no Match has taken yet (a later epoch) waits.
	e.now = e.now.Add(3 * time.Second)
	late := e.market.NewTx(org1, e.now.Add(10*time.Second)) // a skewed client clock
	if _, err := e.ex.SubmitOrder(late, js(limit("b4", "BUY", 1999, 1))); err != nil {
		t.Fatal(err)
	}
	if err := late.Commit(); err != nil {
		t.Fatal(err)
	}
	e.ok(org1, cancel(late.GetTxID()))
	if r := e.match("ACME"); r.Deferred != 1 || r.Processed != 0 {
		t.Fatalf("deferred cancel %+v", r)
	}
	e.now = e.now.Add(10 * time.Second)
	if r := e.match("ACME"); r.Processed != 2 || r.Deferred != 0 || r.OrderUpdates[len(r.OrderUpdates)-1].Status != "CANCELED" {
		t.Fatalf("late cancel %+v", r)
	}
	e.audit(e.market)
}

func TestReplaceOrder(t *testing.T) {
	e := newEnv(t)
	e.setup(AlgoFIFO)
	a := e.submit(org1, limit("b4", "BUY", 2000, 100))
	b := e.submit(org1, limit("b5", "BUY", 2000, 100))
	e.match("ACME")
	replace := func(org, id, req string) func(tx *stubtest.Tx) (string, error) {
		return func(tx *stubtest.Tx) (string, error) { return e.ex.ReplaceOrder(tx, id, req) }
	}
	e.fail(org2, CodeForbidden, "belongs to account b4", replace(org2, a.OrderID, `{"quantity":50}`))
	e.fail(org1, CodeInvalidArgument, "give a new", replace(org1, a.OrderID, `{}`))
	e.fail(org1, CodeInvalidArgument, "field stopPrice", replace(org1, a.OrderID, `{"stopPrice":5}`))
	e.fail(org1, CodeInvalidArgument, "field price", replace(org1, a.OrderID, `{"price":-1}`))
	e.fail(org1, CodeInsufficientFunds, "needed", replace(org1, a.OrderID, `{"price":2000000,"quantity":100}`))
	// Reduce a's quantity: no extra reservation, priority kept.
	rq := decode[pendingRequest](t, e.ok(org1, replace(org1, a.OrderID, `{"quantity":40}`)))
	if rq.Extra != 0 || rq.Quantity != 40 || rq.Price != 2000 {
		t.Fatalf("request %+v", rq)
	}
	// Raise b's price: the new terms are reserved in full until Match applies them.
	rq = decode[pendingRequest](t, e.ok(org1, replace(org1, b.OrderID, `{"price":2010}`)))
	if rq.Extra != 2010*100 {
		t.Fatalf("request %+v", rq)
	}
	if bb := e.bal(org1, "b5", "USD"); bb.Reserved != 200_000+201_000 {
		t.Fatalf("b5 reserved %+v", bb)
	}
	e.match("ACME")
	if o := e.order(org1, a.OrderID); o.Quantity != 40 || o.Seq != 1 || o.Reserved != 80_000 {
		t.Fatalf("a after replace %+v", o)
	}
	if o := e.order(org1, b.OrderID); o.Price != 2010 || o.Seq != 3 || o.Reserved != 201_000 {
		t.Fatalf("b after replace %+v", o)
	}
	if bb := e.bal(org1, "b5", "USD"); bb.Reserved != 201_000 || bb.Available != 100_000_000-201_000 {
		t.Fatalf("b5 after replace %+v", bb)
	}
	if v := e.bookView("ACME"); v.Bids[0].Price != 2010 || v.Bids[1].Quantity != 40 {
		t.Fatalf("book %+v", v)
	}
	// A sell fills b first (better price), then a; a replace to a quantity at or below the
	// filled lots cancels.
	e.submit(org2, limit("s1", "SELL", 2000, 110))
	e.match("ACME")
	e.ok(org1, replace(org1, a.OrderID, `{"quantity":5}`))
	e.match("ACME")
	if o := e.order(org1, a.OrderID); o.Status != "CANCELED" || o.Reason != "replaced" || o.Reserved != 0 {
		t.Fatalf("a %+v", o)
	}
	e.fail(org1, CodeConflict, "is CANCELED", replace(org1, a.OrderID, `{"quantity":50}`))
	if bb := e.bal(org1, "b4", "USD"); bb.Reserved != 0 || bb.Available != 100_000_000-10*2000 {
		t.Fatalf("b4 %+v", bb)
	}
	e.audit(e.market)
}

// TestOrderTypes: market buy with a cash cap, FOK kill, IOC remainder, GTT expiry, stop
// trigger, self-trade prevention, each releasing exactly its reservation.
func TestOrderTypes(t *testing.T) {
	e := newEnv(t)
	e.setup(AlgoFIFO)
	e.submit(org2, limit("s1", "SELL", 1000, 10))
	e.submit(org2, limit("s2", "SELL", 1100, 10))
	e.match("ACME")

	// MARKET BUY with a cap of 15,000 cents: 10 @ 1000, then 4 @ 1100 (4,400 ≤ 5,000).
	mb := e.submit(org1, OrderRequest{Account: "b4", Symbol: "ACME", Side: "BUY", Type: "MARKET", Quantity: 20, MaxNotional: 15_000})
	if mb.TimeInForce != "IOC" || mb.Reserved != 15_000 {
		t.Fatalf("market buy %+v", mb)
	}
	r := e.match("ACME")
	if len(r.Trades) != 2 || r.Trades[1].Quantity != 4 {
		t.Fatalf("market buy trades %+v", r.Trades)
	}
	if o := e.order(org1, mb.OrderID); o.Status != "CANCELED" || o.Reason != "notional-cap" || o.FilledCash != 14_400 {
		t.Fatalf("market buy %+v", o)
	}
	if b := e.bal(org1, "b4", "USD"); b.Reserved != 0 || b.Available != 100_000_000-14_400 {
		t.Fatalf("b4 %+v", b)
	}

	// FOK for more than the book holds: killed, nothing filled, all released.
	fok := limit("b5", "BUY", 1100, 7)
	fok.TimeInForce = "FOK"
	f := e.submit(org1, fok)
	// IOC: 6 fill, the rest canceled.
	ioc := limit("b6", "BUY", 1100, 8)
	ioc.TimeInForce = "IOC"
	i := e.submit(org1, ioc)
	e.match("ACME")
	if o := e.order(org1, f.OrderID); o.Status != "CANCELED" || o.Reason != "fok-unfilled" || o.FilledQuantity != 0 {
		t.Fatalf("fok %+v", o)
	}
	if o := e.order(org1, i.OrderID); o.Status != "CANCELED" || o.FilledQuantity != 6 || o.Reason != "ioc-remainder" {
		t.Fatalf("ioc %+v", o)
	}
	for _, acct := range []string{"b5", "b6"} {
		if b := e.bal(org1, acct, "USD"); b.Reserved != 0 {
			t.Fatalf("%s %+v", acct, b)
		}
	}

	// GTT expires at its time.
	gtt := limit("b7", "BUY", 900, 5)
	gtt.TimeInForce, gtt.ExpireTime = "GTT", e.now.Add(5*time.Second).Format(time.RFC3339Nano)
	g := e.submit(org1, gtt)
	e.match("ACME")
	if o := e.order(org1, g.OrderID); o.Status != "NEW" {
		t.Fatalf("gtt %+v", o)
	}
	e.match("ACME")
	if o := e.order(org1, g.OrderID); o.Status != "EXPIRED" || o.Reserved != 0 {
		t.Fatalf("gtt %+v", o)
	}

	// STOP SELL at 1050 triggers when a trade prints at or below it.
	st := e.submit(org2, OrderRequest{Account: "s3", Symbol: "ACME", Side: "SELL", Type: "STOP", StopPrice: 1050, Quantity: 3})
	e.submit(org1, limit("b7", "BUY", 1040, 5))
	e.match("ACME")
	if o := e.order(org2, st.OrderID); o.Status != "NEW" || o.Location != "STOP_BOOK" {
		t.Fatalf("stop waiting %+v", o)
	}
	e.submit(org2, limit("s1", "SELL", 1040, 1)) // prints 1040 → the stop sells 3 into b7's bid
	r = e.match("ACME")
	if o := e.order(org2, st.OrderID); o.Status != "FILLED" || o.FilledCash != 3*1040 {
		t.Fatalf("stop after trigger %+v (match %+v)", o, r)
	}

	// Self-trade prevention: b7 sells into its own bid → the newer order is canceled.
	e.deposit(org1, "b7", "ACME", 1)
	self := e.submit(org1, limit("b7", "SELL", 1040, 1))
	e.match("ACME")
	if o := e.order(org1, self.OrderID); o.Status != "CANCELED" || o.Reason != "self-trade" {
		t.Fatalf("self trade %+v", o)
	}
	e.audit(e.market)
}

func TestMatchWorkCap(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxMatchFills, cfg.MaxMatchInputs = 2, 3
	e := newEnvCfg(t, cfg)
	e.setup(AlgoFIFO)
	for i := 0; i < 4; i++ {
		e.submit(org2, limit("s1", "SELL", 1000+int64(i), 1))
	}
	r := e.match("ACME")
	if r.Processed != 3 || !r.More {
		t.Fatalf("first %+v", r)
	}
	big := e.submit(org1, limit("b4", "BUY", 2000, 10))
	r = e.match("ACME")
	if r.Processed != 2 || len(r.Trades) != 2 || !r.More {
		t.Fatalf("second %+v", r)
	}
	if o := e.order(org1, big.OrderID); o.Location != "QUEUE" || o.Status != "PARTIALLY_FILLED" {
		t.Fatalf("paused taker %+v", o)
	}
	r = e.match("ACME")
	if len(r.Trades) != 2 || r.More {
		t.Fatalf("third %+v", r)
	}
	if o := e.order(org1, big.OrderID); o.Location != "BOOK" || o.FilledQuantity != 4 || o.Reserved != 6*2000 {
		t.Fatalf("resumed taker %+v", o)
	}
	e.audit(e.market)
}

func TestProRataBook(t *testing.T) {
	e := newEnv(t)
	e.setup(AlgoProRata)
	a := e.submit(org2, limit("s1", "SELL", 2030, 100))
	b := e.submit(org2, limit("s3", "SELL", 2030, 200))
	e.submit(org1, limit("b7", "BUY", 2030, 150))
	e.match("ACME")
	if o := e.order(org2, a.OrderID); o.FilledQuantity != 50 {
		t.Fatalf("a %+v", o)
	}
	if o := e.order(org2, b.OrderID); o.FilledQuantity != 100 {
		t.Fatalf("b %+v", o)
	}
	e.audit(e.market)
}

func TestOrderQueries(t *testing.T) {
	e := newEnv(t)
	e.setup(AlgoFIFO)
	var ids []string
	for i := 0; i < 5; i++ {
		ids = append(ids, e.submit(org1, limit("b4", "BUY", 1000+int64(i), 1)).OrderID)
	}
	e.submit(org2, limit("s1", "SELL", 1004, 1))
	e.match("ACME")
	list := func(org, acct, sym, status, after, lim string) func(tx *stubtest.Tx) (string, error) {
		return func(tx *stubtest.Tx) (string, error) { return e.ex.ListOrders(tx, acct, sym, status, after, lim) }
	}
	p := decode[OrderPage](t, e.ok(org1, list(org1, "b4", "", "", "", "2")))
	if len(p.Orders) != 2 || p.Orders[0].OrderID != ids[0] || p.Next == "" {
		t.Fatalf("page 1 %+v", p)
	}
	p = decode[OrderPage](t, e.ok(org1, list(org1, "b4", "ACME", "NEW", p.Next, "10")))
	if len(p.Orders) != 2 || p.Orders[0].OrderID != ids[2] || p.Next != "" {
		t.Fatalf("page 2 (NEW only) %+v", p)
	}
	p = decode[OrderPage](t, e.ok(reg, list(reg, "b4", "", "FILLED", "", "")))
	if len(p.Orders) != 1 || p.Orders[0].OrderID != ids[4] {
		t.Fatalf("filled %+v", p)
	}
	p = decode[OrderPage](t, e.ok(org1, list(org1, "b4", "OTHER", "", "", "")))
	if len(p.Orders) != 0 {
		t.Fatalf("other symbol %+v", p)
	}
	e.fail(org2, CodeForbidden, "b4", list(org2, "b4", "", "", "", ""))
	e.fail(org1, CodeInvalidArgument, "field status", list(org1, "b4", "", "DONE", "", ""))
	e.fail(org1, CodeInvalidArgument, "field limit", list(org1, "b4", "", "", "", "0"))
	e.fail(org1, CodeInvalidArgument, "field after", list(org1, "b4", "", "", "x", ""))
	e.fail(org2, CodeForbidden, "belongs to Org1MSP", func(tx *stubtest.Tx) (string, error) { return e.ex.GetOrder(tx, ids[0]) })
	e.fail(org1, CodeNotFound, "does not exist", func(tx *stubtest.Tx) (string, error) { return e.ex.GetOrder(tx, "x") })
	e.fail(org1, CodeInvalidArgument, "field depth", func(tx *stubtest.Tx) (string, error) { return e.ex.GetBook(tx, "ACME", "0") })
	e.fail(org1, CodeNotFound, "not listed", func(tx *stubtest.Tx) (string, error) { return e.ex.GetBook(tx, "NOPE", "") })
	e.fail(org1, CodeInvalidArgument, "field after", func(tx *stubtest.Tx) (string, error) { return e.ex.ListTrades(tx, "ACME", "OTHER-1", "") })
	e.fail(org1, CodeNotFound, "not listed", func(tx *stubtest.Tx) (string, error) { return e.ex.Match(tx, "NOPE") })
	v := decode[BookView](t, e.ok(org1, func(tx *stubtest.Tx) (string, error) { return e.ex.GetBook(tx, "ACME", "2") }))
	if len(v.Bids) != 2 || v.Bids[0].Price != 1003 || len(v.Asks) != 0 {
		t.Fatalf("depth 2 %+v", v)
	}
	if !strings.Contains(js(v), `"asks":[]`) {
		t.Fatalf("empty side must be [] not null: %s", js(v))
	}
}
