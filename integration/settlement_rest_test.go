//go:build integration

package integration

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// DvP escrow, HTLCs and swaps through the REST gateways (issue 5). Every test ends with a
// conservation check: the total of each asset over the test's accounts (available + reserved +
// escrowed, i.e. including open escrows and HTLC locks) is what it was after the deposits, on
// both channels, and the Regulator's Audit balances on both channels.

type restSettlement struct {
	SettlementID         string `json:"settlementId"`
	Status               string `json:"status"`
	Seller, Buyer        string
	SellerFundedQuantity string `json:"sellerFundedQuantity"`
	BuyerFundedQuantity  string `json:"buyerFundedQuantity"`
	BuyerFundedCash      string `json:"buyerFundedCash"`
	SettledQuantity      string `json:"settledQuantity"`
	SettledCash          string `json:"settledCash"`
	CashAmount           string `json:"cashAmount"`
	NotaryApproved       bool   `json:"notaryApproved"`
	Messages             []struct {
		Type      string `json:"type"`
		SenderOrg string `json:"senderOrg"`
		Time      string `json:"time"`
	} `json:"messages"`
	TxID     string `json:"txId"`
	TxStatus string `json:"txStatus"`
}

type restHTLC struct {
	HTLCID   string `json:"htlcId"`
	Channel  string `json:"channel"`
	Status   string `json:"status"`
	Amount   string `json:"amount"`
	Preimage string `json:"preimage"`
	TxID     string `json:"txId"`
}

type restSwap struct {
	SwapID string `json:"swapId"`
	Role   string `json:"role"`
	Status string `json:"status"`
	Terms  struct {
		Initiator            string `json:"initiator"`
		Counterparty         string `json:"counterparty"`
		Symbol               string `json:"symbol"`
		Quantity             string `json:"quantity"`
		Currency             string `json:"currency"`
		Amount               string `json:"amount"`
		Hashlock             string `json:"hashlock"`
		InitiatorTimelock    string `json:"initiatorTimelock"`
		CounterpartyTimelock string `json:"counterpartyTimelock"`
	} `json:"terms"`
	Preimage string `json:"preimage"`
	Message  string `json:"message"`
	Steps    []struct {
		Name, Channel, Status, TxID, Time, Message string
		HTLCID                                     string `json:"htlcId"`
	} `json:"steps"`
}

func (s restSwap) step(name string) string {
	for _, st := range s.Steps {
		if st.Name == name {
			return st.Status
		}
	}
	return ""
}

func (s restSwap) summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s (%s):", s.SwapID, s.Role, s.Status, s.Message)
	for _, st := range s.Steps {
		fmt.Fprintf(&b, " %s=%s", st.Name, st.Status)
		if st.TxID != "" {
			fmt.Fprintf(&b, "[%.8s]", st.TxID)
		}
	}
	return b.String()
}

// ledgerBook is the conservation check: the accounts a test uses on each channel.
type ledgerBook struct {
	t        *testing.T
	accounts map[string][]string // channel → accounts
	before   map[string]map[string]int64
}

// totals sums available + reserved + escrowed per asset over the accounts of channel, read by
// the Regulator once every peer has the channel's highest block.
func (lb *ledgerBook) totals(ch string) map[string]int64 {
	t := lb.t
	e := network(t)
	e.samePeerHeights(t, ch)
	reg := exchangeAs(t, e, "regulator", ch)
	out := map[string]int64{}
	for _, a := range lb.accounts[ch] {
		for asset, b := range unmarshal[xAccount](t, reg.eval("GetAccount", a)).Balances {
			out[asset] += b.Available + b.Reserved + b.Escrowed
		}
	}
	return out
}

func newLedgerBook(t *testing.T, accounts map[string][]string) *ledgerBook {
	lb := &ledgerBook{t: t, accounts: accounts, before: map[string]map[string]int64{}}
	for ch := range accounts {
		lb.before[ch] = lb.totals(ch)
	}
	return lb
}

