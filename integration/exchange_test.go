//go:build integration

package integration

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fabmarket/fabmarket/internal/fabnet"
	"github.com/fabmarket/fabmarket/internal/netconf"
	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
)

// exClient calls the exchange chaincode on market as one org.
type exClient struct {
	t   testing.TB
	e   *env
	ch  string
	org string
	c   *client.Contract
	sub fabnet.Submitter
}

func exchangeAs(t testing.TB, e *env, org, channel string) *exClient {
	return &exClient{t: t, e: e, ch: channel, org: org, c: e.gateway(t, org).GetNetwork(channel).GetContractWithName("exchange", "exchange")}
}

// submit commits fn(args) and returns its result; an invalid transaction or an endorsement
// error fails the test.
func (x *exClient) submit(fn string, args ...string) []byte {
	x.t.Helper()
	out, err := x.trySubmit(fn, args...)
	if err != nil {
		x.t.Fatalf("%s %s%q: %s", x.org, fn, args, fabnet.Describe(err))
	}
	x.committedEverywhere(out.Block)
	return out.Result
}

// committedEverywhere waits until every peer has committed block, so that a query to any org's
// peer sees the transaction (the commit status comes from the submitting org's peer only).
func (x *exClient) committedEverywhere(block uint64) {
	x.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for _, org := range netconf.Orgs {
		for x.e.peerHeight(org, x.ch) <= int64(block) {
			if time.Now().After(deadline) {
				x.t.Fatalf("peer of %s has not committed block %d of %s after 30 s", org, block, x.ch)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func (x *exClient) trySubmit(fn string, args ...string) (*fabnet.Outcome, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return x.sub.Submit(ctx, x.c, fn, client.WithArguments(args...))
}

// eval evaluates fn(args). The deadline is the peers' own (30 s): the Regulator's audits read
// the whole ledger, several seconds on a long-lived network.
func (x *exClient) eval(fn string, args ...string) []byte {
	x.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := x.c.EvaluateWithContext(ctx, fn, client.WithArguments(args...))
	if err != nil {
		x.t.Fatalf("%s %s%q: %s", x.org, fn, args, fabnet.Describe(err))
	}
	return out
}

func unmarshal[T any](t testing.TB, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

// Views of the chaincode's JSON, as a client sees them.
type (
	xLevel struct {
		Price, Quantity int64
		Orders          int
	}
	xBook struct {
		Bids, Asks []xLevel
		LastPrice  int64
	}
	xTrade struct {
		TradeID, BuyOrderID, SellOrderID, BuyAccount, SellAccount string
		Price, Quantity, Cash                                     int64
	}
	xMatch struct {
		Trades       []xTrade
		OrderUpdates []json.RawMessage
		Book         xBook
		Processed    int
		Deferred     int
		More         bool
	}
	xOrder struct {
		OrderID, Account, Status                    string
		FilledQuantity, RemainingQuantity, Reserved int64
	}
	xBalance struct{ Available, Reserved, Escrowed int64 }
	xAccount struct {
		Balances map[string]xBalance
	}
)

// runSymbol returns an instrument symbol no earlier run used.
func runSymbol(prefix string) string {
	return strings.ToUpper(fmt.Sprintf("%s%x", prefix, time.Now().UnixNano()%(1<<40)))
}

// tryMatch submits one Match. Losing to another Match of the same symbol (every org's REST
// gateway runs a match scheduler, and duplicates fail validation or endorsement by design) is
// reported as contended; any other failure fails the test.
func (x *exClient) tryMatch(sym string) (r *xMatch, txID string, contended bool) {
	x.t.Helper()
	out, err := x.trySubmit("Match", sym)
	if err == nil {
		x.committedEverywhere(out.Block)
		m := unmarshal[xMatch](x.t, out.Result)
		return &m, out.TxID, false
	}
	var inv *fabnet.InvalidError
	if errors.As(err, &inv) && (inv.Code == peer.TxValidationCode_MVCC_READ_CONFLICT || inv.Code == peer.TxValidationCode_PHANTOM_READ_CONFLICT) {
		return nil, inv.TxID, true
	}
	if strings.Contains(fabnet.Describe(err), "ProposalResponsePayloads do not match") {
		return nil, "", true
	}
	x.t.Fatalf("Match %s: %s", sym, fabnet.Describe(err))
	return nil, "", false
}

// matchUntil runs Match until cond holds (whoever's Match did the work), then waits until
// every peer is at the same height so that queries to any org agree.
func matchUntil(t testing.TB, x *exClient, sym, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		x.tryMatch(sym)
		time.Sleep(300 * time.Millisecond)
	}
	x.e.samePeerHeights(t, x.ch)
}

// samePeerHeights waits until every peer has committed the highest block any peer has.
func (e *env) samePeerHeights(t testing.TB, ch string) {
	t.Helper()
	var top int64
	for _, org := range netconf.Orgs {
		top = max(top, e.peerHeight(org, ch))
	}
	waitFor(t, 30*time.Second, "peers at height "+fmt.Sprint(top), func() bool {
		for _, org := range netconf.Orgs {
			if e.peerHeight(org, ch) < top {
				return false
			}
		}
		return true
	})
}

// allTaken reports whether no order of ids is still PENDING.
func allTaken(t testing.TB, x *exClient, ids []string) bool {
	for _, id := range ids {
		// Another org's peer may commit the submit a few ms later: not visible yet = not taken.
		raw, err := x.c.EvaluateTransaction("GetOrder", id)
		if err != nil || unmarshal[xOrder](t, raw).Status == "PENDING" {
			return false
		}
	}
	return true
}

func (x *exClient) balance(acct, asset string) xBalance {
	x.t.Helper()
	return unmarshal[xAccount](x.t, x.eval("GetAccount", acct)).Balances[asset]
}

func orderJSON(acct, sym, side string, price, qty int64) string {
	return fmt.Sprintf(`{"account":%q,"symbol":%q,"side":%q,"type":"LIMIT","price":%d,"quantity":%d}`, acct, sym, side, price, qty)
}

// TestExchangeSeedBook: the Regulator lists an instrument, Org1 and Org2 open accounts and
// deposit, the seed's orders #1–#6 enter in their time order, Match builds the book; a
// crossing buy then fills at the makers' prices and the balances follow.
func TestExchangeSeedBook(t *testing.T) {
	e := network(t)
	reg := exchangeAs(t, e, "regulator", "market")
	o1 := exchangeAs(t, e, "org1", "market")
	o2 := exchangeAs(t, e, "org2", "market")
	o3 := exchangeAs(t, e, "org3", "market")
	sym := runSymbol("SEED")
	reg.submit("ListInstrument", sym, "USD", "0.01", "1", "FIFO")
	run := uniqueKey("seed")
	acct := func(n string) string { return run + "-" + n }
	for _, a := range []string{"s1", "s2", "s3"} {
		o2.submit("OpenAccount", acct(a))
		o2.submit("Deposit", acct(a), sym, "1000")
	}
	for _, a := range []string{"b4", "b5", "b6", "b7"} {
		o1.submit("OpenAccount", acct(a))
		o1.submit("Deposit", acct(a), "USD", "100000000") // 1,000,000.00 USD
	}
	seed := []struct {
		x    *exClient
		acct string
		side string
		px   int64
		qty  int64
	}{
		{o2, "s1", "SELL", 2030, 100}, // #1 09:01
		{o2, "s2", "SELL", 2025, 100}, // #2 09:03
		{o2, "s3", "SELL", 2030, 200}, // #3 09:05
		{o1, "b4", "BUY", 2015, 100},  // #4 09:06
		{o1, "b5", "BUY", 2020, 200},  // #5 09:08
		{o1, "b6", "BUY", 2015, 200},  // #6 09:09
	}
	ids := map[string]string{}
	for _, s := range seed {
		o := unmarshal[xOrder](t, s.x.submit("SubmitOrder", orderJSON(acct(s.acct), sym, s.side, s.px, s.qty)))
		if o.Status != "PENDING" {
			t.Fatalf("order %+v", o)
		}
		ids[s.acct] = o.OrderID
	}
	var seedIDs []string
	for _, id := range ids {
		seedIDs = append(seedIDs, id)
	}
	matchUntil(t, o3, sym, "the seed orders to enter the book", func() bool { return allTaken(t, reg, seedIDs) })
	book := unmarshal[xBook](t, o1.eval("GetBook", sym, "10"))
	wantAsks := []xLevel{{2025, 100, 1}, {2030, 300, 2}}
	wantBids := []xLevel{{2020, 200, 1}, {2015, 300, 2}}
	if !slices.Equal(book.Asks, wantAsks) || !slices.Equal(book.Bids, wantBids) {
		t.Fatalf("book %+v, want asks %v bids %v", book, wantAsks, wantBids)
	}
	if book.LastPrice != 0 {
		t.Fatalf("the seed book traded: %+v", book)
	}
	t.Logf("seed book after Match: asks %v bids %v", book.Asks, book.Bids)

	o7 := unmarshal[xOrder](t, o1.submit("SubmitOrder", orderJSON(acct("b7"), sym, "BUY", 2030, 250)))
	if b := o1.balance(acct("b7"), "USD"); b.Reserved != 2030*250 {
		t.Fatalf("b7 reservation %+v", b)
	}
	matchUntil(t, o3, sym, "the crossing buy to fill", func() bool {
		return unmarshal[xOrder](t, o1.eval("GetOrder", o7.OrderID)).Status == "FILLED"
	})
	trades := unmarshal[struct{ Trades []xTrade }](t, o1.eval("ListTrades", sym, "", "100")).Trades
	type fill struct {
		px, qty int64
		sell    string
	}
	var got []fill
	for _, tr := range trades {
		got = append(got, fill{tr.Price, tr.Quantity, tr.SellOrderID})
		if tr.BuyOrderID != o7.OrderID || tr.Cash != tr.Price*tr.Quantity {
			t.Fatalf("trade %+v", tr)
		}
	}
	want := []fill{{2025, 100, ids["s2"]}, {2030, 100, ids["s1"]}, {2030, 50, ids["s3"]}}
	if !slices.Equal(got, want) {
		t.Fatalf("fills %+v, want %+v", got, want)
	}
	if b := o1.balance(acct("b7"), "USD"); b.Available != 100_000_000-507_000 || b.Reserved != 0 {
		t.Fatalf("b7 USD %+v (paid 507,000, 500 price improvement released)", b)
	}
	if b := o1.balance(acct("b7"), sym); b.Available != 250 {
		t.Fatalf("b7 shares %+v", b)
	}
	for _, c := range []struct {
		a               string
		cash, sh, resvd int64
	}{{"s1", 203_000, 900, 0}, {"s2", 202_500, 900, 0}, {"s3", 101_500, 800, 150}} {
		if b := o2.balance(acct(c.a), "USD"); b.Available != c.cash {
			t.Errorf("%s USD %+v", c.a, b)
		}
		if b := o2.balance(acct(c.a), sym); b.Available != c.sh || b.Reserved != c.resvd {
			t.Errorf("%s shares %+v", c.a, b)
		}
	}
	if o := unmarshal[xOrder](t, o2.eval("GetOrder", ids["s3"])); o.Status != "PARTIALLY_FILLED" || o.RemainingQuantity != 150 || o.Reserved != 150 {
		t.Fatalf("#3 %+v", o)
	}
	book = unmarshal[xBook](t, o1.eval("GetBook", sym, "10"))
	if !slices.Equal(book.Asks, []xLevel{{2030, 150, 1}}) || book.LastPrice != 2030 {
		t.Fatalf("book after the cross %+v", book)
	}
	t.Logf("crossing buy 250 @ 20.30 filled %v; book now asks %v bids %v", got, book.Asks, book.Bids)
	audit := unmarshal[map[string]struct{ OK bool }](t, reg.eval("Audit"))
	for asset, a := range audit {
		if !a.OK {
			t.Errorf("audit %s not balanced", asset)
		}
	}
}

// TestExchangeConcurrentSubmits: 32 clients, each with its own account, submit on one symbol
// at the same time; every transaction is valid and Match takes every order.
func TestExchangeConcurrentSubmits(t *testing.T) {
	e := network(t)
	reg := exchangeAs(t, e, "regulator", "market")
	sym := runSymbol("CONC")
	reg.submit("ListInstrument", sym, "USD", "0.01", "1", "FIFO")
	run := uniqueKey("conc")
	const n = 32
	clients := make([]*exClient, n)
	accts := make([]string, n)
	var setup sync.WaitGroup
	for i := range n {
		org := []string{"org1", "org2", "org3"}[i%3]
		clients[i] = exchangeAs(t, e, org, "market")
		accts[i] = fmt.Sprintf("%s-%02d", run, i)
		setup.Add(1)
		go func() {
			defer setup.Done()
			clients[i].submit("OpenAccount", accts[i])
			clients[i].submit("Deposit", accts[i], "USD", "10000000")
			clients[i].submit("Deposit", accts[i], sym, "1000")
		}()
	}
	setup.Wait()
	var (
		wg      sync.WaitGroup
		invalid atomic.Int64
		mu      sync.Mutex
		ids     []string
	)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			side, px := "BUY", int64(1000+i)
			if i%2 == 1 {
				side, px = "SELL", int64(2000+i)
			}
			out, err := clients[i].trySubmit("SubmitOrder", orderJSON(accts[i], sym, side, px, 10))
			if err != nil {
				var inv *fabnet.InvalidError
				if errors.As(err, &inv) {
					invalid.Add(1)
				}
				t.Errorf("client %d: %s", i, fabnet.Describe(err))
				return
			}
			o := unmarshal[xOrder](t, out.Result)
			mu.Lock()
			ids = append(ids, o.OrderID)
			mu.Unlock()
		}()
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	elapsed := time.Since(t0)
	if invalid.Load() != 0 || len(ids) != n {
		t.Fatalf("%d invalid transactions, %d of %d orders committed", invalid.Load(), len(ids), n)
	}
	matchUntil(t, exchangeAs(t, e, "org3", "market"), sym, "Match to take all 32 orders", func() bool { return allTaken(t, reg, ids) })
	book := unmarshal[xBook](t, reg.eval("GetBook", sym, "100"))
	var resting int64
	for _, l := range append(book.Bids, book.Asks...) {
		resting += int64(l.Orders)
	}
	if resting != n {
		t.Fatalf("book holds %d orders, want %d: %+v", resting, n, book)
	}
	for _, id := range ids {
		if o := unmarshal[xOrder](t, reg.eval("GetOrder", id)); o.Status != "NEW" {
			t.Fatalf("order %s is %s", id, o.Status)
		}
	}
	t.Logf("%d concurrent submits on one symbol: all VALID in %v, all %d orders in the book", n, elapsed.Round(time.Millisecond), n)
}

// TestExchangeMatchValidWhileSubmitting: the accounts whose orders Match fills keep submitting
// while Match runs; no Match transaction is invalidated.
func TestExchangeMatchValidWhileSubmitting(t *testing.T) {
	e := network(t)
	reg := exchangeAs(t, e, "regulator", "market")
	sym := runSymbol("BUSY")
	reg.submit("ListInstrument", sym, "USD", "0.01", "1", "FIFO")
	run := uniqueKey("busy")
	const n = 8
	var setup sync.WaitGroup
	clients := make([]*exClient, n)
	accts := make([]string, n)
	for i := range n {
		clients[i] = exchangeAs(t, e, []string{"org1", "org2"}[i%2], "market")
		accts[i] = fmt.Sprintf("%s-%d", run, i)
		setup.Add(1)
		go func() {
			defer setup.Done()
			clients[i].submit("OpenAccount", accts[i])
			clients[i].submit("Deposit", accts[i], "USD", "100000000")
			clients[i].submit("Deposit", accts[i], sym, "100000")
		}()
	}
	setup.Wait()
	ctx, stop := context.WithCancel(context.Background())
	var (
		wg         sync.WaitGroup
		submitted  atomic.Int64
		subErrs    atomic.Int64
		reendorsed atomic.Int64
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			side := []string{"BUY", "SELL"}[i%2]
			for k := 0; ctx.Err() == nil; k++ {
				// Crossing prices around 1000, so Match fills these very accounts.
				px := int64(995 + (k*7+i*3)%11)
				// An account's next submit right after its previous one may meet an endorser
				// that has not committed that block yet (ProposalResponsePayloads do not
				// match): endorse again, as every client does.
				var err error
				for try := 0; try < 5; try++ {
					if _, err = clients[i].trySubmit("SubmitOrder", orderJSON(accts[i], sym, side, px, 1+int64(k%3))); err == nil ||
						!strings.Contains(fabnet.Describe(err), "ProposalResponsePayloads do not match") {
						break
					}
					reendorsed.Add(1)
					time.Sleep(100 * time.Millisecond)
				}
				if err != nil {
					subErrs.Add(1)
					t.Logf("submit %d: %s", i, fabnet.Describe(err))
					continue
				}
				submitted.Add(1)
			}
		}()
	}
	// Every Match event of the symbol, to tell our Matches from the gateways' scheduled ones.
	type seen struct {
		txID string
		at   time.Time
	}
	var (
		evMu    sync.Mutex
		matchEv []seen
	)
	ectx, ecancel := context.WithCancel(context.Background())
	defer ecancel()
	events, err := e.gateway(t, "org3").GetNetwork("market").ChaincodeEvents(ectx, "exchange")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for ev := range events {
			if ev.EventName == "Match" && strings.Contains(string(ev.Payload), `"symbol":"`+sym+`"`) {
				evMu.Lock()
				matchEv = append(matchEv, seen{ev.TransactionID, time.Now()})
				evMu.Unlock()
			}
		}
	}()
	matcher := exchangeAs(t, e, "org3", "market")
	type attempt struct {
		start, end time.Time
	}
	var (
		matches, withTrades, trades int
		lost                        []attempt
		mine                        = map[string]bool{}
	)
	deadline := time.Now().Add(25 * time.Second)
	for time.Now().Before(deadline) {
		a := attempt{start: time.Now()}
		r, txID, contended := matcher.tryMatch(sym)
		a.end = time.Now()
		mine[txID] = true
		if contended {
			lost = append(lost, a)
			continue
		}
		matches++
		if len(r.Trades) > 0 {
			withTrades++
			trades += len(r.Trades)
		}
		time.Sleep(300 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // let the last events arrive
	evMu.Lock()
	foreign := 0
	for _, ev := range matchEv {
		if !mine[ev.txID] {
			foreign++
		}
	}
	// A Match of ours that lost must have lost to another Match committed meanwhile, never to
	// the submits.
	for _, a := range lost {
		found := false
		for _, ev := range matchEv {
			if !mine[ev.txID] && ev.at.After(a.start.Add(-3*time.Second)) && ev.at.Before(a.end.Add(3*time.Second)) {
				found = true
			}
		}
		if !found {
			t.Errorf("a Match started at %v was invalidated with no other Match of %s around: the submits conflicted with it", a.start.Format(time.TimeOnly), sym)
		}
	}
	evMu.Unlock()
	stop()
	wg.Wait()
	all := unmarshal[struct{ Trades []xTrade }](t, reg.eval("ListTrades", sym, "", "1000")).Trades
	if len(all) == 0 || matches == 0 {
		t.Fatalf("no fills (%d valid Matches of ours, %d submits)", matches, submitted.Load())
	}
	if subErrs.Load() != 0 {
		t.Errorf("%d submits failed", subErrs.Load())
	}
	audit := unmarshal[map[string]struct{ OK bool }](t, reg.eval("Audit"))
	for asset, a := range audit {
		if !a.OK {
			t.Errorf("audit %s not balanced", asset)
		}
	}
	t.Logf("%d of our Match transactions VALID (%d with fills, %d trades; %d trades in all) while %d accounts committed %d submits (%d re-endorsed after endorser lag); %d of ours lost to the %d Matches the gateways' schedulers ran meanwhile (Match vs Match, by design), none to a submit",
		matches, withTrades, trades, len(all), n, submitted.Load(), reendorsed.Load(), len(lost), foreign)
}

// contractAs returns a client of one of the exchange chaincode's other contracts.
func contractAs(t testing.TB, e *env, org, channel, name string) *exClient {
	return &exClient{t: t, e: e, ch: channel, org: org, c: e.gateway(t, org).GetNetwork(channel).GetContractWithName("exchange", name)}
}

// wantCode submits fn and expects the chaincode to refuse it with code.
func (x *exClient) wantCode(code, fn string, args ...string) {
	x.t.Helper()
	_, err := x.trySubmit(fn, args...)
	if err == nil || !strings.Contains(fabnet.Describe(err), code+": ") {
		x.t.Fatalf("%s %s%q: %v, want %s", x.org, fn, args, fabnet.Describe(err), code)
	}
}

// TestExchangeEscrowAndSwap: a DvP escrow agreement settles once; a cross-channel HTLC swap
// (shares on market, cash on payments) completes; a wrong preimage and an early refund are
// refused; a lock nobody claims is refunded after its timelock; the audit balances on both
// channels.
func TestExchangeEscrowAndSwap(t *testing.T) {
	e := network(t)
	reg := exchangeAs(t, e, "regulator", "market")
	sym := runSymbol("DVP")
	reg.submit("ListInstrument", sym, "USD", "0.01", "1", "FIFO")
	run := uniqueKey("dvp")
	seller, buyer := run+"-s", run+"-b"
	m1, m2 := exchangeAs(t, e, "org1", "market"), exchangeAs(t, e, "org2", "market")
	p1, p2 := exchangeAs(t, e, "org1", "payments"), exchangeAs(t, e, "org2", "payments")
	m2.submit("OpenAccount", seller)
	m2.submit("Deposit", seller, sym, "100")
	m1.submit("OpenAccount", buyer)
	m1.submit("Deposit", buyer, "USD", "1000000")
	p1.submit("OpenAccount", buyer)
	p1.submit("Deposit", buyer, "USD", "500000")
	p2.submit("OpenAccount", seller)

	// Escrow: proposed by the buyer's org, affirmed and funded by both, settled once.
	s1, s2 := contractAs(t, e, "org1", "market", "settlement"), contractAs(t, e, "org2", "market", "settlement")
	agr := run + "-agr"
	deadline := time.Now().Add(10 * time.Minute).UTC().Format(time.RFC3339)
	s1.submit("Propose", fmt.Sprintf(`{"settlementId":%q,"seller":%q,"buyer":%q,"symbol":%q,"quantity":10,"price":2030,"currency":"USD","deadline":%q,"allowPartial":false,"notary":""}`,
		agr, seller, buyer, sym, deadline))
	s2.submit("Affirm", agr)
	s2.submit("Fund", agr, "", "")
	a := unmarshal[struct{ Status string }](t, s1.submit("Fund", agr, "", ""))
	if a.Status != "SETTLED" {
		t.Fatalf("agreement %+v", a)
	}
	s1.wantCode("CONFLICT", "Fund", agr, "", "")
	if b := m1.balance(buyer, sym); b.Available != 10 {
		t.Fatalf("buyer shares %+v", b)
	}
	if b := m2.balance(seller, "USD"); b.Available != 20_300 {
		t.Fatalf("seller cash %+v", b)
	}

	// Swap: the seller (initiator) locks 5 shares on market with the longer timelock, the
	// buyer locks 10,150 cents on payments with the shorter; the seller claims the cash,
	// revealing the preimage, which the buyer uses to claim the shares.
	pre := make([]byte, 32)
	if _, err := rand.Read(pre); err != nil {
		t.Fatal(err)
	}
	preHex := hex.EncodeToString(pre)
	sum := sha256.Sum256(pre)
	hash := hex.EncodeToString(sum[:])
	lock := func(id, asset string, amount int64, from, to string, d time.Duration) string {
		return fmt.Sprintf(`{"htlcId":%q,"asset":%q,"amount":%d,"sender":%q,"receiver":%q,"hashlock":%q,"timelock":%q}`,
			id, asset, amount, from, to, hash, time.Now().Add(d).UTC().Format(time.RFC3339Nano))
	}
	hm1, hm2 := contractAs(t, e, "org1", "market", "htlc"), contractAs(t, e, "org2", "market", "htlc")
	hp1, hp2 := contractAs(t, e, "org1", "payments", "htlc"), contractAs(t, e, "org2", "payments", "htlc")
	hm2.submit("Lock", lock(run+"-shares", sym, 5, seller, buyer, 10*time.Minute))
	hp1.submit("Lock", lock(run+"-cash", "USD", 10_150, buyer, seller, 5*time.Minute))
	hp2.wantCode("INVALID_ARGUMENT", "Claim", run+"-cash", strings.Repeat("00", 32))
	hp1.wantCode("CONFLICT", "Refund", run+"-cash")
	hp2.submit("Claim", run+"-cash", preHex)
	revealed := unmarshal[struct{ Preimage string }](t, hp1.eval("Get", run+"-cash")).Preimage
	hm1.submit("Claim", run+"-shares", revealed)
	if b := m1.balance(buyer, sym); b.Available != 15 {
		t.Fatalf("buyer shares after swap %+v", b)
	}
	if b := p2.balance(seller, "USD"); b.Available != 10_150 {
		t.Fatalf("seller cash on payments %+v", b)
	}

	// A lock the counterparty never claims: refunded once the timelock has passed.
	hp1.submit("Lock", lock(run+"-gone", "USD", 1_000, buyer, seller, 3*time.Second))
	time.Sleep(4 * time.Second)
	hp1.submit("Refund", run+"-gone")
	if b := p1.balance(buyer, "USD"); b.Available != 500_000-10_150 || b.Escrowed != 0 {
		t.Fatalf("buyer cash on payments %+v", b)
	}
	for _, ch := range []string{"market", "payments"} {
		audit := unmarshal[map[string]struct {
			Held int64
			OK   bool
		}](t, exchangeAs(t, e, "regulator", ch).eval("Audit"))
		for asset, x := range audit {
			if !x.OK {
				t.Errorf("%s audit %s not balanced", ch, asset)
			}
		}
	}
	t.Logf("escrow %s settled once (second fund refused), swap %s completed across market and payments, expired lock refunded; audits balanced", agr, run)
}
