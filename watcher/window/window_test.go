package window

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

const (
	day  = 24 * time.Hour
	week = 7 * day
)

// t0 is a Friday 16:00 UTC, on a bucket boundary.
var t0 = time.Date(2025, 3, 7, 16, 0, 0, 0, time.UTC)

func newSeries(t *testing.T, cfg Config) *Series {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func mustAdd(t *testing.T, s *Series, p int64, at time.Time) Result {
	t.Helper()
	r, err := s.Add(Tick{Price: p, Time: at})
	if err != nil {
		t.Fatalf("Add(%d, %v): %v", p, at, err)
	}
	return r
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		field string
	}{
		{"tiny bucket", Config{BucketWidth: time.Millisecond}, "BucketWidth"},
		{"retention not multiple", Config{BucketWidth: 7 * time.Minute, Retention: day}, "Retention"},
		{"retention below width", Config{BucketWidth: time.Hour, Retention: time.Minute}, "Retention"},
		{"too many buckets", Config{BucketWidth: time.Second, Retention: 365 * day}, "Retention"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("New(%+v) error = %v, want one naming %s", tc.cfg, err, tc.field)
			}
		})
	}
	s := newSeries(t, Config{})
	if s.BucketWidth() != DefaultBucketWidth || s.Buckets() != 2017 {
		t.Fatalf("defaults: width %v buckets %d", s.BucketWidth(), s.Buckets())
	}
}

type tk struct {
	p  int64
	at time.Duration // offset from t0
}

func TestReference(t *testing.T) {
	tests := []struct {
		name     string
		ticks    []tk
		at       time.Duration
		lookback time.Duration
		want     int64 // 0 = no reference
	}{
		{"one day exactly", []tk{{100, 0}, {110, day}}, day, day, 100},
		{"no data that old", []tk{{100, 0}, {110, 23 * time.Hour}}, 23 * time.Hour, day, 0},
		{"first tick later in its bucket still counts", []tk{{100, 4 * time.Minute}, {110, day}}, day, day, 100},
		{"close of the bucket containing t-d", []tk{{100, 0}, {101, 4*time.Minute + 59*time.Second}, {110, day + 2*time.Minute}}, day + 2*time.Minute, day, 101},
		{"tick after the bucket of t-d is not used", []tk{{100, 0}, {105, 5 * time.Minute}, {110, day + 2*time.Minute}}, day + 2*time.Minute, day, 100},
		{"weekend gap carries Friday close", []tk{{100, 0}, {97, time.Hour}, {120, 2*day + 18*time.Hour}}, 2*day + 18*time.Hour, day, 97},
		{"one week at the ring start", []tk{{100, 0}, {101, time.Hour}, {130, week}}, week, week, 100},
		{"one week after ring start evicted uses carry", []tk{{100, 0}, {130, week + 10*time.Minute}}, week + 10*time.Minute, week, 100},
		{"one week with newer data in between", []tk{{100, 0}, {102, 3 * day}, {130, week + 3*day + time.Hour}}, week + 3*day + time.Hour, week, 102},
		{"month-long gap evicts the whole ring", []tk{{100, 0}, {90, 30 * day}}, 30 * day, week, 100},
		{"month-long gap one day", []tk{{100, 0}, {90, 30 * day}}, 30 * day, day, 100},
		{"lookback zero is the last price", []tk{{100, 0}, {90, time.Hour}}, time.Hour, 0, 90},
		{"week not yet available", []tk{{100, time.Hour}, {130, week}}, week, week, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSeries(t, Config{DisableOutlierFilter: true})
			for _, x := range tc.ticks {
				mustAdd(t, s, x.p, t0.Add(x.at))
			}
			got, ok := s.Reference(t0.Add(tc.at), tc.lookback)
			if tc.want == 0 {
				if ok {
					t.Fatalf("Reference = %d, want none", got)
				}
				return
			}
			if !ok || got != tc.want {
				t.Fatalf("Reference = %d, %v; want %d", got, ok, tc.want)
			}
		})
	}
}