// conserved checks that every total is unchanged and that the Audit balances.
func (lb *ledgerBook) conserved() {
	t := lb.t
	t.Helper()
	e := network(t)
	for ch, before := range lb.before {
		after := lb.totals(ch)
		if fmt.Sprint(after) != fmt.Sprint(before) {
			t.Fatalf("conservation on %s: totals %v after, %v before", ch, after, before)
		}
		audit := unmarshal[map[string]struct{ OK bool }](t, exchangeAs(t, e, "regulator", ch).eval("Audit"))
		for asset, a := range audit {
			if !a.OK {
				t.Errorf("%s: Audit of %s does not balance", ch, asset)
			}
		}
		t.Logf("conserved on %s: %v", ch, after)
	}
}

// available returns the available balance of asset in account on channel, as the Regulator
// reads it.
func available(t *testing.T, ch, account, asset string) int64 {
	e := network(t)
	e.samePeerHeights(t, ch)
	return unmarshal[xAccount](t, exchangeAs(t, e, "regulator", ch).eval("GetAccount", account)).Balances[asset].Available
}

// dvp is the setting of a settlement test: a fresh instrument, a seller on org1 holding 100
// shares and a buyer on org2 holding 1,000.00 USD.
type dvp struct {
	sym           string
	org1, org2    *rest
	org3, reg     *rest
	seller, buyer string
	book          *ledgerBook
}

func newDVP(t *testing.T) *dvp {
	d := &dvp{org1: gatewayOf(t, "org1"), org2: gatewayOf(t, "org2"), org3: gatewayOf(t, "org3"), reg: gatewayOf(t, "regulator")}
	d.sym = newSymbol(t, d.reg)
	d.seller = openFunded(t, d.org1, d.sym, "", "100")
	d.buyer = openFunded(t, d.org2, d.sym, "1000.00", "")
	d.book = newLedgerBook(t, map[string][]string{"market": {d.seller, d.buyer}})
	return d
}

func (d *dvp) propose(t *testing.T, g *rest, qty, price string, deadline time.Duration, partial bool, notary string) restSettlement {
	var s restSettlement
	body := fmt.Sprintf(`{"seller":%q,"buyer":%q,"symbol":%q,"quantity":%q,"price":%q,"currency":"USD","deadline":%q,"allowPartial":%t`,
		d.seller, d.buyer, d.sym, qty, price, time.Now().Add(deadline).UTC().Format(time.RFC3339Nano), partial)
	if notary != "" {
		body += fmt.Sprintf(`,"notary":%q`, notary)
	}
	g.must(201, &s, "POST", "/v1/settlements?wait=commit", body+"}")
	if s.Status != "PROPOSED" || s.SettlementID == "" || s.TxStatus != "VALID" || len(s.Messages) != 1 {
		t.Fatalf("proposed %+v", s)
	}
	return s
}

func (d *dvp) step(t *testing.T, g *rest, status int, id, step, body string) restSettlement {
	t.Helper()
	var s restSettlement
	g.must(status, &s, "POST", "/v1/settlements/"+id+"/"+step+"?wait=commit", body)
	return s
}

func (d *dvp) get(t *testing.T, g *rest, id string) restSettlement {
	t.Helper()
	var s restSettlement
	g.must(200, &s, "GET", "/v1/settlements/"+id, "")
	return s
}

