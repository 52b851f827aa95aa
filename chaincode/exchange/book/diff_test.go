package book

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"reflect"
	"testing"
)

// source yields small random numbers, from math/rand or from fuzz bytes.
type source interface{ intn(n int) int }

type randSource struct{ r *rand.Rand }

func (s randSource) intn(n int) int { return s.r.Intn(n) }

type byteSource struct{ b []byte }

func (s *byteSource) intn(n int) int {
	if len(s.b) == 0 {
		return 0
	}
	v := int(s.b[0])
	s.b = s.b[1:]
	return v % n
}

// op is one generated operation.
type op struct {
	kind   int // 0 process, 1 cancel, 2 replace, 3 expire
	now    int64
	orders []Order
	budget Budget
	id     string
	amend  Amend
}

// gen produces random operations over a narrow price band with few accounts, so that
// crossing, self-trade, stops, expiry and replace all happen often.
type gen struct {
	src  source
	now  int64
	next int
	ids  []string // ids handed out (live or not)
}

func (g *gen) order() Order {
	g.next++
	id := fmt.Sprintf("o%d", g.next)
	g.ids = append(g.ids, id)
	s := g.src
	o := Order{ID: id, Account: fmt.Sprintf("a%d", s.intn(4)), Side: Side(1 + s.intn(2)), Qty: int64(1 + s.intn(10))}
	px := int64(95 + s.intn(11))
	switch k := s.intn(20); {
	case k < 12:
		o.Type, o.Price = Limit, px
	case k < 14:
		o.Type = Market
	case k < 17:
		o.Type, o.StopPrice = Stop, px
	default:
		o.Type, o.StopPrice, o.Price = StopLimit, px, int64(95+s.intn(11))
	}
	tifs := []TimeInForce{GTC, GTC, IOC, FOK, GTT}
	o.TIF = tifs[s.intn(len(tifs))]
	if o.Type == Market && (o.TIF == GTC || o.TIF == GTT) {
		o.TIF = IOC
	}
	if o.TIF == GTT {
		o.ExpireTime = g.now + int64(s.intn(6))
	}
	if o.Side == Buy && (o.Type == Market || o.Type == Stop) {
		o.MaxNotional = int64(50 + s.intn(1500))
	}
	if s.intn(40) == 0 { // an occasional invalid or duplicate order
		if len(g.ids) > 1 && s.intn(2) == 0 {
			o.ID = g.ids[s.intn(len(g.ids)-1)]
		} else {
			o.Qty = 0
		}
	}
	return o
}

// recent returns one of the last ids handed out (likely still live).
func (g *gen) recent() string {
	return g.ids[len(g.ids)-1-g.src.intn(min(len(g.ids), 12))]
}

func (g *gen) op() op {
	s := g.src
	if s.intn(3) == 0 {
		g.now += int64(s.intn(3))
	}
	switch k := s.intn(20); {
	case k < 14 || len(g.ids) == 0:
		o := op{kind: 0, now: g.now}
		for n := 1 + s.intn(3); n > 0; n-- {
			o.orders = append(o.orders, g.order())
		}
		if s.intn(3) == 0 {
			o.budget = Budget{MaxOrders: s.intn(3), MaxFills: s.intn(4)}
		}
		return o
	case k < 16:
		return op{kind: 1, now: g.now, id: g.recent()}
	case k < 19:
		a := Amend{Price: int64(95 + s.intn(11)), StopPrice: int64(95 + s.intn(11)), Qty: int64(1 + s.intn(10))}
		return op{kind: 2, now: g.now, id: g.recent(), amend: a, budget: Budget{MaxFills: s.intn(3)}}
	default:
		return op{kind: 3, now: g.now}
	}
}

// amendFor adapts a random amend to the target order so that many replaces are valid: same
// prices sometimes (in-place reduce), and no limit/stop price where the type has none.
func amendFor(e Engine, o op, src source) Amend {
	a := o.amend
	st, ok := e.Get(o.id)
	if !ok {
		return a
	}
	if src.intn(2) == 0 {
		a.Price, a.StopPrice = st.Order.Price, st.Order.StopPrice
	}
	if st.Order.Type == Limit || st.Order.Type == Market {
		a.StopPrice = 0
	}
	if st.Order.Type == Stop || st.Order.Type == Market {
		a.Price = 0
	}
	if st.Order.Type == StopLimit && st.Location == InBook {
		a.StopPrice = st.Order.StopPrice
	}
	return a
}

