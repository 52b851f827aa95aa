package bench

// Run (the figures in the README come from these; memory needs about 2 GiB of heap and 30 s):
//
//	go test ./watcher/bench -run '^$' -bench IndexMemory -benchtime 1x
//	go test ./watcher/bench -run '^$' -bench 'FanOut|Ticks' -benchtime 2s -cpu 1
//
// -watcher.users, -watcher.symbols and -watcher.subs shrink or grow the synthetic population.

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fabmarket/fabmarket/watcher/index"
	"github.com/fabmarket/fabmarket/watcher/rules"
	"github.com/fabmarket/fabmarket/watcher/window"
)

var (
	flagUsers   = flag.Int("watcher.users", 3_000_000, "synthetic users")
	flagSymbols = flag.Int("watcher.symbols", 5250, "synthetic symbols")
	flagSubs    = flag.Int("watcher.subs", 10, "subscriptions per user")
)

// zipf samples symbol ranks with probability proportional to 1/(k+1): with 5,250 symbols and
// 10 distinct picks per user, the top two symbols get over a million subscribers each.
type zipf struct{ cdf []float64 }

func newZipf(n int) *zipf {
	z := &zipf{cdf: make([]float64, n)}
	sum := 0.0
	for k := 0; k < n; k++ {
		sum += 1 / float64(k+1)
		z.cdf[k] = sum
	}
	for k := range z.cdf {
		z.cdf[k] /= sum
	}
	return z
}

func (z *zipf) pick(r *rand.Rand) int {
	return min(sort.SearchFloat64s(z.cdf, r.Float64()), len(z.cdf)-1)
}

func symbolName(k int) string { return fmt.Sprintf("S%04d", k) }

// population calls fn for every (user, symbol, kind) in ascending user order: kind 0 is the
// default subscription (93%), 1 is defaults plus a custom 7% on 1d (5%), 2 is 1d only (2%).
func population(fn func(user uint32, sym int, kind int)) {
	r := rand.New(rand.NewPCG(42, 7))
	z := newZipf(*flagSymbols)
	picks := make([]int, 0, *flagSubs)
	for u := 0; u < *flagUsers; u++ {
		picks = picks[:0]
		for len(picks) < *flagSubs && len(picks) < *flagSymbols {
			s := z.pick(r)
			if !slices.Contains(picks, s) {
				picks = append(picks, s)
			}
		}
		for _, s := range picks {
			kind := 0
			switch x := r.IntN(100); {
			case x < 5:
				kind = 1
			case x < 7:
				kind = 2
			}
			fn(uint32(u), s, kind)
		}
	}
}

var specs = func() [3][]index.Trigger {
	def := index.DefaultTriggers()
	withCustom, _ := index.Expand(nil, []uint32{500, 700, 1000}, nil)
	var mixed []index.Trigger
	for _, t := range withCustom {
		if t.ThresholdBp != 700 || t.Window == rules.Day {
			mixed = append(mixed, t)
		}
	}
	dayOnly, _ := index.Expand([]rules.Window{rules.Day}, nil, nil)
	return [3][]index.Trigger{def, mixed, dayOnly}
}()

func buildIndex(tb testing.TB) (*index.Index, []string) {
	names := make([]string, *flagSymbols)
	for k := range names {
		names[k] = symbolName(k)
	}
	ix := index.New()
	population(func(u uint32, s, kind int) {
		if err := ix.Set(u, names[s], specs[kind]); err != nil {
			tb.Fatal(err)
		}
	})
	ix.Optimize()
	return ix, names
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// procStatus returns a "VmRSS"-style field of /proc/self/status in bytes (0 where there is no
// /proc).
func procStatus(field string) uint64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			var kb uint64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb)
			return kb << 10
		}
	}
	return 0
}

// residentSettled returns the process's resident set after collecting garbage and returning
// the freed pages to the OS, so two readings differ by what is really held in between.
func residentSettled() uint64 {
	runtime.GC()
	debug.FreeOSMemory()
	return procStatus("VmRSS")
}

