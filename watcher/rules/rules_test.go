package rules

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2025, 3, 10, 14, 30, 0, 0, time.UTC)

func newEngine(t *testing.T, cfg Config) *Engine {
	t.Helper()
	e, err := NewEngine(cfg)
	if err != nil {
		t.Fatalf("NewEngine: %v", err)
	}
	return e
}

// step is one evaluation: price at t0+at against day and week references (0 = none).
type step struct {
	p        int64
	at       time.Duration
	dayRef   int64
	weekRef  int64
	wantKeys []string // "1d/500/up" in emission order
}

func keys(ev []Event) []string {
	var out []string
	for _, e := range ev {
		out = append(out, fmt.Sprintf("%s/%d/%s", e.Window, e.ThresholdBp, e.Direction))
	}
	return out
}

func run(t *testing.T, e *Engine, s *State, steps []step) {
	t.Helper()
	for i, st := range steps {
		in := Input{Price: st.p, Time: t0.Add(st.at), Reference: [NumWindows]int64{st.dayRef, st.weekRef}}
		got := keys(e.Evaluate(s, in, nil))
		if !slices.Equal(got, st.wantKeys) {
			t.Fatalf("step %d (price %d at +%v): events %v, want %v", i, st.p, st.at, got, st.wantKeys)
		}
	}
}

const m = time.Minute

func TestCrossings(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		steps []step
	}{
		{"up 5 then 10", Config{}, []step{
			{10000, 0, 10000, 0, nil},
			{10499, 1 * m, 10000, 0, nil},
			{10500, 2 * m, 10000, 0, []string{"1d/500/up"}}, // exactly 5.00% fires
			{10600, 3 * m, 10000, 0, nil},
			{10999, 4 * m, 10000, 0, nil},
			{11000, 5 * m, 10000, 0, []string{"1d/1000/up"}},
		}},
		{"down 5 then 10", Config{}, []step{
			{10000, 0, 10000, 0, nil},
			{9501, 1 * m, 10000, 0, nil},
			{9500, 2 * m, 10000, 0, []string{"1d/500/down"}},
			{9000, 3 * m, 10000, 0, []string{"1d/1000/down"}},
		}},
		{"jump across both thresholds fires both in order", Config{}, []step{
			{10000, 0, 10000, 0, nil},
			{12000, 1 * m, 10000, 0, []string{"1d/500/up", "1d/1000/up"}},
		}},
		{"crash across both, both windows", Config{}, []step{
			{10000, 0, 10000, 10000, nil},
			{8000, 1 * m, 10000, 10000, []string{"1d/500/down", "1d/1000/down", "1w/500/down", "1w/1000/down"}},
		}},
		{"4.99% never fires", Config{}, []step{
			{10000, 0, 10000, 10000, nil},
			{10499, 1 * m, 10000, 10000, nil},
			{9501, 2 * m, 10000, 10000, nil},
		}},
		{"odd reference exact 5%", Config{}, []step{
			{2020, 0, 2020, 0, nil},
			{2120, 1 * m, 2020, 0, nil}, // 4.95%
			{2121, 2 * m, 2020, 0, []string{"1d/500/up"}},
		}},
		{"fire once per crossing, re-arm when back inside", Config{NoCooldown: true}, []step{
			{10000, 0, 10000, 0, nil},
			{10500, 1 * m, 10000, 0, []string{"1d/500/up"}},
			{10700, 2 * m, 10000, 0, nil},
			{10500, 3 * m, 10000, 0, nil},
			{10499, 4 * m, 10000, 0, nil}, // re-armed
			{10500, 5 * m, 10000, 0, []string{"1d/500/up"}},
		}},
		{"up to down swing fires both directions", Config{NoCooldown: true}, []step{
			{10000, 0, 10000, 0, nil},
			{10600, 1 * m, 10000, 0, []string{"1d/500/up"}},
			{9400, 2 * m, 10000, 0, []string{"1d/500/down"}},
			{10600, 3 * m, 10000, 0, []string{"1d/500/up"}},
		}},
		{"reference moves the move", Config{}, []step{
			{10000, 0, 10000, 0, nil},
			{10400, 1 * m, 10000, 0, nil},
			{10400, 2 * m, 9900, 0, []string{"1d/500/up"}}, // 5.05% against the newer reference
		}},
		{"hysteresis 100 bp", Config{NoCooldown: true, HysteresisBp: 100}, []step{
			{10000, 0, 10000, 0, nil},
			{10500, 1 * m, 10000, 0, []string{"1d/500/up"}},
			{10450, 2 * m, 10000, 0, nil}, // inside but within hysteresis: not re-armed
			{10500, 3 * m, 10000, 0, nil},
			{10400, 4 * m, 10000, 0, nil}, // exactly 4%: still not below T-H
			{10500, 5 * m, 10000, 0, nil},
			{10399, 6 * m, 10000, 0, nil}, // re-armed
			{10500, 7 * m, 10000, 0, []string{"1d/500/up"}},
		}},
		{"hysteresis above threshold re-arms only past the reference", Config{NoCooldown: true, HysteresisBp: 600}, []step{
			{10000, 0, 10000, 0, nil},
			{10500, 1 * m, 10000, 0, []string{"1d/500/up"}},
			{10000, 2 * m, 10000, 0, nil}, // move 0 is not below -100
			{10500, 3 * m, 10000, 0, nil},
			{9899, 4 * m, 10000, 0, nil}, // -1.01% < -1%: re-armed
			{10500, 5 * m, 10000, 0, []string{"1d/500/up"}},
		}},
		{"condition already true at first evaluation is not a crossing", Config{}, []step{
			{10600, 0, 10000, 0, nil},
			{10700, 1 * m, 10000, 0, nil},
			{10400, 2 * m, 10000, 0, nil},
			{10500, 3 * m, 10000, 0, []string{"1d/500/up"}},
		}},
		{"no reference fires nothing and keeps state unknown", Config{}, []step{
			{10000, 0, 0, 0, nil},
			{20000, 1 * m, 0, 0, nil},
			{10600, 2 * m, 10000, 0, nil}, // first evaluation with a reference: baseline
			{10000, 3 * m, 10000, 0, nil},
			{10500, 4 * m, 10000, 0, []string{"1d/500/up"}},
		}},
		{"gap in references keeps fired state", Config{NoCooldown: true}, []step{
			{10000, 0, 10000, 0, nil},
			{10500, 1 * m, 10000, 0, []string{"1d/500/up"}},
			{10000, 2 * m, 0, 0, nil}, // no reference: not re-armed
			{10500, 3 * m, 10000, 0, nil},
		}},
		{"week window on its own", Config{}, []step{
			{10000, 0, 0, 10000, nil},
			{9000, 1 * m, 0, 10000, []string{"1w/500/down", "1w/1000/down"}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEngine(t, tc.cfg)
			run(t, e, e.NewState("ACME"), tc.steps)
		})
	}
}