// TestSettlementRESTHappyPath: proposed by the seller's org, affirmed by the buyer's, funded by
// both; the funding that completes the legs settles; the thread lists every step with its
// sender org; the Regulator reads it, an unrelated org may not; assets moved exactly once.
func TestSettlementRESTHappyPath(t *testing.T) {
	t.Parallel()
	d := newDVP(t)
	s := d.propose(t, d.org1, "10", "20.30", 2*time.Minute, false, "")
	id := s.SettlementID
	restCode(t, d.org1, 403, "FORBIDDEN", "POST", "/v1/settlements/"+id+"/affirm", "")
	restCode(t, d.org2, 409, "CONFLICT", "POST", "/v1/settlements/"+id+"/fund", "")
	if s = d.step(t, d.org2, 200, id, "affirm", ""); s.Status != "AFFIRMED" {
		t.Fatalf("affirm: %+v", s)
	}
	if s = d.step(t, d.org1, 200, id, "fund", `{"leg":"seller"}`); s.Status != "FUNDING" || s.SellerFundedQuantity != "10" {
		t.Fatalf("seller fund: %+v", s)
	}
	if s = d.step(t, d.org2, 200, id, "fund", ""); s.Status != "SETTLED" || s.SettledQuantity != "10" || s.SettledCash != "203.00" {
		t.Fatalf("buyer fund: %+v", s)
	}
	// The Regulator reads from its own peer, which may commit the last block a moment later.
	const want = "PROPOSED/Org1MSP AFFIRMED/Org2MSP FUNDED/Org1MSP FUNDED/Org2MSP SETTLED/Org2MSP"
	got := ""
	waitFor(t, 10*time.Second, "the Regulator to see the whole thread", func() bool {
		var types []string
		for _, m := range d.get(t, d.reg, id).Messages {
			types = append(types, m.Type+"/"+m.SenderOrg)
		}
		got = strings.Join(types, " ")
		return got == want
	})
	restCode(t, d.org3, 403, "FORBIDDEN", "GET", "/v1/settlements/"+id, "")
	var list []restSettlement
	d.org2.must(200, &list, "GET", "/v1/settlements?account="+d.buyer+"&status=SETTLED", "")
	if len(list) != 1 || list[0].SettlementID != id {
		t.Fatalf("list: %+v", list)
	}
	if b, c := available(t, "market", d.buyer, d.sym), available(t, "market", d.seller, "USD"); b != 10 || c != 20_300 {
		t.Fatalf("buyer shares %d, seller cash %d", b, c)
	}
	d.book.conserved()
}

// TestSettlementRESTDoubleSettle: the last leg funded twice at the same time (two requests,
// two idempotency keys): exactly one settles, the other is refused; every later fund,
// approve, cancel and expire of the closed agreement is 409; nothing moved twice.
func TestSettlementRESTDoubleSettle(t *testing.T) {
	t.Parallel()
	d := newDVP(t)
	id := d.propose(t, d.org2, "5", "10.00", 2*time.Minute, false, "").SettlementID
	d.step(t, d.org1, 200, id, "affirm", "")
	d.step(t, d.org1, 200, id, "fund", "")
	var wg sync.WaitGroup
	codes := make([]int, 2)
	bodies := make([][]byte, 2)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], bodies[i] = d.org2.call("POST", "/v1/settlements/"+id+"/fund?wait=commit", "", "Idempotency-Key", fmt.Sprintf("%s-%d", id, i))
		}()
	}
	wg.Wait()
	ok, refused := 0, 0
	for i, c := range codes {
		switch {
		case c == 200 && strings.Contains(string(bodies[i]), `"status":"SETTLED"`):
			ok++
		case c == 409:
			refused++
		default:
			t.Fatalf("concurrent fund %d: %d %s", i, c, bodies[i])
		}
	}
	if ok != 1 || refused != 1 {
		t.Fatalf("concurrent funds: %d settled, %d refused (%d %s / %d %s)", ok, refused, codes[0], bodies[0], codes[1], bodies[1])
	}
	for _, x := range []struct {
		g    *rest
		step string
	}{{d.org1, "fund"}, {d.org2, "fund"}, {d.org1, "cancel"}, {d.org2, "expire"}} {
		restCode(t, x.g, 409, "CONFLICT", "POST", "/v1/settlements/"+id+"/"+x.step+"?wait=commit", "")
	}
	restCode(t, d.org3, 403, "FORBIDDEN", "POST", "/v1/settlements/"+id+"/approve", "")
	if b, c := available(t, "market", d.buyer, d.sym), available(t, "market", d.seller, "USD"); b != 5 || c != 5_000 {
		t.Fatalf("buyer shares %d, seller cash %d after a double settle attempt", b, c)
	}
	d.book.conserved()
}

