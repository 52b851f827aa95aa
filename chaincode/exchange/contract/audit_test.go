package contract

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fabmarket/fabmarket/chaincode/exchange/settle"
	"github.com/fabmarket/fabmarket/chaincode/internal/stubtest"
)

// auditScenario builds a market ledger with trades (a partial fill resting), a cancel, a
// pending replace with extra reservation, a settled and an open agreement, a withdrawal.
func auditScenario(t *testing.T) *env { return auditScenarioOn(t, newEnv(t)) }

// auditScenarioOn builds the audit scenario on e.
func auditScenarioOn(t *testing.T, e *env) *env {
	e.setup(AlgoFIFO)
	e.submit(org2, OrderRequest{Account: "s1", Symbol: "ACME", ClientOrderID: "a1", Side: "SELL", Type: "LIMIT", Price: 1000, Quantity: 5})
	e.submit(org1, OrderRequest{Account: "b4", Symbol: "ACME", ClientOrderID: "b1", Side: "BUY", Type: "LIMIT", Price: 1010, Quantity: 8})
	keep := e.submit(org2, OrderRequest{Account: "s2", Symbol: "ACME", ClientOrderID: "a2", Side: "SELL", Type: "LIMIT", Price: 1200, Quantity: 4})
	e.match("ACME")
	e.ok(org2, func(tx *stubtest.Tx) (string, error) { return e.ex.CancelOrder(tx, keep.OrderID) })
	e.match("ACME")
	rest := e.submit(org2, OrderRequest{Account: "s3", Symbol: "ACME", ClientOrderID: "a3", Side: "SELL", Type: "LIMIT", Price: 1300, Quantity: 2})
	e.match("ACME")
	e.ok(org2, func(tx *stubtest.Tx) (string, error) { return e.ex.ReplaceOrder(tx, rest.OrderID, `{"quantity":6}`) })
	e.ok(org1, func(tx *stubtest.Tx) (string, error) { return e.ex.Withdraw(tx, "b5", "USD", "1000") })

	deadline := e.now.Add(time.Hour)
	for _, id := range []string{"agr-1", "agr-2"} {
		e.agr(org1, func(tx *stubtest.Tx) (string, error) { return e.st.Propose(tx, proposeReq(id, 3, deadline, false, "")) })
		e.agr(org2, func(tx *stubtest.Tx) (string, error) { return e.st.Affirm(tx, id) })
		e.agr(org2, func(tx *stubtest.Tx) (string, error) { return e.st.Fund(tx, id, "seller", "") })
	}
	a := e.agr(org1, func(tx *stubtest.Tx) (string, error) { return e.st.Fund(tx, "agr-1", "buyer", "") })
	if a.Status != settle.StatusSettled {
		t.Fatalf("agr-1 %+v", a)
	}
	return e
}

func TestAuditLedgerReconciles(t *testing.T) {
	e := auditScenario(t)
	a := e.auditLedger(e.market, "b")
	if !a.OK || len(a.Problems) != 0 {
		t.Fatalf("audit %v %v", a.Mismatches, a.Problems)
	}
	if a.Trades != 1 || a.Orders != 4 || a.ClientIDs != 4 || a.Accounts != 7 {
		t.Fatalf("counts: trades %d orders %d cids %d accounts %d", a.Trades, a.Orders, a.ClientIDs, a.Accounts)
	}
	if a.OrderStatus["FILLED"] != 1 || a.OrderStatus["PARTIALLY_FILLED"] != 1 || a.OrderStatus["CANCELED"] != 1 || a.OrderStatus["NEW"] != 1 {
		t.Fatalf("order statuses %v", a.OrderStatus)
	}
	if a.Agreements["SETTLED"] != 1 || a.Agreements["FUNDING"] != 1 || a.OpenExpired != 0 {
		t.Fatalf("agreements %v, open expired %d", a.Agreements, a.OpenExpired)
	}
	b4 := a.Detail["b4"]
	if len(a.Detail) != 4 || b4 == nil || b4["ACME"].Traded != 5 || b4["ACME"].Settled != 3 || b4["USD"].Expected != b4["USD"].Held {
		t.Fatalf("detail %+v", a.Detail)
	}
	if a.Detail["b5"]["USD"].Withdrawn != 1000 {
		t.Fatalf("b5 %+v", a.Detail["b5"]["USD"])
	}
	if !e.auditLedger(e.payments, "").OK {
		t.Fatal("payments audit fails")
	}
	// Past the deadline the open agreement is counted; expiring it refunds and closes it.
	e.at(e.now.Add(2 * time.Hour))
	if a := e.auditLedger(e.market, ""); a.OpenExpired != 1 || !a.OK {
		t.Fatalf("open expired %d ok %v", a.OpenExpired, a.OK)
	}
	e.agr(org2, func(tx *stubtest.Tx) (string, error) { return e.st.Expire(tx, "agr-2") })
	if a := e.auditLedger(e.market, ""); a.OpenExpired != 0 || !a.OK || a.Agreements["EXPIRED"] != 1 {
		t.Fatalf("after expiry %+v", a)
	}
	e.fail(org1, CodeForbidden, "only RegulatorMSP audits", func(tx *stubtest.Tx) (string, error) { return e.ex.AuditLedger(tx, "") })
}