func TestCooldown(t *testing.T) {
	tests := []struct {
		name       string
		steps      []step
		suppressed uint64
	}{
		{"re-crossing inside the hour is suppressed", []step{
			{10000, 0, 10000, 0, nil},
			{10500, 1 * m, 10000, 0, []string{"1d/500/up"}},
			{10000, 2 * m, 10000, 0, nil},
			{10500, 3 * m, 10000, 0, nil}, // suppressed, stays armed
			{10600, 30 * m, 10000, 0, nil},
		}, 2},
		{"still outside after the cooldown fires then", []step{
			{10000, 0, 10000, 0, nil},
			{10500, 0, 10000, 0, []string{"1d/500/up"}},
			{10000, 2 * m, 10000, 0, nil},
			{10500, 3 * m, 10000, 0, nil},
			{10500, 59*m + 59*time.Second, 10000, 0, nil},
			{10500, 60 * m, 10000, 0, []string{"1d/500/up"}}, // exactly one hour later
			{10600, 61 * m, 10000, 0, nil},
		}, 2},
		{"back inside during the cooldown fires nothing later", []step{
			{10000, 0, 10000, 0, nil},
			{10500, 0, 10000, 0, []string{"1d/500/up"}},
			{10000, 2 * m, 10000, 0, nil},
			{10500, 3 * m, 10000, 0, nil},
			{10000, 4 * m, 10000, 0, nil},
			{10100, 2 * time.Hour, 10000, 0, nil},
		}, 1},
		{"keys throttle independently", []step{
			{10000, 0, 10000, 0, nil},
			{10500, 1 * m, 10000, 0, []string{"1d/500/up"}},
			{11000, 2 * m, 10000, 0, []string{"1d/1000/up"}},
			{9400, 3 * m, 10000, 0, []string{"1d/500/down"}},
		}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEngine(t, Config{})
			s := e.NewState("ACME")
			run(t, e, s, tc.steps)
			if s.Suppressed() != tc.suppressed {
				t.Fatalf("suppressed = %d, want %d", s.Suppressed(), tc.suppressed)
			}
		})
	}
}