func TestReferenceEmptyAndBeyondRetention(t *testing.T) {
	s := newSeries(t, Config{})
	if _, ok := s.Reference(t0, day); ok {
		t.Fatal("empty series has a reference")
	}
	if _, ok := s.Last(); ok {
		t.Fatal("empty series has a last tick")
	}
	mustAdd(t, s, 100, t0)
	mustAdd(t, s, 101, t0.Add(8*day))
	// Far beyond the ring, before the carry bucket: unknown.
	if p, ok := s.Reference(t0.Add(8*day), 30*day); ok {
		t.Fatalf("reference before any data = %d", p)
	}
	if p, ok := s.Reference(t0.Add(8*day), 8*day); !ok || p != 100 {
		t.Fatalf("reference from carry = %d, %v", p, ok)
	}
}

func TestAddRejects(t *testing.T) {
	s := newSeries(t, Config{})
	mustAdd(t, s, 100, t0.Add(time.Hour))
	if _, err := s.Add(Tick{Price: 101, Time: t0}); !errors.Is(err, ErrOutOfOrder) || !strings.Contains(err.Error(), "time") {
		t.Fatalf("out of order error = %v", err)
	}
	for _, p := range []int64{0, -5} {
		if _, err := s.Add(Tick{Price: p, Time: t0.Add(2 * time.Hour)}); err == nil || !strings.Contains(err.Error(), "price") {
			t.Fatalf("price %d error = %v", p, err)
		}
	}
	if last, _ := s.Last(); last.Price != 100 {
		t.Fatalf("rejected ticks changed the series: last %d", last.Price)
	}
	// Same time is fine and becomes the newer close.
	mustAdd(t, s, 102, t0.Add(time.Hour))
	if last, _ := s.Last(); last.Price != 102 {
		t.Fatalf("same-time tick: last %d", last.Price)
	}
	// A held tick also sets the order floor.
	mustAdd(t, s, 200, t0.Add(3*time.Hour))
	if _, err := s.Add(Tick{Price: 100, Time: t0.Add(2 * time.Hour)}); !errors.Is(err, ErrOutOfOrder) {
		t.Fatalf("tick before the held tick: %v", err)
	}
}

func TestOutliers(t *testing.T) {
	type step struct {
		p        int64
		accepted []int64
		held     bool
		dropped  int64
	}
	tests := []struct {
		name  string
		cfg   Config
		steps []step
		last  int64
	}{
		{"single spike dropped", Config{}, []step{
			{100, []int64{100}, false, 0},
			{150, nil, true, 0},
			{101, []int64{101}, false, 150},
		}, 101},
		{"fat finger down dropped", Config{}, []step{
			{4000, []int64{4000}, false, 0},
			{1, nil, true, 0},
			{3990, []int64{3990}, false, 1},
		}, 3990},
		{"sustained move confirmed by the second tick", Config{}, []step{
			{100, []int64{100}, false, 0},
			{130, nil, true, 0},
			{131, []int64{130, 131}, false, 0},
			{133, []int64{133}, false, 0},
		}, 133},
		{"sustained crash confirmed", Config{}, []step{
			{100, []int64{100}, false, 0},
			{60, nil, true, 0},
			{58, []int64{60, 58}, false, 0},
		}, 58},
		{"exactly 20% is not an outlier", Config{}, []step{
			{100, []int64{100}, false, 0},
			{120, []int64{120}, false, 0},
		}, 120},
		{"just over 20% is held", Config{}, []step{
			{1000, []int64{1000}, false, 0},
			{1201, nil, true, 0},
		}, 1000},
		{"two unrelated outliers in a row", Config{}, []step{
			{100, []int64{100}, false, 0},
			{200, nil, true, 0},
			{10, nil, true, 200},
			{100, []int64{100}, false, 10},
		}, 100},
		{"held then a tick far from it but near the last", Config{}, []step{
			{100, []int64{100}, false, 0},
			{125, nil, true, 0},
			{99, []int64{99}, false, 125},
		}, 99},
		{"custom limit 5%", Config{OutlierBp: 500}, []step{
			{100, []int64{100}, false, 0},
			{106, nil, true, 0},
			{100, []int64{100}, false, 106},
		}, 100},
		{"filter disabled", Config{DisableOutlierFilter: true}, []step{
			{100, []int64{100}, false, 0},
			{1000, []int64{1000}, false, 0},
		}, 1000},
		{"first tick always accepted", Config{}, []step{
			{5, []int64{5}, false, 0},
		}, 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSeries(t, tc.cfg)
			for i, st := range tc.steps {
				at := t0.Add(time.Duration(i) * time.Minute)
				r := mustAdd(t, s, st.p, at)
				var got []int64
				for _, a := range r.Accepted() {
					got = append(got, a.Price)
				}
				if !equal(got, st.accepted) || r.Held != st.held {
					t.Fatalf("step %d (%d): accepted %v held %v; want %v held %v", i, st.p, got, r.Held, st.accepted, st.held)
				}
				if (st.dropped != 0) != r.DroppedOK || r.Dropped.Price != st.dropped {
					t.Fatalf("step %d (%d): dropped %v %d; want %d", i, st.p, r.DroppedOK, r.Dropped.Price, st.dropped)
				}
				if r.DroppedOK && !r.Dropped.Time.Equal(at.Add(-time.Minute)) {
					t.Fatalf("step %d: dropped tick time %v", i, r.Dropped.Time)
				}
			}
			if last, _ := s.Last(); last.Price != tc.last {
				t.Fatalf("last = %d, want %d", last.Price, tc.last)
			}
		})
	}
}

