package contract

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fabmarket/fabmarket/chaincode/internal/stubtest"
)

// fuzzOrgs are the callers a fuzz input may pick: the four members, an unknown MSP and none.
var fuzzOrgs = []string{org1, org2, org3, reg, "EvilMSP", ""}

// fuzzEnv is the state every contract fuzz input starts from: ACME listed, sellers s1..s3 at
// Org2 with shares and buyers b4..b7 at Org1 with cash on market, b4 (Org1) and s1 (Org2)
// with 100.00 USD on payments, and one resting order of b4.
func fuzzEnv(t *testing.T) *env {
	e := newEnv(t)
	e.setup(AlgoFIFO)
	for _, a := range []struct{ org, id string }{{org1, "b4"}, {org2, "s1"}} {
		for _, fn := range []func(tx *stubtest.Tx) (string, error){
			func(tx *stubtest.Tx) (string, error) { return e.ex.OpenAccount(tx, a.id) },
			func(tx *stubtest.Tx) (string, error) { return e.ex.Deposit(tx, a.id, "USD", "10000") },
		} {
			if _, _, err := e.run(e.payments, a.org, fn); err != nil {
				t.Fatal(err)
			}
		}
	}
	e.submit(org1, OrderRequest{Account: "b4", Symbol: "ACME", ClientOrderID: "rest-1", Side: "BUY", Type: "LIMIT", TimeInForce: "GTC", Price: 2000, Quantity: 5})
	return e
}

// fuzzLockReq is the JSON argument of HTLC Lock.
func fuzzLockReq(id, asset string, amount int64, sender, receiver, hash, timelock string) string {
	return fmt.Sprintf(`{"htlcId":%q,"asset":%q,"amount":%d,"sender":%q,"receiver":%q,"hashlock":%q,"timelock":%q}`,
		id, asset, amount, sender, receiver, hash, timelock)
}

// fuzzCall is one contract function of external input, fed the fuzzed request string.
type fuzzCall struct {
	name    string
	payment bool // runs on payments instead of market
	fn      func(e *env, tx *stubtest.Tx, req, arg string) (string, error)
}

var fuzzCalls = []fuzzCall{
	{"SubmitOrder", false, func(e *env, tx *stubtest.Tx, req, _ string) (string, error) { return e.ex.SubmitOrder(tx, req) }},
	{"ReplaceOrder", false, func(e *env, tx *stubtest.Tx, req, arg string) (string, error) { return e.ex.ReplaceOrder(tx, arg, req) }},
	{"Propose", false, func(e *env, tx *stubtest.Tx, req, _ string) (string, error) { return e.st.Propose(tx, req) }},
	{"LockMarket", false, func(e *env, tx *stubtest.Tx, req, _ string) (string, error) { return e.ht.Lock(tx, req) }},
	{"LockPayments", true, func(e *env, tx *stubtest.Tx, req, _ string) (string, error) { return e.ht.Lock(tx, req) }},
	{"Deposit", false, func(e *env, tx *stubtest.Tx, req, arg string) (string, error) {
		return e.ex.Deposit(tx, "b4", arg, req)
	}},
	{"Withdraw", false, func(e *env, tx *stubtest.Tx, req, arg string) (string, error) {
		return e.ex.Withdraw(tx, "s1", arg, req)
	}},
	{"OpenAccount", false, func(e *env, tx *stubtest.Tx, req, _ string) (string, error) { return e.ex.OpenAccount(tx, req) }},
	{"ListInstrument", false, func(e *env, tx *stubtest.Tx, req, arg string) (string, error) {
		return e.ex.ListInstrument(tx, arg, "USD", req, "1", AlgoFIFO)
	}},
	{"CancelOrder", false, func(e *env, tx *stubtest.Tx, req, _ string) (string, error) { return e.ex.CancelOrder(tx, req) }},
}