func TestEventFields(t *testing.T) {
	e := newEngine(t, Config{})
	s := e.NewState("ACME")
	e.Evaluate(s, Input{Price: 2030, Time: t0, Reference: [NumWindows]int64{2030, 0}}, nil)
	at := t0.Add(time.Hour)
	ev := e.Evaluate(s, Input{Price: 2153, Time: at, Reference: [NumWindows]int64{2030, 0}}, nil)
	if len(ev) != 1 {
		t.Fatalf("events %v", ev)
	}
	want := Event{Symbol: "ACME", Window: Day, ThresholdBp: 500, Direction: Up, ChangeBp: 605, Price: 2153, ReferencePrice: 2030, Time: at}
	if ev[0] != want {
		t.Fatalf("event %+v, want %+v", ev[0], want)
	}
	if ev[0].ChangePercent() != "6.05" || ev[0].Threshold() != "5" {
		t.Fatalf("ChangePercent %q Threshold %q", ev[0].ChangePercent(), ev[0].Threshold())
	}
	if ev[0].Key() != (Key{"ACME", Day, 500, Up}) {
		t.Fatalf("key %+v", ev[0].Key())
	}
	e.Evaluate(s, Input{Price: 2030, Time: at, Reference: [NumWindows]int64{2030, 0}}, nil)
	ev = e.Evaluate(s, Input{Price: 1928, Time: at.Add(2 * time.Hour), Reference: [NumWindows]int64{2030, 0}}, nil)
	if len(ev) != 1 || ev[0].ChangePercent() != "-5.02" || ev[0].Direction != Down {
		t.Fatalf("down event %+v", ev)
	}
}

func TestCustomThresholds(t *testing.T) {
	e := newEngine(t, Config{NoCooldown: true})
	s := e.NewState("ACME")
	run(t, e, s, []step{{10000, 0, 10000, 10000, nil}, {10500, m, 10000, 10000, []string{"1d/500/up", "1w/500/up"}}})
	if err := s.SetThresholds(Day, []uint32{700, 250, 700, 500}); err != nil {
		t.Fatal(err)
	}
	if got := s.Thresholds(Day); !slices.Equal(got, []uint32{250, 500, 700, 1000}) {
		t.Fatalf("thresholds %v", got)
	}
	// 250 and 700 start unknown: the first evaluation is their baseline (250 already crossed,
	// so it does not fire); 500 kept its fired state; then 700 is crossed.
	run(t, e, s, []step{{10600, 2 * m, 10000, 10000, nil}, {10700, 3 * m, 10000, 10000, []string{"1d/700/up"}}})
	if err := s.SetThresholds(Day, nil); err != nil {
		t.Fatal(err)
	}
	if got := s.Thresholds(Day); !slices.Equal(got, []uint32{500, 1000}) {
		t.Fatalf("defaults must stay: %v", got)
	}
	for _, bad := range [][]uint32{{0}, {MaxThresholdBp + 1}} {
		if err := s.SetThresholds(Day, bad); err == nil || !strings.Contains(err.Error(), "threshold") {
			t.Fatalf("SetThresholds(%v) error = %v", bad, err)
		}
	}
	if err := s.SetThresholds(Window(9), nil); err == nil || !strings.Contains(err.Error(), "window") {
		t.Fatalf("bad window error = %v", err)
	}
	if s.Thresholds(Window(9)) != nil {
		t.Fatal("thresholds of an invalid window")
	}
}

func TestConfig(t *testing.T) {
	tests := []struct {
		cfg   Config
		field string
	}{
		{Config{DefaultThresholdsBp: []uint32{0}}, "DefaultThresholdsBp"},
		{Config{Cooldown: -time.Second}, "Cooldown"},
		{Config{HysteresisBp: MaxThresholdBp + 1}, "HysteresisBp"},
	}
	for _, tc := range tests {
		if _, err := NewEngine(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("NewEngine(%+v) error = %v, want one naming %s", tc.cfg, err, tc.field)
		}
	}
	e := newEngine(t, Config{DefaultThresholdsBp: []uint32{1000, 300, 300}})
	if !slices.Equal(e.Defaults(), []uint32{300, 1000}) {
		t.Fatalf("defaults %v", e.Defaults())
	}
}

