package contract

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fabmarket/fabmarket/chaincode/internal/stubtest"
)

const (
	org1 = "Org1MSP"
	org2 = "Org2MSP"
	org3 = "Org3MSP"
	reg  = "RegulatorMSP"
)

// env is a two-channel test network with a clock that advances 1 ms per transaction.
type env struct {
	t        *testing.T
	market   *stubtest.Ledger
	payments *stubtest.Ledger
	ex       *Exchange
	st       *Settlement
	ht       *HTLCs
	now      time.Time
}

var day = time.Date(2019, 8, 12, 9, 0, 0, 0, time.UTC)

func newEnv(t *testing.T) *env { return newEnvCfg(t, DefaultConfig()) }

func newEnvCfg(t *testing.T, cfg Config) *env {
	t.Helper()
	ex, st, ht, err := NewContracts(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, market: stubtest.NewLedger("market"), payments: stubtest.NewLedger("payments"),
		ex: ex, st: st, ht: ht, now: day}
}

// at moves the clock.
func (e *env) at(ts time.Time) { e.now = ts }

// run executes fn as org on ledger l in one transaction, committing it when fn succeeds.
func (e *env) run(l *stubtest.Ledger, org string, fn func(tx *stubtest.Tx) (string, error)) (string, *stubtest.Tx, error) {
	e.t.Helper()
	e.now = e.now.Add(time.Millisecond)
	tx := l.NewTx(org, e.now)
	out, err := fn(tx)
	if err != nil {
		if len(tx.Writes()) != 0 {
			e.t.Fatalf("failed call wrote %v", tx.Writes())
		}
		return "", tx, err
	}
	if err := tx.Commit(); err != nil {
		e.t.Fatalf("commit: %v", err)
	}
	return out, tx, nil
}

// ok runs fn on market and fails the test on error.
func (e *env) ok(org string, fn func(tx *stubtest.Tx) (string, error)) string {
	e.t.Helper()
	out, _, err := e.run(e.market, org, fn)
	if err != nil {
		e.t.Fatalf("%s: unexpected error %v", org, err)
	}
	return out
}

// fail runs fn on market and checks the error code and that the message contains want.
func (e *env) fail(org string, code Code, want string, fn func(tx *stubtest.Tx) (string, error)) {
	e.t.Helper()
	e.failOn(e.market, org, code, want, fn)
}

func (e *env) failOn(l *stubtest.Ledger, org string, code Code, want string, fn func(tx *stubtest.Tx) (string, error)) {
	e.t.Helper()
	_, _, err := e.run(l, org, fn)
	if err == nil {
		e.t.Fatalf("%s: no error, want %s %q", org, code, want)
	}
	if CodeOf(err) != code || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), string(code)+": ") {
		e.t.Fatalf("%s: error %q, want %s containing %q", org, err, code, want)
	}
}

func decode[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("decode %q: %v", s, err)
	}
	return v
}

func js(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// setup lists ACME (USD, tick 0.01, lot 1) and opens accounts: sellers s1..s3 at Org2 with
// 1000 shares each, buyers b4..b7 at Org1 with 1,000,000.00 USD each.
func (e *env) setup(algo string) {
	e.t.Helper()
	e.ok(reg, func(tx *stubtest.Tx) (string, error) {
		return e.ex.ListInstrument(tx, "ACME", "USD", "0.01", "1", algo)
	})
	for _, a := range []string{"s1", "s2", "s3"} {
		e.open(org2, a)
		e.deposit(org2, a, "ACME", 1000)
	}
	for _, a := range []string{"b4", "b5", "b6", "b7"} {
		e.open(org1, a)
		e.deposit(org1, a, "USD", 100_000_000)
	}
}

func (e *env) open(org, acct string) {
	e.t.Helper()
	e.ok(org, func(tx *stubtest.Tx) (string, error) { return e.ex.OpenAccount(tx, acct) })
}

func (e *env) deposit(org, acct, asset string, n int64) {
	e.t.Helper()
	e.ok(org, func(tx *stubtest.Tx) (string, error) {
		return e.ex.Deposit(tx, acct, asset, fmt.Sprint(n))
	})
}

func (e *env) submit(org string, req OrderRequest) *Order {
	e.t.Helper()
	out := e.ok(org, func(tx *stubtest.Tx) (string, error) { return e.ex.SubmitOrder(tx, js(req)) })
	return decode[*Order](e.t, out)
}

// match runs Match late enough for every earlier intake epoch to be closed.
func (e *env) match(sym string) MatchResult {
	e.t.Helper()
	e.now = e.now.Add(3 * time.Second)
	out := e.ok(org3, func(tx *stubtest.Tx) (string, error) { return e.ex.Match(tx, sym) })
	return decode[MatchResult](e.t, out)
}

func (e *env) balances(org, acct string) map[string]*Balance {
	e.t.Helper()
	out := e.ok(org, func(tx *stubtest.Tx) (string, error) { return e.ex.GetAccount(tx, acct) })
	return decode[AccountView](e.t, out).Balances
}

// bal returns available/reserved/escrowed of one asset (zero if absent).
func (e *env) bal(org, acct, asset string) Balance {
	e.t.Helper()
	if b := e.balances(org, acct)[asset]; b != nil {
		return *b
	}
	return Balance{}
}

func (e *env) order(org, id string) *Order {
	e.t.Helper()
	return decode[*Order](e.t, e.ok(org, func(tx *stubtest.Tx) (string, error) { return e.ex.GetOrder(tx, id) }))
}

func (e *env) bookView(sym string) BookView {
	e.t.Helper()
	return decode[BookView](e.t, e.ok(org1, func(tx *stubtest.Tx) (string, error) { return e.ex.GetBook(tx, sym, "") }))
}

// audit runs the Regulator's audit on l and fails the test if any asset does not balance.
func (e *env) audit(l *stubtest.Ledger) map[string]AssetAudit {
	e.t.Helper()
	out, _, err := e.run(l, reg, func(tx *stubtest.Tx) (string, error) { return e.ex.Audit(tx) })
	if err != nil {
		e.t.Fatal(err)
	}
	a := decode[map[string]AssetAudit](e.t, out)
	for asset, x := range a {
		if !x.OK {
			e.t.Fatalf("audit %s: %+v", asset, x)
		}
	}
	// The full reconciliation must agree on every ledger the tests build.
	if full := e.auditLedger(l, ""); !full.OK {
		e.t.Fatalf("AuditLedger on %s: %v %v", l.Channel(), full.Mismatches, full.Problems)
	}
	return a
}

// auditLedger runs the Regulator's AuditLedger on l.
func (e *env) auditLedger(l *stubtest.Ledger, detailPrefix string) LedgerAudit {
	e.t.Helper()
	out, _, err := e.run(l, reg, func(tx *stubtest.Tx) (string, error) { return e.ex.AuditLedger(tx, detailPrefix) })
	if err != nil {
		e.t.Fatal(err)
	}
	return decode[LedgerAudit](e.t, out)
}

func limit(acct, side string, price, qty int64) OrderRequest {
	return OrderRequest{Account: acct, Symbol: "ACME", Side: side, Type: "LIMIT", Price: price, Quantity: qty}
}