// BenchmarkIndexMemory reports the memory held by the index for the synthetic population
// (target ≤ 1 GiB), by the user-name table, and by a trivial baseline that keeps one sorted
// []uint32 of subscribers per symbol: live heap (heap-MiB) and the growth of the process's
// resident set once garbage is collected and freed pages are returned (rss-MiB); peak-rss-MiB
// is the process's high-water mark, build garbage included.
func BenchmarkIndexMemory(b *testing.B) {
	b.Run("roaring-index", func(b *testing.B) {
		for range b.N {
			rssBefore := residentSettled()
			before := heapInUse()
			start := time.Now()
			ix, _ := buildIndex(b)
			build := time.Since(start)
			after := heapInUse()
			rssAfter := residentSettled()
			st := ix.Stats()
			b.ReportMetric(float64(after-before), "heap-bytes")
			b.ReportMetric(float64(after-before)/(1<<20), "heap-MiB")
			b.ReportMetric(float64(rssAfter-min(rssBefore, rssAfter))/(1<<20), "rss-MiB")
			b.ReportMetric(float64(procStatus("VmHWM"))/(1<<20), "peak-rss-MiB")
			b.ReportMetric(build.Seconds(), "build-s")
			b.ReportMetric(float64(st.DefaultMembers+st.CustomMembers), "memberships")
			b.ReportMetric(float64(st.LargestAudience), "largest-audience")
			b.Logf("users=%d symbols=%d subs/user=%d: %+v", *flagUsers, *flagSymbols, *flagSubs, st)
			runtime.KeepAlive(ix)
		}
	})
	b.Run("baseline-sorted-slices", func(b *testing.B) {
		for range b.N {
			rssBefore := residentSettled()
			before := heapInUse()
			per := make([][]uint32, *flagSymbols)
			population(func(u uint32, s, _ int) { per[s] = append(per[s], u) })
			for i := range per {
				per[i] = slices.Clip(per[i]) // as tight as a slice gets
			}
			after := heapInUse()
			rssAfter := residentSettled()
			b.ReportMetric(float64(after-before), "heap-bytes")
			b.ReportMetric(float64(after-before)/(1<<20), "heap-MiB")
			b.ReportMetric(float64(rssAfter-min(rssBefore, rssAfter))/(1<<20), "rss-MiB")
			runtime.KeepAlive(per)
		}
	})
	b.Run("user-table", func(b *testing.B) {
		for range b.N {
			rssBefore := residentSettled()
			before := heapInUse()
			ut := index.NewUserTable(*flagUsers)
			for u := range *flagUsers {
				if _, err := ut.Intern(fmt.Sprintf("user-%07d", u)); err != nil {
					b.Fatal(err)
				}
			}
			after := heapInUse()
			rssAfter := residentSettled()
			b.ReportMetric(float64(after-before), "heap-bytes")
			b.ReportMetric(float64(after-before)/(1<<20), "heap-MiB")
			b.ReportMetric(float64(rssAfter-min(rssBefore, rssAfter))/(1<<20), "rss-MiB")
			runtime.KeepAlive(ut)
		}
	})
}

var (
	sharedOnce  sync.Once
	sharedIndex *index.Index
	sharedNames []string
)

// BenchmarkFanOut fans out a 5% up move of the most popular symbol to an in-process sink in
// batches of 10,000 ids (target ≥ 1M notifications/s), against a trivial baseline that walks
// a plain []uint32 of the same users in the same batches.
func BenchmarkFanOut(b *testing.B) {
	sharedOnce.Do(func() { sharedIndex, sharedNames = buildIndex(b) })
	ix := sharedIndex
	sym := ix.Stats().LargestSymbolName
	tr := index.Trigger{Window: rules.Day, ThresholdBp: 500, Direction: rules.Up}
	audience := ix.Count(sym, tr)
	msg := make([]uint32, 0, 10000)
	var sunk uint64
	sink := func(batch []uint32) error {
		msg = append(msg[:0], batch...) // the queue adapter copies each batch into a message
		sunk += uint64(len(msg))
		return nil
	}
	buf := make([]uint32, 10000)
	b.Run("roaring-index", func(b *testing.B) {
		sunk = 0
		b.ResetTimer()
		for range b.N {
			if _, err := ix.FanOut(sym, tr, buf, sink); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(sunk)/b.Elapsed().Seconds(), "notifications/s")
		b.ReportMetric(float64(audience), "audience")
	})
	b.Run("baseline-slice", func(b *testing.B) {
		all := ix.Users(sym, tr).ToArray()
		sunk = 0
		b.ResetTimer()
		for range b.N {
			for i := 0; i < len(all); i += len(buf) {
				n := copy(buf, all[i:])
				_ = sink(buf[:n])
			}
		}
		b.ReportMetric(float64(sunk)/b.Elapsed().Seconds(), "notifications/s")
	})
}