func apply(e Engine, o op) (Result, error) {
	switch o.kind {
	case 1:
		return e.Cancel(o.id)
	case 2:
		return e.Replace(o.now, o.id, o.amend, o.budget)
	case 3:
		return e.Expire(o.now), nil
	}
	r := e.Process(o.now, o.orders, o.budget)
	return r, nil
}

func sameResult(a, b Result) bool {
	if len(a.Events) == 0 && len(b.Events) == 0 {
		a.Events, b.Events = nil, nil
	}
	return reflect.DeepEqual(a, b)
}

// ledger tracks fills seen in events to check conservation and bounds.
type ledger struct {
	qty    map[string]int64 // order id → total Qty (latest)
	traded map[string]int64 // order id → Σ trade qty
}

func (l *ledger) observe(t testing.TB, r Result, e Engine) {
	t.Helper()
	for _, ev := range r.Events {
		switch ev.Kind {
		case EventTrade:
			tr := ev.Trade
			if tr.Qty <= 0 || tr.Price <= 0 {
				t.Fatalf("bad trade %+v", tr)
			}
			if tr.BuyAccount() == tr.SellAccount() {
				t.Fatalf("self trade %+v", tr)
			}
			l.traded[tr.MakerOrderID] += tr.Qty
			l.traded[tr.TakerOrderID] += tr.Qty
		case EventUpdate:
			u := ev.Update
			if u.Status == StatusRejected || (u.Status == StatusExpired && u.Seq == 0) {
				continue
			}
			l.qty[u.OrderID] = u.Qty
			if u.Filled != l.traded[u.OrderID] {
				t.Fatalf("order %s: update says filled %d, trades sum %d", u.OrderID, u.Filled, l.traded[u.OrderID])
			}
			if u.Filled > u.Qty || u.Remaining < 0 || (!u.Status.Final() && u.Filled+u.Remaining != u.Qty) {
				t.Fatalf("order %s: filled %d remaining %d of %d", u.OrderID, u.Filled, u.Remaining, u.Qty)
			}
			if u.Status == StatusFilled && u.Filled != u.Qty {
				t.Fatalf("order %s FILLED with %d of %d", u.OrderID, u.Filled, u.Qty)
			}
			if u.Reason == ReasonFOKUnfilled && u.Filled != 0 {
				t.Fatalf("FOK %s killed after fills", u.OrderID)
			}
			if u.Status.Final() { // the id may be reused by a later order
				delete(l.traded, u.OrderID)
			}
		}
	}
	for _, o := range e.Snapshot().Orders {
		if o.Filled != l.traded[o.Order.ID] {
			t.Fatalf("order %s: state filled %d, trades %d", o.Order.ID, o.Filled, l.traded[o.Order.ID])
		}
	}
}