// TestSettlementRESTBuyerNeverFunds: the seller funds, the buyer never does; expiring before
// the deadline is refused, after it the agreement is EXPIRED and the seller's shares are back.
func TestSettlementRESTBuyerNeverFunds(t *testing.T) {
	t.Parallel()
	d := newDVP(t)
	id := d.propose(t, d.org1, "10", "20.30", 8*time.Second, false, "").SettlementID
	d.step(t, d.org2, 200, id, "affirm", "")
	d.step(t, d.org1, 200, id, "fund", "")
	restCode(t, d.org1, 409, "CONFLICT", "POST", "/v1/settlements/"+id+"/expire", "")
	time.Sleep(9 * time.Second)
	restCode(t, d.org2, 409, "CONFLICT", "POST", "/v1/settlements/"+id+"/fund", "")
	s := d.step(t, d.org2, 200, id, "expire", "")
	if s.Status != "EXPIRED" || s.SettledQuantity != "0" {
		t.Fatalf("expired: %+v", s)
	}
	if sh, c := available(t, "market", d.seller, d.sym), available(t, "market", d.buyer, "USD"); sh != 100 || c != 100_000 {
		t.Fatalf("after expiry seller holds %d shares, buyer %d cents", sh, c)
	}
	d.book.conserved()
}

// TestSettlementRESTPartial: with allowPartial, 6 of 10 lots from the seller and 4 from the
// buyer settle 4 at the deadline and refund the rest; without it, a partial funding is
// refused and the expired agreement refunds the leg that was funded.
func TestSettlementRESTPartial(t *testing.T) {
	t.Parallel()
	d := newDVP(t)
	part := d.propose(t, d.org1, "10", "20.30", 9*time.Second, true, "").SettlementID
	whole := d.propose(t, d.org1, "10", "20.30", 9*time.Second, false, "").SettlementID
	for _, id := range []string{part, whole} {
		d.step(t, d.org2, 200, id, "affirm", "")
	}
	if s := d.step(t, d.org1, 200, part, "fund", `{"quantity":"6"}`); s.SellerFundedQuantity != "6" || s.Status != "FUNDING" {
		t.Fatalf("partial seller fund: %+v", s)
	}
	if s := d.step(t, d.org2, 200, part, "fund", `{"leg":"buyer","quantity":"4"}`); s.BuyerFundedCash != "81.20" {
		t.Fatalf("partial buyer fund: %+v", s)
	}
	restCode(t, d.org1, 400, "INVALID_ARGUMENT", "POST", "/v1/settlements/"+part+"/fund", `{"quantity":"5"}`)
	restCode(t, d.org1, 400, "INVALID_ARGUMENT", "POST", "/v1/settlements/"+whole+"/fund", `{"quantity":"6"}`)
	restCode(t, d.org1, 422, "INVALID_LOT", "POST", "/v1/settlements/"+whole+"/fund", `{"quantity":"6.5"}`)
	d.step(t, d.org2, 200, whole, "fund", "")
	time.Sleep(10 * time.Second)
	s := d.step(t, d.org1, 200, part, "expire", "")
	if s.Status != "SETTLED" || s.SettledQuantity != "4" || s.SettledCash != "81.20" {
		t.Fatalf("partial expiry: %+v", s)
	}
	if s = d.step(t, d.org2, 200, whole, "expire", ""); s.Status != "EXPIRED" || s.SettledQuantity != "0" {
		t.Fatalf("whole expiry: %+v", s)
	}
	if sh, c := available(t, "market", d.buyer, d.sym), available(t, "market", d.seller, "USD"); sh != 4 || c != 8_120 {
		t.Fatalf("after the partial settlement the buyer holds %d shares, the seller %d cents", sh, c)
	}
	if sh, c := available(t, "market", d.seller, d.sym), available(t, "market", d.buyer, "USD"); sh != 96 || c != 100_000-8_120 {
		t.Fatalf("refunds: seller %d shares, buyer %d cents", sh, c)
	}
	d.book.conserved()
}