// symbolState is what the service keeps per symbol: its window, its rule state and, here, the
// synthetic price walk.
type symbolState struct {
	series *window.Series
	state  *rules.State
	price  int64
}

// tickSetup holds one week of 5-minute history for every symbol.
type tickSetup struct {
	syms []symbolState
	now  time.Time
	heap uint64
}

var tickOnce sync.Once
var ticks tickSetup

func setupTicks(b *testing.B, eng *rules.Engine) *tickSetup {
	tickOnce.Do(func() {
		before := heapInUse()
		n := *flagSymbols
		r := rand.New(rand.NewPCG(1, 1))
		ticks.syms = make([]symbolState, n)
		for i := range ticks.syms {
			s, err := window.New(window.Config{})
			if err != nil {
				b.Fatal(err)
			}
			ticks.syms[i] = symbolState{series: s, state: eng.NewState(symbolName(i)), price: 1000 + r.Int64N(1_000_000)}
		}
		start := time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC)
		ticks.now = start.Add(7 * 24 * time.Hour)
		for at := start; at.Before(ticks.now); at = at.Add(window.DefaultBucketWidth) {
			for i := range ticks.syms {
				sy := &ticks.syms[i]
				sy.price = walk(sy.price, r.IntN(61)-30)
				if _, err := sy.series.Add(window.Tick{Price: sy.price, Time: at}); err != nil {
					b.Fatal(err)
				}
			}
		}
		ticks.heap = heapInUse() - before
	})
	return &ticks
}

func walk(p int64, bp int) int64 {
	q := p + p*int64(bp)/10000
	if q < 1 {
		return 1
	}
	return q
}

// BenchmarkTicks evaluates ticks round-robin over all symbols with one week of history: window
// update, 1d and 1w references, and the default rules (target ≥ 5M ticks/s per core), against a
// trivial baseline that stores the last price and compares it with a fixed reference.
func BenchmarkTicks(b *testing.B) {
	eng, err := rules.NewEngine(rules.Config{})
	if err != nil {
		b.Fatal(err)
	}
	ts := setupTicks(b, eng)
	n := len(ts.syms)
	r := rand.New(rand.NewPCG(9, 9))
	steps := make([]int, 1<<16)
	for i := range steps {
		steps[i] = r.IntN(61) - 30
	}
	// Visit symbols in a scrambled order so consecutive ticks touch unrelated memory.
	order := r.Perm(n)
	b.Run("window+rules", func(b *testing.B) {
		var out []rules.Event
		events := 0
		at := ts.now
		b.ResetTimer()
		for i := range b.N {
			sy := &ts.syms[order[i%n]]
			at = at.Add(time.Millisecond)
			p := walk(sy.price, steps[i&(len(steps)-1)])
			sy.price = p
			s := sy.series
			res, err := s.Add(window.Tick{Price: p, Time: at})
			if err != nil {
				b.Fatal(err)
			}
			for _, a := range res.Accepted() {
				var in rules.Input
				in.Price, in.Time = a.Price, a.Time
				in.Reference[rules.Day], _ = s.Reference(a.Time, 24*time.Hour)
				in.Reference[rules.Week], _ = s.Reference(a.Time, 7*24*time.Hour)
				out = eng.Evaluate(sy.state, in, out[:0])
				events += len(out)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ticks/s")
		b.ReportMetric(float64(events)/float64(b.N), "events/tick")
		b.ReportMetric(float64(ts.heap)/(1<<20), "series-heap-MiB")
		ts.now = at
	})
	b.Run("baseline-last-price", func(b *testing.B) {
		type rec struct{ last, ref int64 }
		recs := make([]rec, n)
		for i := range recs {
			recs[i] = rec{last: ts.syms[i].price, ref: ts.syms[i].price}
		}
		hits := 0
		b.ResetTimer()
		for i := range b.N {
			r := &recs[order[i%n]]
			p := walk(r.last, steps[i&(len(steps)-1)])
			r.last = p
			if (p-r.ref)*10000 >= 500*r.ref {
				hits++
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ticks/s")
		runtime.KeepAlive(recs)
	})
}
