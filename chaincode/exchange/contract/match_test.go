package contract

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/fabmarket/fabmarket/chaincode/internal/stubtest"
)

// TestSeedExampleBook enters orders #1–#6 of the seed's price-time table in their time order,
// matches, checks the book, then crosses it and checks fills, prices, balances, reservations.
func TestSeedExampleBook(t *testing.T) {
	e := newEnv(t)
	e.setup(AlgoFIFO)
	seed := []struct {
		org  string
		acct string
		side string
		min  int
		px   int64
		qty  int64
	}{
		{org2, "s1", "SELL", 1, 2030, 100},
		{org2, "s2", "SELL", 3, 2025, 100},
		{org2, "s3", "SELL", 5, 2030, 200},
		{org1, "b4", "BUY", 6, 2015, 100},
		{org1, "b5", "BUY", 8, 2020, 200},
		{org1, "b6", "BUY", 9, 2015, 200},
	}
	ids := map[string]string{}
	for _, s := range seed {
		e.at(day.Add(time.Duration(s.min) * time.Minute))
		o := e.submit(s.org, limit(s.acct, s.side, s.px, s.qty))
		if o.Status != StatusPending || o.OrderID == "" {
			t.Fatalf("submitted %+v", o)
		}
		ids[s.acct] = o.OrderID
	}
	// Submitting reserved: s1 100 shares, b5 2020×200 cents.
	if b := e.bal(org2, "s1", "ACME"); b.Available != 900 || b.Reserved != 100 {
		t.Fatalf("s1 ACME %+v", b)
	}
	if b := e.bal(org1, "b5", "USD"); b.Available != 100_000_000-404_000 || b.Reserved != 404_000 {
		t.Fatalf("b5 USD %+v", b)
	}
	r := e.match("ACME")
	if len(r.Trades) != 0 || r.Processed != 6 || r.More {
		t.Fatalf("match: %+v", r)
	}
	wantAsks := []Level{{2025, 100, 1}, {2030, 300, 2}}
	wantBids := []Level{{2020, 200, 1}, {2015, 300, 2}}
	if !slices.Equal(r.Book.Asks, wantAsks) || !slices.Equal(r.Book.Bids, wantBids) {
		t.Fatalf("event book %+v", r.Book)
	}
	v := e.bookView("ACME")
	if !slices.Equal(v.Asks, wantAsks) || !slices.Equal(v.Bids, wantBids) {
		t.Fatalf("GetBook %+v", v)
	}
	if o := e.order(org2, ids["s1"]); o.Status != "NEW" || o.Location != "BOOK" || o.Seq != 1 {
		t.Fatalf("#1 %+v", o)
	}
	// Nothing left to do: Match writes nothing and emits nothing.
	_, tx, err := e.run(e.market, org3, func(tx *stubtest.Tx) (string, error) { return e.ex.Match(tx, "ACME") })
	if err != nil || len(tx.Writes()) != 0 {
		t.Fatalf("idle match: %v, writes %v", err, tx.Writes())
	}
	if name, _ := tx.Event(); name != "" {
		t.Fatalf("idle match event %q", name)
	}

	// #7: buy 250 up to 20.30 → #2 100@20.25, #1 100@20.30, #3 50@20.30.
	e.at(day.Add(10 * time.Minute))
	o7 := e.submit(org1, limit("b7", "BUY", 2030, 250))
	if b := e.bal(org1, "b7", "USD"); b.Reserved != 2030*250 {
		t.Fatalf("b7 reservation %+v", b)
	}
	r = e.match("ACME")
	type fill struct {
		px, qty int64
		sell    string
	}
	var got []fill
	for _, tr := range r.Trades {
		got = append(got, fill{tr.Price, tr.Quantity, tr.SellOrderID})
		if tr.BuyOrderID != o7.OrderID || tr.BuyAccount != "b7" || tr.Cash != tr.Price*tr.Quantity || tr.Currency != "USD" {
			t.Fatalf("trade %+v", tr)
		}
	}
	want := []fill{{2025, 100, ids["s2"]}, {2030, 100, ids["s1"]}, {2030, 50, ids["s3"]}}
	if !slices.Equal(got, want) {
		t.Fatalf("fills %+v, want %+v", got, want)
	}
	if r.Trades[0].TradeID != "ACME-1" || r.Trades[2].TradeID != "ACME-3" {
		t.Fatalf("trade ids %s %s", r.Trades[0].TradeID, r.Trades[2].TradeID)
	}
	events := e.market.Events()
	if last := events[len(events)-1]; last.Name != "Match" {
		t.Fatalf("last event %s", last.Name)
	}
	// Balances: b7 paid 202,500 + 304,500 = 507,000 of its 507,500 reservation; the 500 of
	// price improvement is back in available.
	if b := e.bal(org1, "b7", "USD"); b.Available != 100_000_000-507_000 || b.Reserved != 0 {
		t.Fatalf("b7 USD %+v", b)
	}
	if b := e.bal(org1, "b7", "ACME"); b.Available != 250 || b.Reserved != 0 {
		t.Fatalf("b7 ACME %+v", b)
	}
	for _, c := range []struct {
		acct           string
		cash, sh, res  int64
		status         string
		filled, remain int64
	}{
		{"s1", 203_000, 900, 0, "FILLED", 100, 0},
		{"s2", 202_500, 900, 0, "FILLED", 100, 0},
		{"s3", 101_500, 800, 150, "PARTIALLY_FILLED", 50, 150},
	} {
		if b := e.bal(org2, c.acct, "USD"); b.Available != c.cash || b.Reserved != 0 {
			t.Errorf("%s USD %+v", c.acct, b)
		}
		if b := e.bal(org2, c.acct, "ACME"); b.Available != c.sh || b.Reserved != c.res {
			t.Errorf("%s ACME %+v", c.acct, b)
		}
		o := e.order(org2, ids[c.acct])
		if o.Status != c.status || o.FilledQuantity != c.filled || o.RemainingQuantity != c.remain || o.Reserved != c.res {
			t.Errorf("%s order %+v", c.acct, o)
		}
	}
	if o := e.order(org1, o7.OrderID); o.Status != "FILLED" || o.FilledCash != 507_000 || o.Reserved != 0 {
		t.Fatalf("#7 %+v", o)
	}
	v = e.bookView("ACME")
	if !slices.Equal(v.Asks, []Level{{2030, 150, 1}}) || v.LastPrice != 2030 {
		t.Fatalf("book after cross %+v", v)
	}
	trades := decode[TradePage](t, e.ok(org1, func(tx *stubtest.Tx) (string, error) { return e.ex.ListTrades(tx, "ACME", "", "2") }))
	if len(trades.Trades) != 2 || trades.Next != "ACME-2" {
		t.Fatalf("trades page 1 %+v", trades)
	}
	trades = decode[TradePage](t, e.ok(org1, func(tx *stubtest.Tx) (string, error) { return e.ex.ListTrades(tx, "ACME", "ACME-2", "2") }))
	if len(trades.Trades) != 1 || trades.Next != "" {
		t.Fatalf("trades page 2 %+v", trades)
	}
	e.audit(e.market)
}