// TestSettlementRESTNotaryWithholds: with Org3 as notary, both legs funded do not settle;
// the parties cannot cancel a fully funded agreement, only the notary approves, and at the
// deadline the agreement expires and both legs are refunded.
func TestSettlementRESTNotaryWithholds(t *testing.T) {
	t.Parallel()
	d := newDVP(t)
	id := d.propose(t, d.org1, "10", "20.30", 9*time.Second, false, "org3").SettlementID
	d.step(t, d.org2, 200, id, "affirm", "")
	d.step(t, d.org1, 200, id, "fund", "")
	if s := d.step(t, d.org2, 200, id, "fund", ""); s.Status != "FUNDING" || s.BuyerFundedCash != "203.00" || s.NotaryApproved {
		t.Fatalf("funded without approval: %+v", s)
	}
	restCode(t, d.org1, 403, "FORBIDDEN", "POST", "/v1/settlements/"+id+"/approve", "")
	restCode(t, d.org2, 409, "CONFLICT", "POST", "/v1/settlements/"+id+"/cancel", `{"reason":"changed my mind"}`)
	if s := d.get(t, d.org3, id); s.Status != "FUNDING" {
		t.Fatalf("notary reads %+v", s)
	}
	time.Sleep(10 * time.Second)
	restCode(t, d.org3, 409, "CONFLICT", "POST", "/v1/settlements/"+id+"/approve", "")
	if s := d.step(t, d.org3, 200, id, "expire", ""); s.Status != "EXPIRED" {
		t.Fatalf("expired: %+v", s)
	}
	if sh, c := available(t, "market", d.seller, d.sym), available(t, "market", d.buyer, "USD"); sh != 100 || c != 100_000 {
		t.Fatalf("after expiry seller %d shares, buyer %d cents", sh, c)
	}
	d.book.conserved()
}

func secret(t *testing.T) (preimage, hashlock string) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(b), hex.EncodeToString(sum[:])
}

// payAccounts opens accounts on channel payments through fabric-gateway (the REST accounts
// routes serve market): org's account with cash minor units of USD (0: none).
func payAccount(t *testing.T, org, id string, cash int64) {
	x := exchangeAs(t, network(t), org, "payments")
	x.submit("OpenAccount", id)
	if cash > 0 {
		x.submit("Deposit", id, "USD", fmt.Sprint(cash))
	}
}

// TestHTLCRESTWrongPreimageAndEarlyRefund: shares locked on market and cash on payments
// through POST /v1/htlcs; a wrong preimage is refused (400), a claim by the sender's org is
// 403, a refund before the timelock 409; the cash HTLC is claimed with the right preimage,
// which the lock then shows; the shares HTLC, claimable no longer after its timelock, is
// refunded.
func TestHTLCRESTWrongPreimageAndEarlyRefund(t *testing.T) {
	t.Parallel()
	d := newDVP(t)
	payAccount(t, "org1", d.seller, 0)
	payAccount(t, "org2", d.buyer, 50_000)
	d.book = newLedgerBook(t, map[string][]string{"market": {d.seller, d.buyer}, "payments": {d.seller, d.buyer}})
	pre, lock := secret(t)
	var sh, ca restHTLC
	d.org1.must(201, &sh, "POST", "/v1/htlcs?wait=commit", fmt.Sprintf(`{"asset":%q,"amount":"5","sender":%q,"receiver":%q,"hashlock":%q,"timelock":%q}`,
		d.sym, d.seller, d.buyer, lock, time.Now().Add(8*time.Second).UTC().Format(time.RFC3339Nano)))
	d.org2.must(201, &ca, "POST", "/v1/htlcs?wait=commit", fmt.Sprintf(`{"asset":"USD","amount":"101.50","sender":%q,"receiver":%q,"hashlock":%q,"timelock":%q}`,
		d.buyer, d.seller, lock, time.Now().Add(5*time.Minute).UTC().Format(time.RFC3339Nano)))
	if sh.Channel != "market" || sh.Status != "LOCKED" || ca.Channel != "payments" || ca.Amount != "101.50" {
		t.Fatalf("locks %+v %+v", sh, ca)
	}
	wrong, _ := secret(t)
	restCode(t, d.org2, 400, "INVALID_ARGUMENT", "POST", "/v1/htlcs/"+sh.HTLCID+"/claim?wait=commit", fmt.Sprintf(`{"preimage":%q}`, wrong))
	restCode(t, d.org1, 403, "FORBIDDEN", "POST", "/v1/htlcs/"+sh.HTLCID+"/claim", fmt.Sprintf(`{"preimage":%q}`, pre))
	restCode(t, d.org1, 409, "CONFLICT", "POST", "/v1/htlcs/"+sh.HTLCID+"/refund?wait=commit", "")
	restCode(t, d.org2, 409, "CONFLICT", "POST", "/v1/htlcs/"+ca.HTLCID+"/refund?channel=payments", "")
	restCode(t, d.org1, 400, "INVALID_ARGUMENT", "POST", "/v1/htlcs/"+ca.HTLCID+"/claim", `{"preimage":"abc"}`)
	var got restHTLC
	d.org1.must(200, &got, "POST", "/v1/htlcs/"+ca.HTLCID+"/claim?wait=commit", fmt.Sprintf(`{"preimage":%q}`, pre))
	if got.Status != "CLAIMED" || got.Preimage != pre {
		t.Fatalf("claimed %+v", got)
	}
	d.org2.must(200, &got, "GET", "/v1/htlcs/"+ca.HTLCID+"?channel=payments", "")
	if got.Preimage != pre {
		t.Fatalf("the sender does not see the revealed preimage: %+v", got)
	}
	time.Sleep(9 * time.Second)
	restCode(t, d.org2, 409, "CONFLICT", "POST", "/v1/htlcs/"+sh.HTLCID+"/claim?wait=commit", fmt.Sprintf(`{"preimage":%q}`, pre))
	d.org2.must(200, &got, "POST", "/v1/htlcs/"+sh.HTLCID+"/refund?wait=commit", "")
	if got.Status != "REFUNDED" {
		t.Fatalf("refund %+v", got)
	}
	restCode(t, d.org1, 409, "CONFLICT", "POST", "/v1/htlcs/"+sh.HTLCID+"/refund?wait=commit", "")
	if sh, c := available(t, "market", d.seller, d.sym), available(t, "payments", d.seller, "USD"); sh != 100 || c != 10_150 {
		t.Fatalf("seller: %d shares back, %d cents claimed", sh, c)
	}
	d.book.conserved()
}