// TestAuditLedgerFindsTampering changes the ledger behind the contract's back, one way at a
// time, and expects the check named to find it.
func TestAuditLedgerFindsTampering(t *testing.T) {
	cases := []struct {
		name   string
		kind   string
		tamper func(e *env)
	}{
		{"trade applied twice", "flow", func(e *env) {
			// A second copy of the delta that credited the buyer's shares.
			for _, k := range e.market.Keys("dl~b4~ACME~") {
				e.market.Put(k+"x", e.market.Get(k))
				return
			}
			t.Fatal("no delta of b4 ACME")
		}},
		{"trade recorded twice", "fill", func(e *env) {
			k := e.market.Keys("tr~ACME~")[0]
			e.market.Put(strings.Replace(k, "~000", "~900", 1), e.market.Get(k))
		}},
		{"deposit created from nothing", "asset", func(e *env) {
			e.market.Put("bal~b6~USD", []byte(`{"available":100000000,"reserved":0,"deposited":100000000,"withdrawn":0}`+" "))
			e.market.Put("dl~b6~USD~forged", []byte(`{"available":1,"reserved":0}`))
		}},
		{"duplicate clientOrderId", "clientOrderId", func(e *env) {
			k := e.market.Keys("ord~")[0]
			v := string(e.market.Get(k))
			e.market.Put(k+"dup", []byte(strings.Replace(v, `"orderId":"`, `"orderId":"dup`, 1)))
		}},
		{"escrow left in a settled agreement", "escrow", func(e *env) {
			e.market.Put("esc~s1~ACME~A:agr-1", []byte(`{"amount":3}`))
		}},
		{"escrow of an open agreement lost", "escrow", func(e *env) {
			e.market.Put("esc~s1~ACME~A:agr-2", []byte(`{"amount":2}`))
		}},
		{"reservation without an order", "reserved", func(e *env) {
			e.market.Put("bal~b7~USD", []byte(`{"available":99999000,"reserved":1000,"deposited":100000000,"withdrawn":0}`))
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := auditScenario(t)
			c.tamper(e)
			a := e.auditLedger(e.market, "")
			if a.OK || a.Mismatches[c.kind] == 0 {
				t.Fatalf("not found: ok %v mismatches %v problems %v", a.OK, a.Mismatches, a.Problems)
			}
		})
	}
}

// TestScansPastThePeersQueryLimit runs the audit scenario on a ledger that cuts every range
// scan at 10 keys, as a peer's totalQueryLimit does, and piles up resting orders: a
// transaction that writes fails loudly instead of matching a truncated book, and the
// read-only functions page past the limit (the audit counts every order).
func TestScansPastThePeersQueryLimit(t *testing.T) {
	cfg := DefaultConfig()
	cfg.QueryLimit, cfg.PageSize = 10, 4
	e := newEnvCfg(t, cfg)
	e.market.QueryLimit, e.payments.QueryLimit = 10, 10
	auditScenarioOn(t, e)
	before := e.auditLedger(e.market, "b")

	// Resting orders pile up four at a time until Match's scan of the book reaches the
	// limit: that Match fails (writing nothing) rather than matching a truncated book.
	deep := 0
	for batch := 0; ; batch++ {
		if batch == 5 {
			t.Fatal("Match never reached the query limit")
		}
		for i := range 4 {
			e.submit(org2, OrderRequest{Account: "s1", Symbol: "ACME", ClientOrderID: fmt.Sprintf("deep-%d-%d", batch, i), Side: "SELL", Type: "LIMIT", Price: int64(2000 + i), Quantity: 1})
			deep++
		}
		e.at(e.now.Add(3 * time.Second))
		_, _, err := e.run(e.market, org3, func(tx *stubtest.Tx) (string, error) { return e.ex.Match(tx, "ACME") })
		if err == nil {
			continue
		}
		if CodeOf(err) != CodeInternal || !strings.Contains(err.Error(), "query limit") {
			t.Fatalf("Match on a book at the query limit: %v", err)
		}
		break
	}
	after := e.auditLedger(e.market, "b")
	if !after.OK || after.Orders != before.Orders+deep || after.ClientIDs != before.ClientIDs+deep || deep < 10 {
		t.Fatalf("audit past the limit: ok %v, orders %d, clientOrderIds %d; want %d more than %d and %d (%v)",
			after.OK, after.Orders, after.ClientIDs, deep, before.Orders, before.ClientIDs, after.Problems)
	}
	list := decode[struct{ Orders []*Order }](t, e.ok(org2, func(tx *stubtest.Tx) (string, error) {
		return e.ex.ListOrders(tx, "s1", "", "", "", "1000")
	}))
	if len(list.Orders) != deep+1 {
		t.Fatalf("ListOrders s1 past the limit: %d orders, want %d", len(list.Orders), deep+1)
	}
}