// FuzzContractArgs calls the contract functions that decode client input (SubmitOrder's and
// ReplaceOrder's request JSON, settlement Propose JSON, HTLC Lock JSON on both channels,
// decimal amounts of Deposit/Withdraw, ids) through stubtest's fake ledger, as any org.
// Properties: no panic; a rejected call writes nothing, emits no event and answers a stable
// code ("CODE: detail"); an accepted call emits exactly one event and commits; afterwards a
// Match (for orders) runs and the Regulator's audit balances on both channels.
func FuzzContractArgs(f *testing.F) {
	tl := day.Add(time.Hour).Format(time.RFC3339)
	good := []struct {
		call     int
		org      uint8
		req, arg string
	}{
		{0, 0, js(OrderRequest{Account: "b5", Symbol: "ACME", ClientOrderID: "c1", Side: "BUY", Type: "LIMIT", TimeInForce: "GTC", Price: 2030, Quantity: 10}), ""},
		{0, 1, js(OrderRequest{Account: "s1", Symbol: "ACME", ClientOrderID: "c2", Side: "SELL", Type: "LIMIT", TimeInForce: "IOC", Price: 1990, Quantity: 3}), ""},
		{0, 0, js(OrderRequest{Account: "b5", Symbol: "ACME", ClientOrderID: "c3", Side: "BUY", Type: "MARKET", TimeInForce: "IOC", Quantity: 10, MaxNotional: 100000}), ""},
		{0, 1, js(OrderRequest{Account: "s2", Symbol: "ACME", ClientOrderID: "c4", Side: "SELL", Type: "STOP_LIMIT", TimeInForce: "GTT", Price: 1900, StopPrice: 1950, Quantity: 3, ExpireTime: tl}), ""},
		{0, 0, `{"account":"b5","symbol":"ACME","clientOrderId":"c5","side":"BUY","type":"LIMIT","price":9223372036854775807,"quantity":9223372036854775807}`, ""},
		{0, 0, `{"account":"b5","symbol":"ACME","side":"BUY","type":"LIMIT","price":-1,"quantity":1}`, ""},
		{1, 0, `{"quantity":8,"price":2010}`, "ORDER"},
		{2, 0, proposeReq("agr-1", 10, day.Add(time.Hour), true, org3), ""},
		{2, 1, proposeReq("", 10, day.Add(time.Hour), false, ""), ""},
		{3, 1, fuzzLockReq("h1", "ACME", 5, "s1", "b4", strings.Repeat("ab", 32), tl), ""},
		{4, 0, fuzzLockReq("h2", "USD", 1000, "b4", "s1", strings.Repeat("AB", 32), tl), ""},
		{4, 0, fuzzLockReq("h3", "USD", 1, "b4", "b4", strings.Repeat("00", 32), day.Add(-time.Hour).Format(time.RFC3339)), ""},
		{5, 0, "100", "USD"},
		{5, 0, "00100", "ACME"},
		{6, 1, "5", "ACME"},
		{6, 1, "-5", "ACME"},
		{7, 2, "carol", ""},
		{7, 2, "../b4", ""},
		{8, 3, "0.05", "NEW"},
		{9, 0, "ORDER", "ORDER"},
	}
	for _, g := range good {
		f.Add(uint8(g.call), g.org, g.req, g.arg)
	}
	for i := range fuzzCalls {
		for _, junk := range []string{"", "{}", "null", "[]", `{"account":1}`, `{"quantity":1e400}`, `{"x":"y"}`, "\x00", strings.Repeat("[", 10000), `{"htlcId":"` + strings.Repeat("é", 100) + `"}`,
			`{"` + strings.Repeat("\xed", 700) + `":1}`} {
			f.Add(uint8(i), uint8(i), junk, "USD")
		}
	}
	f.Fuzz(func(t *testing.T, ci, oi uint8, req, arg string) {
		c := fuzzCalls[int(ci)%len(fuzzCalls)]
		org := fuzzOrgs[int(oi)%len(fuzzOrgs)]
		e := fuzzEnv(t)
		if arg == "ORDER" {
			arg = e.submit(org1, OrderRequest{Account: "b6", Symbol: "ACME", ClientOrderID: "own", Side: "BUY", Type: "LIMIT", TimeInForce: "GTC", Price: 2000, Quantity: 5}).OrderID
			if req == "ORDER" {
				req = arg
			}
		}
		l := e.market
		if c.payment {
			l = e.payments
		}
		events := len(l.Events())
		e.now = e.now.Add(time.Millisecond)
		tx := l.NewTx(org, e.now)
		what := fmt.Sprintf("%s as %q with %q, %q", c.name, org, req, arg)
		out, err := c.fn(e, tx, req, arg)
		if err != nil {
			if w := tx.Writes(); len(w) != 0 {
				t.Fatalf("%s: refused (%v) but wrote %v", what, err, w)
			}
			if name, _ := tx.Event(); name != "" {
				t.Fatalf("%s: refused (%v) but set event %s", what, err, name)
			}
			if len(err.Error()) > 600 {
				t.Fatalf("%s: error message of %d bytes", what, len(err.Error()))
			}
			code := CodeOf(err)
			if code == CodeInternal || code == "" || !strings.HasPrefix(err.Error(), string(code)+": ") {
				t.Fatalf("%s: error without a stable client code: %v", what, err)
			}
			return
		}
		if name, _ := tx.Event(); name == "" || out == "" {
			t.Fatalf("%s: accepted without an event or an answer (%q)", what, out)
		}
		if err := tx.Commit(); err != nil {
			t.Fatalf("%s: commit: %v", what, err)
		}
		if len(l.Events()) != events+1 {
			t.Fatalf("%s: %d events", what, len(l.Events())-events)
		}
		if c.name == "SubmitOrder" || c.name == "ReplaceOrder" {
			e.match("ACME")
		}
		e.audit(e.market)
		e.audit(e.payments)
	})
}