// TestMatchNeverConflictsWithSubmit simulates a Match and, concurrently, submits, cancels,
// deposits and a withdrawal of the very accounts whose orders the Match fills; whatever the
// commit order, the Match stays valid.
func TestMatchNeverConflictsWithSubmit(t *testing.T) {
	for _, matchFirst := range []bool{false, true} {
		e := newEnv(t)
		e.setup(AlgoFIFO)
		sell := e.submit(org2, limit("s1", "SELL", 2000, 100))
		e.submit(org1, limit("b4", "BUY", 2000, 60))
		e.now = e.now.Add(3 * time.Second)
		m := e.market.NewTx(org3, e.now)
		if _, err := e.ex.Match(m, "ACME"); err != nil {
			t.Fatal(err)
		}
		if len(m.Writes()) == 0 {
			t.Fatal("match wrote nothing")
		}
		// Meanwhile, at the same instant, the same accounts keep working.
		var others []*stubtest.Tx
		for _, f := range []struct {
			org string
			fn  func(tx *stubtest.Tx) (string, error)
		}{
			{org2, func(tx *stubtest.Tx) (string, error) { return e.ex.SubmitOrder(tx, js(limit("s1", "SELL", 2100, 10))) }},
			{org1, func(tx *stubtest.Tx) (string, error) { return e.ex.SubmitOrder(tx, js(limit("b4", "BUY", 1900, 10))) }},
			{org2, func(tx *stubtest.Tx) (string, error) { return e.ex.CancelOrder(tx, sell.OrderID) }},
			{org1, func(tx *stubtest.Tx) (string, error) { return e.ex.Deposit(tx, "b5", "USD", "100") }},
			{org2, func(tx *stubtest.Tx) (string, error) { return e.ex.Withdraw(tx, "s2", "ACME", "5") }},
		} {
			tx := e.market.NewTx(f.org, e.now)
			if _, err := f.fn(tx); err != nil {
				t.Fatal(err)
			}
			others = append(others, tx)
		}
		if matchFirst {
			if err := m.Commit(); err != nil {
				t.Fatalf("match: %v", err)
			}
		}
		for _, tx := range others {
			if err := tx.Commit(); err != nil {
				t.Fatalf("concurrent tx: %v", err)
			}
		}
		if !matchFirst {
			if err := m.Commit(); err != nil {
				t.Fatalf("match after the submits: %v", err)
			}
		}
		if e.market.Invalid() != 0 {
			t.Fatalf("%d invalid", e.market.Invalid())
		}
		r := e.match("ACME") // takes the new orders and the cancel
		if len(r.Trades) != 0 || r.Processed != 3 {
			t.Fatalf("second match %+v", r)
		}
		if o := e.order(org2, sell.OrderID); o.Status != "CANCELED" || o.FilledQuantity != 60 {
			t.Fatalf("canceled sell %+v", o)
		}
		if b := e.bal(org2, "s1", "ACME"); b.Available != 1000-60-10 || b.Reserved != 10 {
			t.Fatalf("s1 ACME %+v", b)
		}
		e.audit(e.market)
	}
}

