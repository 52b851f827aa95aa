package contract

import (
	"errors"
	"strings"
	"testing"

	"github.com/fabmarket/fabmarket/chaincode/exchange/settle"
	"github.com/fabmarket/fabmarket/chaincode/internal/ccserver"
	"github.com/fabmarket/fabmarket/chaincode/internal/stubtest"
)

func TestChaincodeAssembles(t *testing.T) {
	cc, err := ccserver.New("exchange", New()...)
	if err != nil {
		t.Fatal(err)
	}
	if cc.DefaultContract != ExchangeName {
		t.Fatalf("default contract %q", cc.DefaultContract)
	}
	bad := DefaultConfig()
	bad.PaymentsChannel = bad.MarketChannel
	if _, _, _, err := NewContracts(bad); err == nil {
		t.Fatal("same channel twice accepted")
	}
	for _, f := range []func(*Config){
		func(c *Config) { c.RegulatorMSP = "" },
		func(c *Config) { c.EpochLag = 0 },
		func(c *Config) { c.MaxMatchFills = 0 },
	} {
		c := DefaultConfig()
		f(&c)
		if _, _, _, err := NewContracts(c); err == nil {
			t.Fatalf("bad config %+v accepted", c)
		}
	}
}

func TestCodes(t *testing.T) {
	if CodeOf(errors.New("FORBIDDEN: x")) != CodeForbidden || CodeOf(errors.New("boom")) != CodeInternal {
		t.Fatal("CodeOf by prefix")
	}
	err := settleErr(settle.ErrClosed)
	if CodeOf(err) != CodeConflict || !errors.Is(err, settle.ErrClosed) {
		t.Fatalf("settleErr: %v", err)
	}
	for in, want := range map[error]Code{
		settle.ErrForbidden: CodeForbidden, settle.ErrCorrupt: CodeInternal,
		settle.ErrBadPreimage: CodeInvalidArgument, settle.ErrTimelockNotReached: CodeConflict,
	} {
		if got := CodeOf(settleErr(in)); got != want {
			t.Errorf("%v -> %s, want %s", in, got, want)
		}
	}
}

func TestInstruments(t *testing.T) {
	e := newEnv(t)
	list := func(sym, cur, tick, lot, algo string) func(tx *stubtest.Tx) (string, error) {
		return func(tx *stubtest.Tx) (string, error) { return e.ex.ListInstrument(tx, sym, cur, tick, lot, algo) }
	}
	out := e.ok(reg, list("ACME", "USD", "0.01", "100", AlgoProRata))
	if ins := decode[Instrument](t, out); ins.CashPerLotTick != 100 || ins.ListedBy != reg {
		t.Fatalf("instrument %+v", ins)
	}
	e.fail(org1, CodeForbidden, "only RegulatorMSP", list("X", "USD", "0.01", "1", AlgoFIFO))
	e.fail(reg, CodeConflict, "already listed", list("ACME", "USD", "0.01", "1", AlgoFIFO))
	e.fail(reg, CodeInvalidArgument, "field symbol", list("acme", "USD", "0.01", "1", AlgoFIFO))
	e.fail(reg, CodeInvalidArgument, "field symbol", list("A~B", "USD", "0.01", "1", AlgoFIFO))
	e.fail(reg, CodeInvalidArgument, "currency code", list("USD", "USD", "0.01", "1", AlgoFIFO))
	e.fail(reg, CodeInvalidArgument, "field currency", list("X", "XYZ", "0.01", "1", AlgoFIFO))
	e.fail(reg, CodeInvalidArgument, "field tickSize", list("X", "USD", "0", "1", AlgoFIFO))
	e.fail(reg, CodeInvalidArgument, "field lotSize", list("X", "USD", "0.01", "-1", AlgoFIFO))
	e.fail(reg, CodeInvalidArgument, "field algorithm", list("X", "USD", "0.01", "1", "LIFO"))
	e.fail(reg, CodeInvalidArgument, "not a whole number", list("X", "USD", "0.001", "1", AlgoFIFO))
	e.failOn(e.payments, reg, CodeWrongChannel, "runs on channel market", list("X", "USD", "0.01", "1", AlgoFIFO))
	e.ok(reg, list("JP1", "JPY", "1", "100", AlgoFIFO))
	all := decode[[]Instrument](t, e.ok(org2, func(tx *stubtest.Tx) (string, error) { return e.ex.ListInstruments(tx) }))
	if len(all) != 2 || all[0].Symbol != "ACME" || all[1].Symbol != "JP1" {
		t.Fatalf("instruments %+v", all)
	}
	e.ok(org1, func(tx *stubtest.Tx) (string, error) { return e.ex.GetInstrument(tx, "JP1") })
	e.fail(org1, CodeNotFound, "not listed", func(tx *stubtest.Tx) (string, error) { return e.ex.GetInstrument(tx, "NOPE") })
}