// swapSetup is a swap between an initiator on org1 (100 shares on market, an empty account
// on payments) and a counterparty on org2 (an empty account on market, 1,000.00 USD on
// payments).
func swapSetup(t *testing.T) *dvp {
	d := newDVP(t)
	d.buyer = openFunded(t, d.org2, d.sym, "", "")
	payAccount(t, "org1", d.seller, 0)
	payAccount(t, "org2", d.buyer, 100_000)
	d.book = newLedgerBook(t, map[string][]string{"market": {d.seller, d.buyer}, "payments": {d.seller, d.buyer}})
	return d
}

func (d *dvp) startSwap(t *testing.T, cp, ini time.Duration) restSwap {
	var sw restSwap
	now := time.Now()
	d.org1.must(201, &sw, "POST", "/v1/swaps?wait=commit", fmt.Sprintf(`{"initiator":%q,"counterparty":%q,"symbol":%q,"quantity":"10","currency":"USD","amount":"203.00","counterpartyTimelock":%q,"initiatorTimelock":%q}`,
		d.seller, d.buyer, d.sym, now.Add(cp).UTC().Format(time.RFC3339Nano), now.Add(ini).UTC().Format(time.RFC3339Nano)))
	if sw.Role != "INITIATOR" || sw.step("LOCK_SHARES") != "DONE" || len(sw.Terms.Hashlock) != 64 || sw.Preimage != "" {
		t.Fatalf("swap started: %s", sw.summary())
	}
	return sw
}

// accept is the counterparty's consent on its own gateway, restating the terms.
func (d *dvp) accept(t *testing.T, sw restSwap) restSwap {
	terms, _ := json.Marshal(sw.Terms)
	var out restSwap
	d.org2.must(200, &out, "POST", "/v1/swaps/"+sw.SwapID+"/accept?wait=commit", string(terms))
	if out.Role != "COUNTERPARTY" || out.step("LOCK_CASH") != "DONE" {
		t.Fatalf("accepted: %s", out.summary())
	}
	return out
}

func swapFinal(s string) bool {
	return s == "COMPLETED" || s == "REFUNDED" || s == "EXPIRED_UNCLAIMED" || s == "FAILED"
}

