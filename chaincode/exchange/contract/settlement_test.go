package contract

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fabmarket/fabmarket/chaincode/exchange/settle"
	"github.com/fabmarket/fabmarket/chaincode/internal/stubtest"
)

func proposeReq(id string, qty int64, deadline time.Time, partial bool, notary string) string {
	return fmt.Sprintf(`{"settlementId":%q,"seller":"s1","buyer":"b4","symbol":"ACME","quantity":%d,"price":2030,"currency":"USD","deadline":%q,"allowPartial":%t,"notary":%q}`,
		id, qty, deadline.Format(time.RFC3339), partial, notary)
}

func (e *env) agr(org string, fn func(tx *stubtest.Tx) (string, error)) settle.Agreement {
	e.t.Helper()
	return decode[settle.Agreement](e.t, e.ok(org, fn))
}

func TestSettlementHappyPath(t *testing.T) {
	e := newEnv(t)
	e.setup(AlgoFIFO)
	deadline := e.now.Add(time.Hour)
	propose := func(req string) func(tx *stubtest.Tx) (string, error) {
		return func(tx *stubtest.Tx) (string, error) { return e.st.Propose(tx, req) }
	}
	a := e.agr(org1, propose(proposeReq("agr-1", 10, deadline, false, "")))
	if a.Status != settle.StatusProposed || a.CashAmount != 20_300 || a.ID != "agr-1" {
		t.Fatalf("proposed %+v", a)
	}
	e.fail(org1, CodeConflict, "already exists", propose(proposeReq("agr-1", 10, deadline, false, "")))
	e.fail(org3, CodeForbidden, "not the buyer's or the seller's org", propose(proposeReq("agr-2", 10, deadline, false, "")))
	e.fail(org1, CodeInvalidArgument, "field deadline", propose(proposeReq("agr-2", 10, e.now.Add(-time.Hour), false, "")))
	e.fail(org1, CodeInvalidArgument, "field quantity", propose(proposeReq("agr-2", 0, deadline, false, "")))
	e.fail(org1, CodeInvalidArgument, "field currency", propose(strings.Replace(proposeReq("agr-2", 1, deadline, false, ""), `"USD"`, `"EUR"`, 1)))
	e.fail(org1, CodeNotFound, "account zz", propose(strings.Replace(proposeReq("agr-2", 1, deadline, false, ""), `"b4"`, `"zz"`, 1)))
	e.fail(org1, CodeInvalidArgument, "notary", propose(proposeReq("agr-2", 1, deadline, false, org1)))
	e.failOn(e.payments, org1, CodeWrongChannel, "market", propose(proposeReq("agr-2", 1, deadline, false, "")))

	step := func(fn func(tx *stubtest.Tx) (string, error)) func(tx *stubtest.Tx) (string, error) { return fn }
	affirm := step(func(tx *stubtest.Tx) (string, error) { return e.st.Affirm(tx, "agr-1") })
	e.fail(org1, CodeForbidden, "may affirm", affirm)
	e.fail(org3, CodeForbidden, "not a party", affirm)
	e.fail(org2, CodeNotFound, "does not exist", func(tx *stubtest.Tx) (string, error) { return e.st.Affirm(tx, "nope") })
	e.agr(org2, affirm)
	e.fail(org2, CodeInvalidArgument, "field leg", func(tx *stubtest.Tx) (string, error) { return e.st.Fund(tx, "agr-1", "middle", "") })
	e.fail(org2, CodeInvalidArgument, "partial", func(tx *stubtest.Tx) (string, error) { return e.st.Fund(tx, "agr-1", "", "3") })
	a = e.agr(org2, func(tx *stubtest.Tx) (string, error) { return e.st.Fund(tx, "agr-1", "seller", "") })
	if a.Status != settle.StatusFunding || e.bal(org2, "s1", "ACME").Escrowed != 10 {
		t.Fatalf("seller funded %+v / %+v", a, e.bal(org2, "s1", "ACME"))
	}
	a = e.agr(org1, func(tx *stubtest.Tx) (string, error) { return e.st.Fund(tx, "agr-1", "", "0") })
	if a.Status != settle.StatusSettled || a.SettledCash != 20_300 {
		t.Fatalf("settled %+v", a)
	}
	if b := e.bal(org1, "b4", "ACME"); b.Available != 10 || b.Escrowed != 0 {
		t.Fatalf("buyer shares %+v", b)
	}
	if b := e.bal(org2, "s1", "USD"); b.Available != 20_300 {
		t.Fatalf("seller cash %+v", b)
	}
	e.fail(org1, CodeConflict, "already closed", func(tx *stubtest.Tx) (string, error) { return e.st.Fund(tx, "agr-1", "", "") })
	e.fail(org2, CodeConflict, "already closed", func(tx *stubtest.Tx) (string, error) { return e.st.Cancel(tx, "agr-1", "") })
	got := e.agr(reg, func(tx *stubtest.Tx) (string, error) { return e.st.Get(tx, "agr-1") })
	var types []string
	for _, m := range got.Messages {
		types = append(types, m.Type+"/"+m.SenderOrg)
	}
	if strings.Join(types, " ") != "PROPOSED/Org1MSP AFFIRMED/Org2MSP FUNDED/Org2MSP FUNDED/Org1MSP SETTLED/Org1MSP" {
		t.Fatalf("thread %v", types)
	}
	e.fail(org3, CodeForbidden, "may not read", func(tx *stubtest.Tx) (string, error) { return e.st.Get(tx, "agr-1") })
	ev := e.market.Events()
	if last := ev[len(ev)-1]; last.Name != "Settlement" || !strings.Contains(string(last.Payload), `"status":"SETTLED"`) {
		t.Fatalf("event %s %s", last.Name, last.Payload)
	}
	list := decode[[]settle.Agreement](t, e.ok(org2, func(tx *stubtest.Tx) (string, error) { return e.st.List(tx, "s1", "SETTLED") }))
	if len(list) != 1 {
		t.Fatalf("list %+v", list)
	}
	e.fail(org1, CodeForbidden, "s1", func(tx *stubtest.Tx) (string, error) { return e.st.List(tx, "s1", "") })
	e.fail(org2, CodeInvalidArgument, "field status", func(tx *stubtest.Tx) (string, error) { return e.st.List(tx, "s1", "DONE") })
	e.audit(e.market)
}

