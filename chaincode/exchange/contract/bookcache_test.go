package contract

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/fabmarket/fabmarket/chaincode/internal/stubtest"
)

// cacheWorkload drives one env through a random but seeded trading session on ACME: limit,
// stop, IOC, FOK and GTT orders, cancels and replaces, Matches, Matches endorsed and never
// committed (an evaluation, a lost proposal) and Matches that race another and fail
// validation. The same seed gives the same transactions (ids and timestamps) on every env.
func cacheWorkload(t *testing.T, e *env, seed uint64, steps int) []string {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 7))
	sellers, buyers := []string{"s1", "s2", "s3"}, []string{"b4", "b5", "b6", "b7"}
	var ids, outs []string
	for i := 0; i < steps; i++ {
		e.now = e.now.Add(time.Duration(r.IntN(1500)) * time.Millisecond)
		switch k := r.IntN(20); {
		case k < 9: // an order
			buy := r.IntN(2) == 0
			req := limit(sellers[r.IntN(3)], "SELL", 995+int64(r.IntN(10)), 1+int64(r.IntN(4)))
			org := org2
			if buy {
				req, org = limit(buyers[r.IntN(4)], "BUY", 995+int64(r.IntN(10)), 1+int64(r.IntN(4))), org1
			}
			switch r.IntN(6) {
			case 0:
				req.TimeInForce = "IOC"
			case 1:
				req.TimeInForce = "FOK"
			case 2:
				req.TimeInForce, req.ExpireTime = "GTT", e.now.Add(time.Duration(1+r.IntN(8))*time.Second).Format(time.RFC3339Nano)
			case 3:
				req.Type, req.StopPrice = "STOP_LIMIT", req.Price
			}
			out, _, err := e.run(e.market, org, func(tx *stubtest.Tx) (string, error) { return e.ex.SubmitOrder(tx, js(req)) })
			if err == nil {
				ids = append(ids, decode[*Order](t, out).OrderID)
			}
			outs = append(outs, out+fmt.Sprint(err))
		case k < 11 && len(ids) > 0: // cancel
			id := ids[r.IntN(len(ids))]
			o := e.order(reg, id)
			out, _, err := e.run(e.market, o.Org, func(tx *stubtest.Tx) (string, error) { return e.ex.CancelOrder(tx, id) })
			outs = append(outs, out+fmt.Sprint(err))
		case k < 12 && len(ids) > 0: // replace
			id := ids[r.IntN(len(ids))]
			o := e.order(reg, id)
			req := ReplaceRequest{Quantity: 1 + int64(r.IntN(5)), Price: o.Price, StopPrice: o.StopPrice}
			out, _, err := e.run(e.market, o.Org, func(tx *stubtest.Tx) (string, error) { return e.ex.ReplaceOrder(tx, id, js(req)) })
			outs = append(outs, out+fmt.Sprint(err))
		case k < 14: // a Match endorsed but never committed
			e.now = e.now.Add(time.Second)
			tx := e.market.NewTx(org3, e.now)
			out, err := e.ex.Match(tx, "ACME")
			outs = append(outs, out+fmt.Sprint(err))
		case k < 15: // two Matches racing: the second fails validation
			e.now = e.now.Add(3 * time.Second)
			m1, m2 := e.market.NewTx(org1, e.now), e.market.NewTx(org2, e.now)
			for _, tx := range []*stubtest.Tx{m1, m2} {
				out, err := e.ex.Match(tx, "ACME")
				outs = append(outs, out+fmt.Sprint(err))
			}
			if err := m1.Commit(); err != nil {
				t.Fatal(err)
			}
			if err := m2.Commit(); err != nil && !errors.Is(err, stubtest.MVCCReadConflict) && !errors.Is(err, stubtest.PhantomReadConflict) {
				t.Fatal(err)
			}
		default:
			outs = append(outs, js(e.match("ACME")))
		}
	}
	return outs
}

// ledgerDump is every key and value of l.
func ledgerDump(l *stubtest.Ledger) string {
	var b strings.Builder
	for _, k := range l.Keys("") {
		fmt.Fprintf(&b, "%s=%s\n", k, l.Get(k))
	}
	return b.String()
}

