package book

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// impls lists the engines every behavioural test runs against.
var impls = []struct {
	name string
	make func(Config) (Engine, error)
}{
	{"book", func(c Config) (Engine, error) { return NewBook(c) }},
	{"reference", func(c Config) (Engine, error) { return NewReference(c) }},
}

func mustEngine(t testing.TB, mk func(Config) (Engine, error), cfg Config) Engine {
	t.Helper()
	e, err := mk(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

type opt func(*Order)

func tif(x TimeInForce) opt { return func(o *Order) { o.TIF = x } }
func gtt(at int64) opt      { return func(o *Order) { o.TIF, o.ExpireTime = GTT, at } }

func lim(id, acct string, s Side, px, qty int64, opts ...opt) Order {
	o := Order{ID: id, Account: acct, Side: s, Type: Limit, TIF: GTC, Price: px, Qty: qty}
	for _, f := range opts {
		f(&o)
	}
	return o
}

func mkt(id, acct string, s Side, qty, maxNotional int64, opts ...opt) Order {
	o := Order{ID: id, Account: acct, Side: s, Type: Market, TIF: IOC, Qty: qty, MaxNotional: maxNotional}
	for _, f := range opts {
		f(&o)
	}
	return o
}

func stp(id, acct string, s Side, stopPx, qty, maxNotional int64, opts ...opt) Order {
	o := Order{ID: id, Account: acct, Side: s, Type: Stop, TIF: GTC, StopPrice: stopPx, Qty: qty, MaxNotional: maxNotional}
	for _, f := range opts {
		f(&o)
	}
	return o
}

func stpLim(id, acct string, s Side, stopPx, px, qty int64, opts ...opt) Order {
	o := Order{ID: id, Account: acct, Side: s, Type: StopLimit, TIF: GTC, StopPrice: stopPx, Price: px, Qty: qty}
	for _, f := range opts {
		f(&o)
	}
	return o
}

// fmtEvent renders an event compactly:
//
//	T#<seq> <maker><-<taker> <qty>@<price>
//	U <id> <STATUS> <reason or -> <filled>/<remaining>
func fmtEvent(e Event) string {
	if e.Kind == EventTrade {
		t := e.Trade
		return fmt.Sprintf("T#%d %s<-%s %d@%d", t.Seq, t.MakerOrderID, t.TakerOrderID, t.Qty, t.Price)
	}
	u := e.Update
	r := string(u.Reason)
	if r == "" {
		r = "-"
	}
	return fmt.Sprintf("U %s %s %s %d/%d", u.OrderID, u.Status, r, u.Filled, u.Remaining)
}

func fmtEvents(evs []Event) []string {
	out := make([]string, 0, len(evs))
	for _, e := range evs {
		out = append(out, fmtEvent(e))
	}
	return out
}

func diffLines(want, got []string) string {
	if slices.Equal(want, got) {
		return ""
	}
	return "want:\n  " + strings.Join(want, "\n  ") + "\ngot:\n  " + strings.Join(got, "\n  ")
}

// step is one operation of a scenario.
type step struct {
	now     int64
	orders  []Order // Process(now, orders, budget)
	budget  Budget
	cancel  string
	replace string
	amend   Amend
	expire  bool
	want    []string // expected events; nil: not checked
	wantErr error
	pending *bool
}

func (s step) apply(e Engine) (Result, error) {
	switch {
	case s.cancel != "":
		return e.Cancel(s.cancel)
	case s.replace != "":
		return e.Replace(s.now, s.replace, s.amend, s.budget)
	case s.expire:
		return e.Expire(s.now), nil
	}
	return e.Process(s.now, s.orders, s.budget), nil
}

func ptrBool(b bool) *bool { return &b }

type scenario struct {
	name       string
	cfg        Config
	steps      []step
	bids, asks []Level // final depth; nil: not checked ([]Level{} = empty)
}

func runScenarios(t *testing.T, cases []scenario) {
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					e := mustEngine(t, im.make, tc.cfg)
					for i, s := range tc.steps {
						res, err := s.apply(e)
						if !errors.Is(err, s.wantErr) || (err != nil && s.wantErr == nil) {
							t.Fatalf("step %d: err = %v, want %v", i, err, s.wantErr)
						}
						if s.want != nil {
							if d := diffLines(s.want, fmtEvents(res.Events)); d != "" {
								t.Fatalf("step %d events:\n%s", i, d)
							}
						}
						if s.pending != nil && res.Pending != *s.pending {
							t.Fatalf("step %d: Pending = %v, want %v", i, res.Pending, *s.pending)
						}
						checkInvariants(t, e)
					}
					if tc.bids != nil {
						if got := e.Depth(Buy, 0); !slices.Equal(got, tc.bids) {
							t.Errorf("bids = %v, want %v", got, tc.bids)
						}
					}
					if tc.asks != nil {
						if got := e.Depth(Sell, 0); !slices.Equal(got, tc.asks) {
							t.Errorf("asks = %v, want %v", got, tc.asks)
						}
					}
				})
			}
		})
	}
}