func TestAccountsDepositsWithdrawals(t *testing.T) {
	e := newEnv(t)
	e.setup(AlgoFIFO)
	open := func(id string) func(tx *stubtest.Tx) (string, error) {
		return func(tx *stubtest.Tx) (string, error) { return e.ex.OpenAccount(tx, id) }
	}
	move := func(dep bool, acct, asset, amount string) func(tx *stubtest.Tx) (string, error) {
		return func(tx *stubtest.Tx) (string, error) {
			if dep {
				return e.ex.Deposit(tx, acct, asset, amount)
			}
			return e.ex.Withdraw(tx, acct, asset, amount)
		}
	}
	e.fail(org1, CodeConflict, "already exists", open("b4"))
	e.fail(org1, CodeInvalidArgument, "field accountId", open(""))
	e.fail(org1, CodeInvalidArgument, "field accountId", open("a b"))
	e.fail(org1, CodeInvalidArgument, "field accountId", open(strings.Repeat("a", 65)))
	e.fail(org2, CodeForbidden, "belongs to Org1MSP", move(true, "b4", "USD", "1"))
	e.fail(org1, CodeNotFound, "does not exist", move(true, "zz", "USD", "1"))
	e.fail(org1, CodeInvalidArgument, "field asset", move(true, "b4", "XYZ", "1"))
	for _, bad := range []string{"0", "-5", "1.5", "abc", "+1", "99999999999999999999"} {
		e.fail(org1, CodeInvalidArgument, "field amount", move(true, "b4", "USD", bad))
	}
	e.fail(org1, CodeInsufficientFunds, "100000000 USD available, 100000001 needed", move(false, "b4", "USD", "100000001"))
	out := e.ok(org1, move(false, "b4", "USD", "1"))
	if m := decode[CashMovement](t, out); m.Amount != 1 || m.Asset != "USD" {
		t.Fatalf("withdrawal %+v", m)
	}
	ev := e.market.Events()
	if ev[len(ev)-1].Name != "Withdrawal" {
		t.Fatalf("event %s", ev[len(ev)-1].Name)
	}
	e.fail(org2, CodeForbidden, "only it and RegulatorMSP", func(tx *stubtest.Tx) (string, error) { return e.ex.GetAccount(tx, "b4") })
	if b := decode[AccountView](t, e.ok(reg, func(tx *stubtest.Tx) (string, error) { return e.ex.GetAccount(tx, "b4") })); b.Balances["USD"].Available != 99_999_999 {
		t.Fatalf("regulator view %+v", b)
	}
	mine := decode[[]Account](t, e.ok(org2, func(tx *stubtest.Tx) (string, error) { return e.ex.ListAccounts(tx) }))
	all := decode[[]Account](t, e.ok(reg, func(tx *stubtest.Tx) (string, error) { return e.ex.ListAccounts(tx) }))
	if len(mine) != 3 || len(all) != 7 {
		t.Fatalf("accounts org2 %d, all %d", len(mine), len(all))
	}

	// payments holds cash only.
	if _, _, err := e.run(e.payments, org1, open("b4")); err != nil {
		t.Fatal(err)
	}
	e.failOn(e.payments, org1, CodeInvalidArgument, "holds cash only", move(true, "b4", "ACME", "1"))
	if _, _, err := e.run(e.payments, org1, move(true, "b4", "EUR", "500")); err != nil {
		t.Fatal(err)
	}
	e.audit(e.market)
	e.audit(e.payments)
	e.fail(org1, CodeForbidden, "only RegulatorMSP audits", func(tx *stubtest.Tx) (string, error) { return e.ex.Audit(tx) })
}

// TestDeltasFold: fills credit an account through deltas; a withdrawal the base alone cannot
// cover folds them into the base and deletes them.
func TestDeltasFold(t *testing.T) {
	e := newEnv(t)
	e.setup(AlgoFIFO)
	e.submit(org2, limit("s1", "SELL", 2000, 100))
	e.submit(org1, limit("b4", "BUY", 2000, 100))
	e.match("ACME")
	if keys := e.market.Keys("dl~s1~USD~"); len(keys) != 1 {
		t.Fatalf("deltas %v", keys)
	}
	if b := e.bal(org2, "s1", "USD"); b.Available != 200_000 {
		t.Fatalf("s1 USD %+v", b)
	}
	// A withdrawal within the base does not read the deltas.
	e.ok(org2, func(tx *stubtest.Tx) (string, error) { return e.ex.Withdraw(tx, "s1", "ACME", "900") })
	if keys := e.market.Keys("dl~s1~ACME~"); len(keys) != 1 {
		t.Fatalf("ACME deltas folded needlessly: %v", keys)
	}
	e.ok(org2, func(tx *stubtest.Tx) (string, error) { return e.ex.Withdraw(tx, "s1", "USD", "150000") })
	if keys := e.market.Keys("dl~s1~USD~"); len(keys) != 0 {
		t.Fatalf("deltas not folded: %v", keys)
	}
	if b := e.bal(org2, "s1", "USD"); b.Available != 50_000 || b.Reserved != 0 {
		t.Fatalf("s1 USD after fold %+v", b)
	}
	e.fail(org2, CodeInsufficientFunds, "50000 USD available", func(tx *stubtest.Tx) (string, error) { return e.ex.Withdraw(tx, "s1", "USD", "50001") })
	a := e.audit(e.market)
	if a["USD"].Withdrawn != 150_000 || a["ACME"].Withdrawn != 900 {
		t.Fatalf("audit %+v", a)
	}
}