// TestSubmitsOfDifferentAccountsNeverConflict: 32 submits of 32 accounts simulated at once on
// one symbol all commit; two submits of one account conflict on its balance (the gateway
// serializes an account's submits).
func TestSubmitsOfDifferentAccountsNeverConflict(t *testing.T) {
	e := newEnv(t)
	e.setup(AlgoFIFO)
	var txs []*stubtest.Tx
	for i := 0; i < 32; i++ {
		acct := fmt.Sprintf("c%02d", i)
		org, req := org1, limit(acct, "BUY", 1000+int64(i), 1)
		if i%2 == 1 {
			org, req = org2, limit(acct, "SELL", 3000+int64(i), 1)
		}
		e.open(org, acct)
		e.deposit(org, acct, map[string]string{org1: "USD", org2: "ACME"}[org], 1_000_000)
		tx := e.market.NewTx(org, e.now)
		if _, err := e.ex.SubmitOrder(tx, js(req)); err != nil {
			t.Fatal(err)
		}
		txs = append(txs, tx)
	}
	for _, tx := range txs {
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	r := e.match("ACME")
	if r.Processed != 32 || len(r.Book.Bids) != 10 || r.Book.Bids[0].Price != 1030 {
		t.Fatalf("match %+v", r)
	}
	a := e.market.NewTx(org1, e.now)
	b := e.market.NewTx(org1, e.now)
	for _, tx := range []*stubtest.Tx{a, b} {
		if _, err := e.ex.SubmitOrder(tx, js(limit("c00", "BUY", 1000, 1))); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(); !errors.Is(err, stubtest.MVCCReadConflict) {
		t.Fatalf("same-account submit: %v", err)
	}
}

// TestMatchPhantomSafety: a Submit of the current epoch lands outside the range Match read.
func TestMatchPhantomSafety(t *testing.T) {
	e := newEnv(t)
	e.setup(AlgoFIFO)
	e.submit(org2, limit("s1", "SELL", 2000, 10))
	e.now = e.now.Add(3 * time.Second)
	m := e.market.NewTx(org3, e.now)
	if _, err := e.ex.Match(m, "ACME"); err != nil {
		t.Fatal(err)
	}
	// A submit endorsed one epoch earlier than the Match but committed after it.
	late := e.market.NewTx(org1, e.now.Add(-time.Second))
	if _, err := e.ex.SubmitOrder(late, js(limit("b4", "BUY", 2000, 5))); err != nil {
		t.Fatal(err)
	}
	if err := late.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := m.Commit(); err != nil {
		t.Fatalf("match: %v", err)
	}
	// And a Match racing another Match: one of them fails validation, harmlessly.
	m1 := e.market.NewTx(org1, e.now.Add(5*time.Second))
	m2 := e.market.NewTx(org2, e.now.Add(5*time.Second))
	for _, tx := range []*stubtest.Tx{m1, m2} {
		if _, err := e.ex.Match(tx, "ACME"); err != nil {
			t.Fatal(err)
		}
	}
	if err := m1.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := m2.Commit(); !errors.Is(err, stubtest.MVCCReadConflict) && !errors.Is(err, stubtest.PhantomReadConflict) {
		t.Fatalf("duplicate match: %v", err)
	}
}

// TestMatchDeterministic endorses the same Match proposal (same tx id and timestamp) several
// times on the same state, as several peers do, and requires identical results, write sets
// and events.
func TestMatchDeterministic(t *testing.T) {
	e := newEnv(t)
	e.setup(AlgoFIFO)
	for i := 0; i < 20; i++ {
		acct := []string{"s1", "s2", "s3"}[i%3]
		e.submit(org2, limit(acct, "SELL", 1000+int64(i%4), 5))
		gtt := limit([]string{"b4", "b5", "b6", "b7"}[i%4], "BUY", 1000+int64(i%5), 3)
		gtt.TimeInForce, gtt.ExpireTime = "GTT", e.now.Add(time.Duration(i+1)*time.Second).Format(time.RFC3339Nano)
		e.submit(org1, gtt)
	}
	ts := e.now.Add(3 * time.Second)
	var first map[string][]byte
	var firstOut, firstEv string
	for k := 0; k < 5; k++ {
		tx := e.market.NewTx(org3, ts, stubtest.WithTxID("same-tx"))
		out, err := e.ex.Match(tx, "ACME")
		if err != nil {
			t.Fatal(err)
		}
		name, ev := tx.Event()
		ws := tx.WriteSet()
		if k == 0 {
			first, firstOut, firstEv = ws, out, name+string(ev)
			if len(decode[MatchResult](t, out).Trades) == 0 {
				t.Fatal("no trades")
			}
			continue
		}
		if out != firstOut || name+string(ev) != firstEv || len(ws) != len(first) {
			t.Fatalf("endorsement %d differs", k)
		}
		for key, v := range ws {
			if string(first[key]) != string(v) {
				t.Fatalf("endorsement %d writes %s = %s, first %s", k, key, v, first[key])
			}
		}
	}
}