func TestHeldTickInvisibleToReference(t *testing.T) {
	s := newSeries(t, Config{})
	mustAdd(t, s, 100, t0)
	mustAdd(t, s, 500, t0.Add(day))
	if h, ok := s.Held(); !ok || h.Price != 500 {
		t.Fatalf("held = %v %v", h, ok)
	}
	if p, _ := s.Reference(t0.Add(day), 0); p != 100 {
		t.Fatalf("held tick visible: %d", p)
	}
	// Confirmed later: the held tick goes into its own bucket.
	r := mustAdd(t, s, 505, t0.Add(day+time.Hour))
	if len(r.Accepted()) != 2 {
		t.Fatalf("accepted %v", r.Accepted())
	}
	if p, _ := s.Reference(t0.Add(day+30*time.Minute), 0); p != 500 {
		t.Fatalf("confirmed held tick reference = %d", p)
	}
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// naive keeps every accepted tick; its reference is the definition the ring must match.
type naive struct{ ticks []Tick }

func (n *naive) ref(target int64, width int64) (int64, bool) {
	for i := len(n.ticks) - 1; i >= 0; i-- {
		if floorDiv(n.ticks[i].Time.UnixNano(), width) <= target {
			return n.ticks[i].Price, true
		}
	}
	return 0, false
}

func TestSeriesMatchesNaiveModel(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	for round := 0; round < 20; round++ {
		cfg := Config{BucketWidth: time.Minute, Retention: time.Hour, DisableOutlierFilter: true}
		s := newSeries(t, cfg)
		var m naive
		now := t0
		p := int64(1000)
		for i := 0; i < 3000; i++ {
			switch r.IntN(10) {
			case 0:
				now = now.Add(time.Duration(r.IntN(200)) * time.Minute) // gaps up to > ring
			case 1:
				// same time
			default:
				now = now.Add(time.Duration(r.IntN(90)) * time.Second)
			}
			p += int64(r.IntN(21)) - 10
			if p < 1 {
				p = 1
			}
			res := mustAdd(t, s, p, now)
			m.ticks = append(m.ticks, res.Accepted()...)
			lookbacks := []time.Duration{0, time.Minute, 17 * time.Minute, time.Hour, 2 * time.Hour}
			if round%2 == 0 {
				lookbacks = lookbacks[:2] // fits the reference cache: exercises hits and invalidation
			}
			for _, lb := range lookbacks {
				target := floorDiv(now.UnixNano()-int64(lb), s.width)
				got, ok := s.Reference(now, lb)
				want, wok := m.ref(target, s.width)
				inRing := target >= s.head-s.n+1
				if ok && (!wok || got != want) {
					t.Fatalf("round %d tick %d lookback %v: ring %d, model %d %v", round, i, lb, got, want, wok)
				}
				if inRing && ok != wok {
					t.Fatalf("round %d tick %d lookback %v: ring ok %v, model ok %v", round, i, lb, ok, wok)
				}
			}
			if i%500 == 0 {
				roundTrip(t, s)
			}
		}
	}
}

func roundTrip(t *testing.T, s *Series) {
	t.Helper()
	b, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	c := &Series{width: s.width, n: s.n, outlierBp: s.outlierBp, filter: s.filter, buckets: make([]int64, s.n)}
	if err := c.UnmarshalBinary(b); err != nil {
		t.Fatalf("UnmarshalBinary: %v", err)
	}
	if c.has != s.has || c.head != s.head || c.last != s.last || c.lastAt != s.lastAt ||
		c.carry != s.carry || c.carryBucket != s.carryBucket || c.held.Price != s.held.Price || c.heldAt != s.heldAt {
		t.Fatalf("round trip header differs:\n%+v\n%+v", c, s)
	}
	if s.has {
		for k := s.head - s.n + 1; k <= s.head; k++ {
			want := s.buckets[s.slot(k)]
			if k == s.head {
				want = s.last
			}
			if c.buckets[c.slot(k)] != want {
				t.Fatalf("round trip bucket %d differs", k)
			}
		}
	}
}

func TestCodec(t *testing.T) {
	s := newSeries(t, Config{})
	roundTrip(t, s)
	for i := 0; i < 3000; i++ {
		mustAdd(t, s, 10000+int64(i%37), t0.Add(time.Duration(i)*4*time.Minute))
	}
	mustAdd(t, s, 99999, t0.Add(3000*4*time.Minute)) // held
	roundTrip(t, s)
	b, _ := s.MarshalBinary()
	if len(b) > 3*s.Buckets() {
		t.Errorf("encoding of a busy week is %d bytes, want compact", len(b))
	}

	other := newSeries(t, Config{BucketWidth: time.Minute})
	if err := other.UnmarshalBinary(b); err == nil || !strings.Contains(err.Error(), "bucket width") {
		t.Fatalf("width mismatch error = %v", err)
	}
	short := newSeries(t, Config{Retention: day})
	if err := short.UnmarshalBinary(b); err == nil || !strings.Contains(err.Error(), "ring length") {
		t.Fatalf("retention mismatch error = %v", err)
	}
	fresh := newSeries(t, Config{})
	for _, bad := range [][]byte{nil, []byte("XXXX1"), b[:len(b)/2], append(append([]byte{}, b...), 0)} {
		if err := fresh.UnmarshalBinary(bad); err == nil {
			t.Fatalf("UnmarshalBinary accepted %d corrupt bytes", len(bad))
		}
	}
	if _, ok := fresh.Last(); ok {
		t.Fatal("failed decode changed the series")
	}
	// Every truncation is rejected, never a panic.
	for i := 0; i < len(b); i++ {
		if err := fresh.UnmarshalBinary(b[:i]); err == nil {
			t.Fatalf("truncation at %d accepted", i)
		}
	}
	if err := fresh.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if h, ok := fresh.Held(); !ok || h.Price != 99999 {
		t.Fatalf("held tick lost: %v", h)
	}
}

func FuzzUnmarshal(f *testing.F) {
	s, _ := New(Config{BucketWidth: time.Minute, Retention: time.Hour})
	for i := 0; i < 100; i++ {
		s.Add(Tick{Price: int64(100 + i%5), Time: t0.Add(time.Duration(i) * 50 * time.Second)})
	}
	b, _ := s.MarshalBinary()
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		d, _ := New(Config{BucketWidth: time.Minute, Retention: time.Hour})
		if err := d.UnmarshalBinary(data); err != nil {
			return
		}
		// A decoded series must behave: references and adds never panic.
		d.Reference(t0, time.Minute)
		if last, ok := d.Last(); ok {
			d.Add(Tick{Price: last.Price, Time: last.Time.Add(time.Minute)})
		}
	})
}