// checkInvariants verifies properties that must hold after every operation.
func checkInvariants(t testing.TB, e Engine) {
	t.Helper()
	bids, asks := e.Depth(Buy, 1), e.Depth(Sell, 1)
	if len(bids) > 0 && len(asks) > 0 && bids[0].Price >= asks[0].Price {
		t.Fatalf("book crossed: bid %d >= ask %d", bids[0].Price, asks[0].Price)
	}
	s := e.Snapshot()
	for i, o := range s.Orders {
		if i > 0 && s.Orders[i-1].Seq >= o.Seq {
			t.Fatalf("snapshot not in ascending sequence")
		}
		if o.Filled < 0 || o.Filled >= o.Order.Qty {
			t.Fatalf("order %s: filled %d of %d", o.Order.ID, o.Filled, o.Order.Qty)
		}
		if o.Order.MaxNotional > 0 && o.FilledNotional > o.Order.MaxNotional {
			t.Fatalf("order %s: notional %d over cap %d", o.Order.ID, o.FilledNotional, o.Order.MaxNotional)
		}
	}
	if b, ok := e.(*Book); ok {
		checkBookStructure(t, b)
	}
}

// checkBookStructure walks the fast book's internals: levels sorted, totals and counts right,
// FIFO (ascending sequence) within every level, index consistent.
func checkBookStructure(t testing.TB, b *Book) {
	t.Helper()
	seen := 0
	for _, l := range []*ladder{&b.bids, &b.asks, &b.buyStops, &b.sellStops} {
		for i, lvl := range l.lv {
			if i > 0 {
				prev := l.lv[i-1].price
				if (!l.desc && prev >= lvl.price) || (l.desc && prev <= lvl.price) {
					t.Fatalf("ladder out of order at %d", lvl.price)
				}
			}
			var total int64
			count := 0
			var last uint64
			for n := lvl.head; n != nil; n = n.next {
				if n.seq <= last {
					t.Fatalf("FIFO broken at level %d: seq %d after %d", lvl.price, n.seq, last)
				}
				last = n.seq
				if n.lvl != lvl || b.index[n.o.ID] != n {
					t.Fatalf("node %s not linked consistently", n.o.ID)
				}
				total += n.rem()
				count++
			}
			if count == 0 || count != lvl.count {
				t.Fatalf("level %d count %d, walked %d", lvl.price, lvl.count, count)
			}
			if l == &b.bids || l == &b.asks {
				if total != lvl.total {
					t.Fatalf("level %d total %d, walked %d", lvl.price, lvl.total, total)
				}
			}
			seen += count
		}
	}
	var last uint64
	for _, n := range b.queue {
		if n.seq <= last || n.loc != InQueue {
			t.Fatalf("queue out of order")
		}
		last = n.seq
	}
	seen += len(b.queue)
	if seen != len(b.index) {
		t.Fatalf("index has %d orders, structures %d", len(b.index), seen)
	}
}