// runDiff drives both engines with ops from src and compares everything after each op.
func runDiff(t testing.TB, cfg Config, src source, nops int) {
	fast, err := NewBook(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := NewReference(cfg)
	g := &gen{src: src}
	lg := &ledger{qty: map[string]int64{}, traded: map[string]int64{}}
	for i := 0; i < nops; i++ {
		o := g.op()
		if o.kind == 2 {
			o.amend = amendFor(ref, o, src)
		}
		rf, errF := apply(fast, o)
		rr, errR := apply(ref, o)
		if !errors.Is(errF, errR) && !(errF != nil && errR != nil && errF.Error() == errR.Error()) {
			t.Fatalf("op %d %+v: errors differ: book %v, reference %v", i, o, errF, errR)
		}
		if !sameResult(rf, rr) {
			t.Fatalf("op %d %+v: results differ:\nbook: %v\nref:  %v", i, o, fmtEvents(rf.Events), fmtEvents(rr.Events))
		}
		sf, sr := fast.Snapshot(), ref.Snapshot()
		if !reflect.DeepEqual(sf, sr) {
			t.Fatalf("op %d: states differ:\nbook: %+v\nref:  %+v", i, sf, sr)
		}
		for _, side := range []Side{Buy, Sell} {
			if df, dr := fast.Depth(side, 3), ref.Depth(side, 3); !reflect.DeepEqual(df, dr) {
				t.Fatalf("op %d: depth differs: %v vs %v", i, df, dr)
			}
		}
		checkInvariants(t, fast)
		lg.observe(t, rf, fast)
		// Snapshot/restore round trip must be exact.
		if i%17 == 0 {
			nb, _ := NewBook(cfg)
			if err := nb.Restore(sf); err != nil {
				t.Fatalf("op %d: restore: %v", i, err)
			}
			if !reflect.DeepEqual(nb.Snapshot(), sf) {
				t.Fatalf("op %d: restore round trip differs", i)
			}
			fast = nb // continue on the restored book
		}
	}
}

func TestDifferentialRandom(t *testing.T) {
	for seed := int64(1); seed <= 60; seed++ {
		for _, alg := range []Algorithm{FIFO, ProRata} {
			t.Run(fmt.Sprintf("seed%d/alg%d", seed, alg), func(t *testing.T) {
				runDiff(t, Config{Algorithm: alg}, randSource{rand.New(rand.NewSource(seed))}, 400)
			})
		}
	}
}

// TestDeterminism runs the same stream twice and compares the JSON of all outputs byte for byte.
func TestDeterminism(t *testing.T) {
	run := func() []byte {
		b, _ := NewBook(Config{})
		g := &gen{src: randSource{rand.New(rand.NewSource(42))}}
		var out []any
		for i := 0; i < 2000; i++ {
			o := g.op()
			if o.kind == 2 {
				o.amend = amendFor(b, o, g.src)
			}
			r, err := apply(b, o)
			out = append(out, r, fmt.Sprint(err))
		}
		out = append(out, b.Snapshot(), b.Depth(Buy, 0), b.Depth(Sell, 0))
		j, err := json.Marshal(out)
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	a, b := run(), run()
	if string(a) != string(b) {
		t.Fatal("same input gave different output")
	}
}

// TestResumable checks that running a stream under tiny budgets (resuming until done) gives the
// same events, work-cap pause updates aside, and the same final state as one unlimited run.
func TestResumable(t *testing.T) {
	for seed := int64(1); seed <= 30; seed++ {
		for _, alg := range []Algorithm{FIFO, ProRata} {
			src := rand.New(rand.NewSource(seed))
			g := &gen{src: randSource{src}}
			var orders []Order
			for i := 0; i < 300; i++ {
				orders = append(orders, g.order())
			}
			one, _ := NewBook(Config{Algorithm: alg})
			want := one.Process(7, orders, Unlimited)
			many, _ := NewBook(Config{Algorithm: alg})
			var got []Event
			rest := orders
			for calls := 0; ; calls++ {
				if calls > 100000 {
					t.Fatal("no progress")
				}
				r := many.Process(7, rest, Budget{MaxOrders: 1 + src.Intn(3), MaxFills: 1 + src.Intn(3)})
				for _, e := range r.Events {
					if e.Kind == EventUpdate && e.Update.Reason == ReasonWorkCap {
						continue
					}
					got = append(got, e)
				}
				rest = rest[r.Consumed:]
				checkInvariants(t, many)
				if len(rest) == 0 && !r.Pending {
					break
				}
				if i := calls % 5; i == 0 { // the state survives a restore between calls
					nb, _ := NewBook(Config{Algorithm: alg})
					if err := nb.Restore(many.Snapshot()); err != nil {
						t.Fatal(err)
					}
					many = nb
				}
			}
			if !reflect.DeepEqual(want.Events, got) {
				t.Fatalf("seed %d alg %d: budgeted run differs", seed, alg)
			}
			if !reflect.DeepEqual(one.Snapshot(), many.Snapshot()) {
				t.Fatalf("seed %d alg %d: final states differ", seed, alg)
			}
		}
	}
}

// FuzzDifferential feeds operation sequences decoded from the fuzz input through both engines.
// The first byte picks the algorithm.
func FuzzDifferential(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
	seed := make([]byte, 512)
	for i := range seed {
		seed[i] = byte(i*37 + i/7)
	}
	f.Add(seed)
	var b8 [8]byte
	binary.LittleEndian.PutUint64(b8[:], 0x0123456789abcdef)
	f.Add(append([]byte{1}, b8[:]...))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		if len(data) > 800 { // keep one input fast: the reference is quadratic
			data = data[:800]
		}
		alg := Algorithm(data[0] % 2)
		src := &byteSource{b: data[1:]}
		runDiff(t, Config{Algorithm: alg}, src, len(data)/4+1)
	})
}