func TestParsing(t *testing.T) {
	for s, want := range map[string]uint32{"5": 500, "10": 1000, "2.5": 250, "0.01": 1, "10000": MaxThresholdBp} {
		got, err := ParseThreshold(s)
		if err != nil || got != want {
			t.Errorf("ParseThreshold(%q) = %d, %v; want %d", s, got, err, want)
		}
		if FormatThreshold(want) != s {
			t.Errorf("FormatThreshold(%d) = %q, want %q", want, FormatThreshold(want), s)
		}
	}
	for _, s := range []string{"0", "-5", "0.001", "abc", "", "10000.01", "5%"} {
		if _, err := ParseThreshold(s); err == nil || !strings.Contains(err.Error(), "threshold") {
			t.Errorf("ParseThreshold(%q) error = %v", s, err)
		}
	}
	for _, w := range []Window{Day, Week} {
		if got, err := ParseWindow(w.String()); err != nil || got != w {
			t.Errorf("ParseWindow(%q) = %v, %v", w, got, err)
		}
	}
	if _, err := ParseWindow("1m"); err == nil || !strings.Contains(err.Error(), "window") {
		t.Errorf("ParseWindow(1m) error = %v", err)
	}
	for _, d := range []Direction{Up, Down} {
		if got, err := ParseDirection(d.String()); err != nil || got != d {
			t.Errorf("ParseDirection(%q) = %v, %v", d, got, err)
		}
	}
	if _, err := ParseDirection("sideways"); err == nil || !strings.Contains(err.Error(), "direction") {
		t.Errorf("ParseDirection error = %v", err)
	}
	if Day.Lookback() != 24*time.Hour || Week.Lookback() != 168*time.Hour || Window(5).String() != "Window(5)" || Direction(5).String() != "Direction(5)" {
		t.Error("window/direction helpers")
	}
}

// TestMatchesCrossingModel checks, on random walks without cooldown or hysteresis, that a key
// fires exactly when the condition goes from false to true after the first evaluation.
func TestMatchesCrossingModel(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	e := newEngine(t, Config{NoCooldown: true})
	for round := 0; round < 50; round++ {
		s := e.NewState("X")
		if err := s.SetThresholds(Day, []uint32{uint32(1 + r.IntN(2000))}); err != nil {
			t.Fatal(err)
		}
		ths := s.Thresholds(Day)
		prev := map[Key]bool{}
		first := true
		p, ref := int64(100000), int64(100000)
		for i := 0; i < 2000; i++ {
			p += int64(r.IntN(2001)) - 1000
			if p < 1 {
				p = 1
			}
			if r.IntN(20) == 0 {
				ref = p + int64(r.IntN(2001)) - 1000
				if ref < 1 {
					ref = 1
				}
			}
			got := map[Key]bool{}
			for _, ev := range e.Evaluate(s, Input{Price: p, Time: t0, Reference: [NumWindows]int64{ref, 0}}, nil) {
				got[ev.Key()] = true
			}
			for _, th := range ths {
				for _, d := range []Direction{Up, Down} {
					k := Key{"X", Day, th, d}
					var cond bool
					if d == Up {
						cond = (p-ref)*10000 >= int64(th)*ref
					} else {
						cond = (ref-p)*10000 >= int64(th)*ref
					}
					want := !first && cond && !prev[k]
					if got[k] != want {
						t.Fatalf("round %d step %d key %+v p=%d ref=%d: fired %v, want %v", round, i, k, p, ref, got[k], want)
					}
					prev[k] = cond
				}
			}
			first = false
		}
	}
}