func TestSettlementExpiryAndNotary(t *testing.T) {
	e := newEnv(t)
	e.setup(AlgoFIFO)
	deadline := e.now.Add(time.Minute)
	e.agr(org1, func(tx *stubtest.Tx) (string, error) {
		return e.st.Propose(tx, proposeReq("p", 10, deadline, true, org3))
	})
	e.agr(org2, func(tx *stubtest.Tx) (string, error) { return e.st.Affirm(tx, "p") })
	e.agr(org2, func(tx *stubtest.Tx) (string, error) { return e.st.Fund(tx, "p", "", "6") })
	e.agr(org1, func(tx *stubtest.Tx) (string, error) { return e.st.Fund(tx, "p", "", "4") })
	e.fail(org1, CodeConflict, "deadline not reached", func(tx *stubtest.Tx) (string, error) { return e.st.Expire(tx, "p") })
	e.at(deadline.Add(time.Second))
	e.fail(reg, CodeForbidden, "only the parties' orgs and the notary", func(tx *stubtest.Tx) (string, error) { return e.st.Expire(tx, "p") })
	// Without the notary's approval nothing settles: both legs are refunded.
	a := e.agr(org3, func(tx *stubtest.Tx) (string, error) { return e.st.Expire(tx, "p") })
	if a.Status != settle.StatusExpired || a.SettledQuantity != 0 {
		t.Fatalf("expired %+v", a)
	}
	if b := e.bal(org2, "s1", "ACME"); b.Available != 1000 || b.Escrowed != 0 {
		t.Fatalf("seller refunded %+v", b)
	}
	if b := e.bal(org1, "b4", "USD"); b.Available != 100_000_000 {
		t.Fatalf("buyer refunded %+v", b)
	}
	e.fail(org1, CodeConflict, "already closed", func(tx *stubtest.Tx) (string, error) { return e.st.Expire(tx, "p") })

	// With approval, partial settlement of what both legs cover.
	deadline = e.now.Add(time.Minute)
	e.agr(org2, func(tx *stubtest.Tx) (string, error) {
		return e.st.Propose(tx, proposeReq("q", 10, deadline, true, org3))
	})
	e.agr(org1, func(tx *stubtest.Tx) (string, error) { return e.st.Affirm(tx, "q") })
	e.fail(org1, CodeForbidden, "notary", func(tx *stubtest.Tx) (string, error) { return e.st.Approve(tx, "q") })
	e.agr(org3, func(tx *stubtest.Tx) (string, error) { return e.st.Approve(tx, "q") })
	e.agr(org2, func(tx *stubtest.Tx) (string, error) { return e.st.Fund(tx, "q", "", "6") })
	e.agr(org1, func(tx *stubtest.Tx) (string, error) { return e.st.Fund(tx, "q", "", "4") })
	e.at(deadline)
	a = e.agr(org2, func(tx *stubtest.Tx) (string, error) { return e.st.Expire(tx, "q") })
	if a.Status != settle.StatusSettled || a.SettledQuantity != 4 {
		t.Fatalf("partial %+v", a)
	}
	if b := e.bal(org1, "b4", "ACME"); b.Available != 4 {
		t.Fatalf("buyer shares %+v", b)
	}
	// Cancel refunds: a third agreement cancelled after one leg.
	e.agr(org1, func(tx *stubtest.Tx) (string, error) {
		return e.st.Propose(tx, proposeReq("r", 5, e.now.Add(time.Hour), false, ""))
	})
	e.agr(org2, func(tx *stubtest.Tx) (string, error) { return e.st.Affirm(tx, "r") })
	e.agr(org1, func(tx *stubtest.Tx) (string, error) { return e.st.Fund(tx, "r", "buyer", "") })
	a = e.agr(org2, func(tx *stubtest.Tx) (string, error) { return e.st.Cancel(tx, "r", "changed my mind") })
	if a.Status != settle.StatusCancelled {
		t.Fatalf("cancel %+v", a)
	}
	if b := e.bal(org1, "b4", "USD"); b.Escrowed != 0 || b.Available != 100_000_000-4*2030 {
		t.Fatalf("buyer after cancel %+v", b)
	}
	e.audit(e.market)
}