// awaitSwap polls GET /v1/swaps/{id} on g until the swap is final.
func awaitSwap(t *testing.T, g *rest, id string, within time.Duration) restSwap {
	t.Helper()
	var sw restSwap
	waitFor(t, within, "swap "+id+" final", func() bool {
		code, body := g.call("GET", "/v1/swaps/"+id, "")
		if code != 200 {
			return false
		}
		sw = restSwap{}
		return json.Unmarshal(body, &sw) == nil && swapFinal(sw.Status)
	})
	return sw
}

// TestSwapRESTAcrossOrgs: org1's gateway locks the initiator's shares, org2's gateway accepts
// the terms and locks the cash, org1 claims the cash (revealing the secret) and org2 claims the
// shares with it; both gateways show every step with its transaction.
func TestSwapRESTAcrossOrgs(t *testing.T) {
	t.Parallel()
	d := swapSetup(t)
	sw := d.startSwap(t, 20*time.Second, 40*time.Second)
	bad := sw
	bad.Terms.Quantity = "9"
	restCode(t, d.org2, 422, "FAILED_PRECONDITION", "POST", "/v1/swaps/"+sw.SwapID+"/accept", mustJSON(bad.Terms))
	restCode(t, d.org1, 409, "CONFLICT", "POST", "/v1/swaps/"+sw.SwapID+"/accept", mustJSON(sw.Terms))
	d.accept(t, sw)
	ini := awaitSwap(t, d.org1, sw.SwapID, 60*time.Second)
	cp := awaitSwap(t, d.org2, sw.SwapID, 60*time.Second)
	if ini.Status != "COMPLETED" || cp.Status != "COMPLETED" {
		t.Fatalf("swap: %s / %s", ini.summary(), cp.summary())
	}
	sum := sha256.Sum256(mustHex(t, ini.Preimage))
	if hex.EncodeToString(sum[:]) != sw.Terms.Hashlock {
		t.Fatalf("preimage %s does not hash to %s", ini.Preimage, sw.Terms.Hashlock)
	}
	for _, st := range []string{"LOCK_SHARES", "CLAIM_CASH"} {
		if ini.step(st) != "DONE" || cp.step(st) != "OBSERVED" {
			t.Fatalf("%s: initiator %s, counterparty %s", st, ini.summary(), cp.summary())
		}
	}
	for _, st := range []string{"LOCK_CASH", "CLAIM_SHARES"} {
		if cp.step(st) != "DONE" || ini.step(st) != "OBSERVED" {
			t.Fatalf("%s: initiator %s, counterparty %s", st, ini.summary(), cp.summary())
		}
	}
	if sh, c := available(t, "market", d.buyer, d.sym), available(t, "payments", d.seller, "USD"); sh != 10 || c != 20_300 {
		t.Fatalf("after the swap: counterparty %d shares, initiator %d cents", sh, c)
	}
	t.Logf("%s\n%s", ini.summary(), cp.summary())
	d.book.conserved()
}

func mustHex(t *testing.T, s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("hex %q: %v", s, err)
	}
	return b
}

