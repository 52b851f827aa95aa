package book

import (
	"fmt"
	"slices"
	"strconv"
	"testing"
)

// Benchmark book: 10,000 resting orders over 100 price levels (bids 1000..1049, asks
// 1050..1099, 100 orders per level). Run with:
//
//	go test -run '^$' -bench . -benchtime=1s -benchmem -cpu 1 ./chaincode/exchange/book/

const (
	benchLevels   = 100
	benchPerLevel = 100
	benchBlock    = 1000
)

func benchBook(b *testing.B, makerQty int64) *Book {
	b.Helper()
	bk, err := NewBook(Config{})
	if err != nil {
		b.Fatal(err)
	}
	in := make([]Order, 1)
	for l := 0; l < benchLevels; l++ {
		side, px := Buy, int64(1000+l)
		if l >= benchLevels/2 {
			side = Sell
		}
		for k := 0; k < benchPerLevel; k++ {
			in[0] = lim("r"+strconv.Itoa(l*benchPerLevel+k), "m"+strconv.Itoa(k%50), side, px, makerQty)
			bk.Process(0, in, Unlimited)
		}
	}
	if bk.Len() != benchLevels*benchPerLevel {
		b.Fatalf("book has %d orders", bk.Len())
	}
	return bk
}

func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + strconv.Itoa(i)
	}
	return out
}

// both runs f with fresh event slices ("owned") and with a recycled buffer ("reuse").
func both(b *testing.B, f func(*testing.B, bool)) {
	b.Run("owned", func(b *testing.B) { f(b, false) })
	b.Run("reuse", func(b *testing.B) { f(b, true) })
}

func opsPerSec(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// BenchmarkAdd adds a non-crossing limit order at one of the 50 bid levels.
func BenchmarkAdd(b *testing.B) { both(b, benchAdd) }

func benchAdd(b *testing.B, reuse bool) {
	bk := benchBook(b, 10)
	id := ids("a", benchBlock)
	in := make([]Order, 1)
	bk.SetReuseEvents(reuse)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := i % benchBlock
		if j == 0 && i > 0 {
			b.StopTimer()
			for _, x := range id {
				bk.Cancel(x)
			}
			b.StartTimer()
		}
		in[0] = Order{ID: id[j], Account: "t", Side: Buy, Type: Limit, TIF: GTC, Price: int64(1000 + i%50), Qty: 3}
		bk.Process(0, in, Unlimited)
	}
	opsPerSec(b)
}

// BenchmarkCancel cancels one of 1,000 extra orders spread over the bid levels.
func BenchmarkCancel(b *testing.B) { both(b, benchCancel) }

func benchCancel(b *testing.B, reuse bool) {
	bk := benchBook(b, 10)
	id := ids("c", benchBlock)
	in := make([]Order, 1)
	refill := func() {
		for j, x := range id {
			in[0] = Order{ID: x, Account: "t", Side: Buy, Type: Limit, TIF: GTC, Price: int64(1000 + j%50), Qty: 3}
			bk.Process(0, in, Unlimited)
		}
	}
	refill()
	bk.SetReuseEvents(reuse)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := i % benchBlock
		if j == 0 && i > 0 {
			b.StopTimer()
			refill()
			b.StartTimer()
		}
		if _, err := bk.Cancel(id[(j*7)%benchBlock]); err != nil {
			b.Fatal(err)
		}
	}
	opsPerSec(b)
}

// BenchmarkAddMatch submits an aggressive order of 1 lot that trades with the best maker
// (alternately buying and selling); makers are large, so the book keeps its 10k orders.
// One op = one incoming order + one trade + its events.
func BenchmarkAddMatch(b *testing.B) { both(b, benchAddMatch) }

func benchAddMatch(b *testing.B, reuse bool) {
	bk := benchBook(b, DefaultMaxQty)
	id := ids("x", benchBlock)
	in := make([]Order, 1)
	bk.SetReuseEvents(reuse)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		o := Order{ID: id[i%benchBlock], Account: "t", Type: Limit, TIF: IOC, Qty: 1}
		if i&1 == 0 {
			o.Side, o.Price = Buy, 1050
		} else {
			o.Side, o.Price = Sell, 1049
		}
		in[0] = o
		if r := bk.Process(0, in, Unlimited); len(r.Events) != 3 {
			b.Fatalf("events %v", fmtEvents(r.Events))
		}
	}
	opsPerSec(b)
}

// BenchmarkAddMatchReplenish: one op = an aggressive order that completely fills the first
// maker of the best level (FIFO head) + a passive order that replaces it at the back.
func BenchmarkAddMatchReplenish(b *testing.B) { both(b, benchAddMatchReplenish) }

func benchAddMatchReplenish(b *testing.B, reuse bool) {
	bk := benchBook(b, 5)
	id := ids("y", 2*benchPerLevel*benchLevels)
	in := make([]Order, 1)
	bk.SetReuseEvents(reuse)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := (2 * i) % len(id)
		in[0] = Order{ID: id[j], Account: "t", Side: Buy, Type: Limit, TIF: IOC, Price: 1050, Qty: 5}
		r := bk.Process(0, in, Unlimited)
		if len(r.Events) != 3 {
			b.Fatalf("events %v", fmtEvents(r.Events))
		}
		in[0] = Order{ID: id[j+1], Account: "m", Side: Sell, Type: Limit, TIF: GTC, Price: 1050, Qty: 5}
		bk.Process(0, in, Unlimited)
	}
	opsPerSec(b)
}

// BenchmarkProRataMatch: as AddMatch, in a pro-rata book with 100 makers per level
// (each op allocates over one whole level).
func BenchmarkProRataMatch(b *testing.B) { both(b, benchProRataMatch) }

func benchProRataMatch(b *testing.B, reuse bool) {
	bk := benchBook(b, DefaultMaxQty)
	bk.cfg.Algorithm = ProRata
	id := ids("p", benchBlock)
	in := make([]Order, 1)
	bk.SetReuseEvents(reuse)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		in[0] = Order{ID: id[i%benchBlock], Account: "t", Side: Buy, Type: Limit, TIF: IOC, Price: 1050, Qty: 1000}
		bk.Process(0, in, Unlimited)
	}
	opsPerSec(b)
}

// BenchmarkBaselineSortedSliceInsert is the trivial baseline: insert an int64 into a sorted
// slice of 10,000 (binary search + shift) and delete it again.
func BenchmarkBaselineSortedSliceInsert(b *testing.B) {
	s := make([]int64, 0, 10001)
	for i := 0; i < 10000; i++ {
		s = append(s, int64(2*i))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v := int64((i*7919)%20000) | 1
		k, _ := slices.BinarySearch(s, v)
		s = slices.Insert(s, k, v)
		s = slices.Delete(s, k, k+1)
	}
	opsPerSec(b)
}

// BenchmarkBaselineMapInsertDelete is a second baseline: insert and delete a string key in a
// map of 10,000 entries (what any id index costs).
func BenchmarkBaselineMapInsertDelete(b *testing.B) {
	m := make(map[string]int, 10001)
	for i := 0; i < 10000; i++ {
		m[fmt.Sprint("k", i)] = i
	}
	id := ids("z", benchBlock)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := id[i%benchBlock]
		m[k] = i
		delete(m, k)
	}
	opsPerSec(b)
}
