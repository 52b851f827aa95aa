package book

import (
	"slices"
	"testing"
	"time"
)

// TestSeedExampleBook enters orders #1–#6 of the seed's price-time table ("Designing Stock
// Exchange": tick 0.01, so 20.30 = 2030 ticks) in their time order, checks the book, then sends
// crossing orders and checks their fills.
func TestSeedExampleBook(t *testing.T) {
	day := time.Date(2019, 8, 12, 9, 0, 0, 0, time.UTC)
	at := func(min int) int64 { return day.Add(time.Duration(min) * time.Minute).UnixNano() }
	seed := []struct {
		o   Order
		min int
	}{
		{lim("#1", "acct1", Sell, 2030, 100), 1},
		{lim("#2", "acct2", Sell, 2025, 100), 3},
		{lim("#3", "acct3", Sell, 2030, 200), 5},
		{lim("#4", "acct4", Buy, 2015, 100), 6},
		{lim("#5", "acct5", Buy, 2020, 200), 8},
		{lim("#6", "acct6", Buy, 2015, 200), 9},
	}
	for _, im := range impls {
		for _, alg := range []Algorithm{FIFO, ProRata} {
			e := mustEngine(t, im.make, Config{Algorithm: alg})
			for _, s := range seed {
				r := e.Process(at(s.min), []Order{s.o}, Unlimited)
				if len(r.Trades()) != 0 {
					t.Fatalf("%s: seed order %s traded", im.name, s.o.ID)
				}
			}
			wantAsks := []Level{{2025, 100, 1}, {2030, 300, 2}}
			wantBids := []Level{{2020, 200, 1}, {2015, 300, 2}}
			if got := e.Depth(Sell, 0); !slices.Equal(got, wantAsks) {
				t.Errorf("%s: asks %v, want %v", im.name, got, wantAsks)
			}
			if got := e.Depth(Buy, 0); !slices.Equal(got, wantBids) {
				t.Errorf("%s: bids %v, want %v", im.name, got, wantBids)
			}
			var ids []string
			for _, o := range e.Snapshot().Orders {
				ids = append(ids, o.Order.ID)
			}
			if !slices.Equal(ids, []string{"#1", "#2", "#3", "#4", "#5", "#6"}) {
				t.Errorf("%s: snapshot order %v", im.name, ids)
			}
			// A buy of 250 up to 20.30: #2 at 20.25, then the 20.30 level.
			r := e.Process(at(10), []Order{lim("#7", "acct7", Buy, 2030, 250)}, Unlimited)
			want := []string{
				"T#1 #2<-#7 100@2025", "U #2 FILLED - 100/0",
				"T#2 #1<-#7 100@2030", "U #1 FILLED - 100/0",
				"T#3 #3<-#7 50@2030", "U #3 PARTIALLY_FILLED - 50/150",
				"U #7 FILLED - 250/0",
			}
			if alg == ProRata { // 150 of 300 at 20.30: 100×150/300 = 50, 200×150/300 = 100
				want[2], want[3], want[4], want[5] = "T#2 #1<-#7 50@2030", "U #1 PARTIALLY_FILLED - 50/50",
					"T#3 #3<-#7 100@2030", "U #3 PARTIALLY_FILLED - 100/100"
			}
			if d := diffLines(want, fmtEvents(r.Events)); d != "" {
				t.Errorf("%s/%d crossing buy:\n%s", im.name, alg, d)
			}
			if r.Events[6].Update.FilledNotional != 100*2025+150*2030 {
				t.Errorf("%s: notional %d", im.name, r.Events[6].Update.FilledNotional)
			}
			// A market sell of 250: #5 at 20.20, then 50 of the 20.15 level.
			r = e.Process(at(11), []Order{mkt("#8", "acct8", Sell, 250, 0)}, Unlimited)
			want = []string{
				"T#4 #5<-#8 200@2020", "U #5 FILLED - 200/0",
				"T#5 #4<-#8 50@2015", "U #4 PARTIALLY_FILLED - 50/50",
				"U #8 FILLED - 250/0",
			}
			if alg == ProRata { // 50 of 300: 100×50/300 = 16, 200×50/300 = 33, leftover 1 → #4
				want = []string{
					"T#4 #5<-#8 200@2020", "U #5 FILLED - 200/0",
					"T#5 #4<-#8 17@2015", "U #4 PARTIALLY_FILLED - 17/83",
					"T#6 #6<-#8 33@2015", "U #6 PARTIALLY_FILLED - 33/167",
					"U #8 FILLED - 250/0",
				}
			}
			if d := diffLines(want, fmtEvents(r.Events)); d != "" {
				t.Errorf("%s/%d market sell:\n%s", im.name, alg, d)
			}
		}
	}
}