func TestSettlementInsufficientFunds(t *testing.T) {
	e := newEnv(t)
	e.setup(AlgoFIFO)
	e.agr(org1, func(tx *stubtest.Tx) (string, error) {
		return e.st.Propose(tx, proposeReq("big", 2000, e.now.Add(time.Hour), false, ""))
	})
	e.agr(org2, func(tx *stubtest.Tx) (string, error) { return e.st.Affirm(tx, "big") })
	e.fail(org2, CodeInsufficientFunds, "1000 ACME available, 2000 needed", func(tx *stubtest.Tx) (string, error) { return e.st.Fund(tx, "big", "", "") })
}

func hashOf(pre string) string {
	b, _ := hex.DecodeString(pre)
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestHTLC(t *testing.T) {
	e := newEnv(t)
	e.setup(AlgoFIFO)
	pre := strings.Repeat("ab", 32)
	lockReq := func(id, asset string, amount int64, sender, receiver, hash string, timelock time.Time) string {
		return fmt.Sprintf(`{"htlcId":%q,"asset":%q,"amount":%d,"sender":%q,"receiver":%q,"hashlock":%q,"timelock":%q}`,
			id, asset, amount, sender, receiver, hash, timelock.Format(time.RFC3339Nano))
	}
	lock := func(req string) func(tx *stubtest.Tx) (string, error) {
		return func(tx *stubtest.Tx) (string, error) { return e.ht.Lock(tx, req) }
	}
	tl := e.now.Add(time.Hour)
	// Shares on market.
	h := decode[settle.HTLC](t, e.ok(org2, lock(lockReq("h1", "ACME", 5, "s1", "b4", hashOf(pre), tl))))
	if h.Status != settle.HTLCLocked || e.bal(org2, "s1", "ACME").Escrowed != 5 {
		t.Fatalf("locked %+v", h)
	}
	e.fail(org2, CodeConflict, "already exists", lock(lockReq("h1", "ACME", 5, "s1", "b4", hashOf(pre), tl)))
	e.fail(org2, CodeInvalidArgument, "field asset", lock(lockReq("h2", "USD", 5, "s1", "b4", hashOf(pre), tl)))
	e.fail(org1, CodeForbidden, "belongs to Org2MSP", lock(lockReq("h2", "ACME", 5, "s1", "b4", hashOf(pre), tl)))
	e.fail(org2, CodeInvalidArgument, "field hashlock", lock(lockReq("h2", "ACME", 5, "s1", "b4", "abc", tl)))
	e.fail(org2, CodeInvalidArgument, "timelock", lock(lockReq("h2", "ACME", 5, "s1", "b4", hashOf(pre), e.now.Add(-time.Second))))
	e.fail(org2, CodeInvalidArgument, "field amount", lock(lockReq("h2", "ACME", 0, "s1", "b4", hashOf(pre), tl)))
	e.fail(org2, CodeNotFound, "account zz", lock(lockReq("h2", "ACME", 1, "s1", "zz", hashOf(pre), tl)))
	e.fail(org2, CodeInsufficientFunds, "available", lock(lockReq("h2", "ACME", 5000, "s1", "b4", hashOf(pre), tl)))

	claim := func(id, p string) func(tx *stubtest.Tx) (string, error) {
		return func(tx *stubtest.Tx) (string, error) { return e.ht.Claim(tx, id, p) }
	}
	e.fail(org1, CodeInvalidArgument, "does not match", claim("h1", strings.Repeat("cd", 32)))
	e.fail(org1, CodeInvalidArgument, "preimage must be 64 hex", claim("h1", "xyz"))
	e.fail(org2, CodeForbidden, "receiver", claim("h1", pre))
	e.fail(org3, CodeForbidden, "not a party", claim("h1", pre))
	e.fail(org1, CodeConflict, "refund not yet possible", func(tx *stubtest.Tx) (string, error) { return e.ht.Refund(tx, "h1") })
	h = decode[settle.HTLC](t, e.ok(org1, claim("h1", pre)))
	if h.Status != settle.HTLCClaimed || h.Preimage != pre {
		t.Fatalf("claimed %+v", h)
	}
	if b := e.bal(org1, "b4", "ACME"); b.Available != 5 {
		t.Fatalf("receiver %+v", b)
	}
	ev := e.market.Events()
	if last := ev[len(ev)-1]; last.Name != "HTLC" || !strings.Contains(string(last.Payload), pre) {
		t.Fatalf("claim event %s %s", last.Name, last.Payload)
	}
	e.fail(org1, CodeConflict, "already closed", claim("h1", pre))

	// Cash on payments, refunded after the timelock.
	for _, org := range []string{org1, org2} {
		acct := map[string]string{org1: "b4", org2: "s1"}[org]
		if _, _, err := e.run(e.payments, org, func(tx *stubtest.Tx) (string, error) { return e.ex.OpenAccount(tx, acct) }); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := e.run(e.payments, org1, func(tx *stubtest.Tx) (string, error) { return e.ex.Deposit(tx, "b4", "USD", "10000") }); err != nil {
		t.Fatal(err)
	}
	e.failOn(e.payments, org1, CodeInvalidArgument, "field asset", lock(lockReq("c1", "ACME", 1, "b4", "s1", hashOf(pre), tl)))
	tl = e.now.Add(time.Minute)
	if _, _, err := e.run(e.payments, org1, lock(lockReq("c1", "USD", 10000, "b4", "s1", hashOf(pre), tl))); err != nil {
		t.Fatal(err)
	}
	e.at(tl)
	e.failOn(e.payments, org2, CodeConflict, "claim no longer possible", claim("c1", pre))
	out, _, err := e.run(e.payments, org2, func(tx *stubtest.Tx) (string, error) { return e.ht.Refund(tx, "c1") })
	if err != nil || decode[settle.HTLC](t, out).Status != settle.HTLCRefunded {
		t.Fatalf("refund %s %v", out, err)
	}
	if out, _, err := e.run(e.payments, reg, func(tx *stubtest.Tx) (string, error) { return e.ht.Get(tx, "c1") }); err != nil || !strings.Contains(out, "REFUNDED") {
		t.Fatalf("get %s %v", out, err)
	}
	e.failOn(e.payments, org3, CodeForbidden, "not a party", func(tx *stubtest.Tx) (string, error) { return e.ht.Get(tx, "c1") })
	e.failOn(e.payments, org1, CodeNotFound, "does not exist", func(tx *stubtest.Tx) (string, error) { return e.ht.Get(tx, "zz") })
	a := e.audit(e.payments)
	if a["USD"].Held != 10000 || a["USD"].Locked != 0 {
		t.Fatalf("payments audit %+v", a)
	}
	e.audit(e.market)
}