func TestStateCodec(t *testing.T) {
	e := newEngine(t, Config{})
	s := e.NewState("ACME")
	if err := s.SetThresholds(Week, []uint32{700}); err != nil {
		t.Fatal(err)
	}
	e.Evaluate(s, Input{Price: 10000, Time: t0, Reference: [NumWindows]int64{10000, 10000}}, nil)
	e.Evaluate(s, Input{Price: 10500, Time: t0.Add(m), Reference: [NumWindows]int64{10000, 10000}}, nil)
	e.Evaluate(s, Input{Price: 10000, Time: t0.Add(2 * m), Reference: [NumWindows]int64{10000, 10000}}, nil)
	e.Evaluate(s, Input{Price: 10500, Time: t0.Add(3 * m), Reference: [NumWindows]int64{10000, 10000}}, nil) // suppressed
	b, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.DecodeState(b)
	if err != nil {
		t.Fatalf("DecodeState: %v", err)
	}
	if c.Symbol() != "ACME" || c.Suppressed() != s.Suppressed() || !slices.Equal(c.Thresholds(Week), []uint32{500, 700, 1000}) {
		t.Fatalf("decoded %+v", c)
	}
	// The restored cooldown still holds, then fires after the hour.
	in := Input{Price: 10500, Time: t0.Add(30 * m), Reference: [NumWindows]int64{10000, 10000}}
	if ev := e.Evaluate(c, in, nil); len(ev) != 0 {
		t.Fatalf("restored state fired inside the cooldown: %v", keys(ev))
	}
	in.Time = t0.Add(61 * m)
	if ev := keys(e.Evaluate(c, in, nil)); !slices.Equal(ev, []string{"1d/500/up", "1w/500/up"}) {
		t.Fatalf("after cooldown: %v", ev)
	}
	// An engine with other defaults pins its own and keeps the old ones as custom.
	e2 := newEngine(t, Config{DefaultThresholdsBp: []uint32{300}})
	c2, err := e2.DecodeState(b)
	if err != nil {
		t.Fatal(err)
	}
	if got := c2.Thresholds(Day); !slices.Equal(got, []uint32{300, 500, 1000}) {
		t.Fatalf("merged thresholds %v", got)
	}
	if err := c2.SetThresholds(Day, nil); err != nil || !slices.Equal(c2.Thresholds(Day), []uint32{300}) {
		t.Fatalf("old defaults should be custom now: %v", c2.Thresholds(Day))
	}
	for i := 0; i < len(b); i++ {
		if _, err := e.DecodeState(b[:i]); err == nil {
			t.Fatalf("truncation at %d accepted", i)
		}
	}
	if _, err := e.DecodeState(append(append([]byte{}, b...), 1)); err == nil {
		t.Fatal("trailing byte accepted")
	}
}

func TestUserLimiter(t *testing.T) {
	type call struct {
		user uint32
		max  int
		at   time.Duration
		want bool
	}
	tests := []struct {
		name  string
		calls []call
	}{
		{"three per hour", []call{
			{1, 3, 0, true}, {1, 3, m, true}, {1, 3, 2 * m, true}, {1, 3, 3 * m, false}, {1, 3, 59 * m, false},
			{1, 3, 60 * m, true}, // the first one is exactly one hour old: no longer counts
			{1, 3, 60*m + 30*time.Second, false},
			{1, 3, 61 * m, true},
		}},
		{"users are independent", []call{{1, 1, 0, true}, {2, 1, 0, true}, {1, 1, m, false}, {2, 1, m, false}}},
		{"zero allows nothing", []call{{1, 0, 0, false}, {1, -1, 0, false}}},
		{"lowered limit applies at once", []call{{1, 5, 0, true}, {1, 5, m, true}, {1, 5, 2 * m, true}, {1, 2, 3 * m, false}, {1, 4, 4 * m, true}}},
		{"out of order time", []call{{1, 2, 10 * m, true}, {1, 2, 5 * m, true}, {1, 2, 11 * m, false}, {1, 2, 66 * m, true}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := NewUserLimiter()
			for i, c := range tc.calls {
				if got := l.Allow(c.user, c.max, t0.Add(c.at)); got != c.want {
					t.Fatalf("call %d (user %d max %d at +%v) = %v, want %v", i, c.user, c.max, c.at, got, c.want)
				}
			}
		})
	}
	l := NewUserLimiter()
	l.Allow(1, 5, t0)
	l.Allow(2, 5, t0.Add(30*m))
	if l.Count(1, t0.Add(m)) != 1 || l.Users() != 2 {
		t.Fatal("count/users")
	}
	if n := l.Prune(t0.Add(time.Hour)); n != 1 || l.Users() != 1 {
		t.Fatalf("Prune forgot %d, %d left", n, l.Users())
	}
}