// TestSwapRESTCounterpartyDisappears: the initiator locked, the counterparty never accepts;
// after the initiator's timelock its gateway refunds the shares.
func TestSwapRESTCounterpartyDisappears(t *testing.T) {
	t.Parallel()
	d := swapSetup(t)
	sw := d.startSwap(t, 12*time.Second, 24*time.Second)
	var mid restSwap
	d.org1.must(200, &mid, "GET", "/v1/swaps/"+sw.SwapID, "")
	if mid.Status != "AWAITING_COUNTERPARTY" {
		t.Fatalf("waiting: %s", mid.summary())
	}
	if sh := available(t, "market", d.seller, d.sym); sh != 90 {
		t.Fatalf("initiator holds %d shares while locked", sh)
	}
	end := awaitSwap(t, d.org1, sw.SwapID, 60*time.Second)
	if end.Status != "REFUNDED" || end.step("REFUND_SHARES") != "DONE" || end.step("CLAIM_CASH") != "SKIPPED" {
		t.Fatalf("swap: %s", end.summary())
	}
	if sh := available(t, "market", d.seller, d.sym); sh != 100 {
		t.Fatalf("initiator holds %d shares after the refund", sh)
	}
	restCode(t, d.org2, 409, "CONFLICT", "POST", "/v1/swaps/"+sw.SwapID+"/accept", mustJSON(sw.Terms))
	d.book.conserved()
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestSwapRESTGatewayKilled: org1's gateway is SIGKILLed right after the initiator's lock;
// the counterparty accepts and locks meanwhile; once restarted, org1's gateway resumes the
// swap from its store (secret included): it completes, or both sides are refunded.
func TestSwapRESTGatewayKilled(t *testing.T) {
	d := swapSetup(t)
	e := network(t)
	sw := d.startSwap(t, 25*time.Second, 45*time.Second)
	e.script(t, "kill", "gateway.org1")
	restarted := false
	defer func() {
		if !restarted {
			e.script(t, "start", "gateway.org1")
		}
	}()
	d.accept(t, sw)
	time.Sleep(2 * time.Second)
	e.script(t, "start", "gateway.org1")
	restarted = true
	d.org1 = gatewayOf(t, "org1")
	ini := awaitSwap(t, d.org1, sw.SwapID, 90*time.Second)
	cp := awaitSwap(t, d.org2, sw.SwapID, 90*time.Second)
	switch {
	case ini.Status == "COMPLETED" && cp.Status == "COMPLETED":
		if sh, c := available(t, "market", d.buyer, d.sym), available(t, "payments", d.seller, "USD"); sh != 10 || c != 20_300 {
			t.Fatalf("completed, but the counterparty holds %d shares and the initiator %d cents", sh, c)
		}
	case ini.Status == "REFUNDED" && cp.Status == "REFUNDED":
		if sh, c := available(t, "market", d.seller, d.sym), available(t, "payments", d.buyer, "USD"); sh != 100 || c != 100_000 {
			t.Fatalf("refunded, but the initiator holds %d shares and the counterparty %d cents", sh, c)
		}
	default:
		t.Fatalf("after the restart: %s / %s", ini.summary(), cp.summary())
	}
	t.Logf("resumed after SIGKILL: %s\n%s", ini.summary(), cp.summary())
	d.book.conserved()
}

// TestSwapRESTSameOrgKilledMidway: both accounts on org1, so its gateway runs every step; it
// is SIGKILLed while the swap runs and restarted: the swap ends COMPLETED or REFUNDED.
func TestSwapRESTSameOrgKilledMidway(t *testing.T) {
	d := newDVP(t)
	e := network(t)
	d.buyer = openFunded(t, d.org1, d.sym, "", "")
	payAccount(t, "org1", d.seller, 0)
	payAccount(t, "org1", d.buyer, 100_000)
	d.book = newLedgerBook(t, map[string][]string{"market": {d.seller, d.buyer}, "payments": {d.seller, d.buyer}})
	var sw restSwap
	now := time.Now()
	d.org1.must(202, &sw, "POST", "/v1/swaps", fmt.Sprintf(`{"initiator":%q,"counterparty":%q,"symbol":%q,"quantity":"10","currency":"USD","amount":"203.00","counterpartyTimelock":%q,"initiatorTimelock":%q}`,
		d.seller, d.buyer, d.sym, now.Add(20*time.Second).UTC().Format(time.RFC3339Nano), now.Add(35*time.Second).UTC().Format(time.RFC3339Nano)))
	if sw.Role != "BOTH" {
		t.Fatalf("role %s", sw.summary())
	}
	time.Sleep(700 * time.Millisecond)
	e.script(t, "kill", "gateway.org1")
	time.Sleep(time.Second)
	e.script(t, "start", "gateway.org1")
	d.org1 = gatewayOf(t, "org1")
	end := awaitSwap(t, d.org1, sw.SwapID, 90*time.Second)
	if end.Status != "COMPLETED" && end.Status != "REFUNDED" {
		t.Fatalf("after the restart: %s", end.summary())
	}
	t.Logf("same-org swap resumed after SIGKILL: %s", end.summary())
	d.book.conserved()
}