// TestBookCacheMatchesScan runs the same random sessions with the book cache and without it
// (every Match scans the book, the reference): every answer and the final ledgers must be
// identical, the cache must have been used, and the audit must hold.
func TestBookCacheMatchesScan(t *testing.T) {
	for seed := uint64(1); seed <= 8; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			cached, scanned := newEnv(t), newEnv(t)
			scanned.ex.books = nil
			for _, e := range []*env{cached, scanned} {
				e.setup(AlgoFIFO)
			}
			a := cacheWorkload(t, cached, seed, 300)
			b := cacheWorkload(t, scanned, seed, 300)
			for i := range a {
				if a[i] != b[i] {
					t.Fatalf("step %d differs:\ncached  %s\nscanned %s", i, a[i], b[i])
				}
			}
			if da, db := ledgerDump(cached.market), ledgerDump(scanned.market); da != db {
				t.Fatal("the ledgers differ")
			}
			if cached.ex.books.hits == 0 {
				t.Fatal("no Match used the cache")
			}
			if au := cached.auditLedger(cached.market, ""); !au.OK {
				t.Fatalf("audit: %v", au.Problems)
			}
		})
	}
}

// TestBookCacheSkipsTheScan: a Match on a book whose version is cached reads bk~ but no
// range of lv~ keys; a cold cache (a restarted chaincode) scans and gives the same result.
func TestBookCacheSkipsTheScan(t *testing.T) {
	e := newEnv(t)
	e.setup(AlgoFIFO)
	for i := 0; i < 5; i++ {
		e.submit(org2, limit("s1", "SELL", int64(2000+i), 10))
	}
	e.match("ACME")
	e.submit(org1, limit("b4", "BUY", 2002, 15))
	e.now = e.now.Add(3 * time.Second)
	// endorse runs the same Match proposal (tx id, timestamp) and returns its answer, its
	// write set and how often it scanned the book.
	endorse := func() (string, string, int) {
		tx := e.market.NewTx(org3, e.now, stubtest.WithTxID("same-proposal"))
		out, err := e.ex.Match(tx, "ACME")
		if err != nil {
			t.Fatal(err)
		}
		return out, js(tx.WriteSet()), len(tx.RangeReads(prefix(pLive, "ACME")))
	}
	outWarm, wsWarm, scans := endorse()
	if scans != 0 {
		t.Fatalf("warm Match scanned lv~ %d times", scans)
	}
	e.ex.books = newBookCache(defaultBookCacheBytes) // the chaincode restarted
	outCold, wsCold, scans := endorse()
	if scans != 1 {
		t.Fatalf("cold Match scanned lv~ %d times, want 1", scans)
	}
	if outWarm != outCold || wsWarm != wsCold {
		t.Fatal("warm and cold Match differ")
	}
}

func TestBookCacheEvicts(t *testing.T) {
	c := newBookCache(40_000)
	book := func(n int) liveBook {
		b := make(liveBook, n)
		for i := range b {
			b[i] = liveOrder{key: fmt.Sprintf("lv~X~A~%04d", i), raw: []byte(`{"orderId":"x"}`)}
		}
		return b
	}
	for i := 0; i < 100; i++ {
		c.put("market", "S", fmt.Sprint(i), book(10))
	}
	if c.bytes > 40_000 || c.get("market", "S", "99") == nil || c.get("market", "S", "0") != nil {
		t.Fatalf("after 100 puts: %d bytes, newest cached %v, oldest cached %v", c.bytes, c.get("market", "S", "99") != nil, c.get("market", "S", "0") != nil)
	}
	c.put("market", "S", "huge", book(100)) // over a quarter of the budget: not kept
	if c.get("market", "S", "huge") != nil {
		t.Fatal("a book over a quarter of the budget was cached")
	}
	if c.get("payments", "S", "99") != nil || c.get("market", "T", "99") != nil {
		t.Fatal("entries are not kept apart by channel and symbol")
	}
	got := c.get("market", "S", "99")
	got[0].order.Quantity = 5
	if c.get("market", "S", "99")[0].order.Quantity != 0 {
		t.Fatal("a caller's change reached the cache")
	}
}
