package index

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/fabmarket/fabmarket/watcher/rules"
)

var (
	d500up    = Trigger{rules.Day, 500, rules.Up}
	d500down  = Trigger{rules.Day, 500, rules.Down}
	d700up    = Trigger{rules.Day, 700, rules.Up}
	w1000down = Trigger{rules.Week, 1000, rules.Down}
)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func expand(t *testing.T, ws []rules.Window, th []uint32, ds []rules.Direction) []Trigger {
	t.Helper()
	tr, err := Expand(ws, th, ds)
	must(t, err)
	return tr
}

func TestExpand(t *testing.T) {
	def := DefaultTriggers()
	if len(def) != 8 || def[0] != d500up || def[1] != d500down || def[7] != w1000down {
		t.Fatalf("defaults %v", def)
	}
	got := expand(t, []rules.Window{rules.Week, rules.Day, rules.Day}, []uint32{700}, []rules.Direction{rules.Up})
	if !slices.Equal(got, []Trigger{d700up, {rules.Week, 700, rules.Up}}) {
		t.Fatalf("expand %v", got)
	}
	for _, tc := range []struct {
		ws    []rules.Window
		th    []uint32
		ds    []rules.Direction
		field string
	}{
		{[]rules.Window{9}, nil, nil, "window"},
		{nil, []uint32{0}, nil, "threshold"},
		{nil, nil, []rules.Direction{7}, "direction"},
	} {
		if _, err := Expand(tc.ws, tc.th, tc.ds); err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("Expand error = %v, want one naming %s", err, tc.field)
		}
	}
	if d500up.String() != "1d/500/up" {
		t.Fatal(d500up.String())
	}
}

func ids(bm *roaring.Bitmap) []uint32 { return bm.ToArray() }

func TestSetUsersSpec(t *testing.T) {
	ix := New()
	def := DefaultTriggers()
	must(t, ix.Set(1, "ACME", def))
	must(t, ix.Set(2, "ACME", append(slices.Clone(def), d700up)))              // defaults + custom 7%
	must(t, ix.Set(3, "ACME", expand(t, []rules.Window{rules.Day}, nil, nil))) // only 1d: wholly custom
	must(t, ix.Set(4, "ACME", []Trigger{w1000down, d500down}))                 // unsorted input
	must(t, ix.Set(5, "BETA", def))
	tests := []struct {
		sym  string
		tr   Trigger
		want []uint32
	}{
		{"ACME", d500up, []uint32{1, 2, 3}},
		{"ACME", d500down, []uint32{1, 2, 3, 4}},
		{"ACME", d700up, []uint32{2}},
		{"ACME", w1000down, []uint32{1, 2, 4}},
		{"ACME", Trigger{rules.Week, 500, rules.Up}, []uint32{1, 2}},
		{"ACME", Trigger{rules.Day, 300, rules.Up}, nil},
		{"BETA", d500up, []uint32{5}},
		{"NONE", d500up, nil},
	}
	for _, tc := range tests {
		got := ids(ix.Users(tc.sym, tc.tr))
		if !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
			t.Errorf("Users(%s, %v) = %v, want %v", tc.sym, tc.tr, got, tc.want)
		}
		if n := ix.Count(tc.sym, tc.tr); n != uint64(len(tc.want)) {
			t.Errorf("Count(%s, %v) = %d, want %d", tc.sym, tc.tr, n, len(tc.want))
		}
	}
	if got := ix.Spec(2, "ACME"); len(got) != 9 || !slices.Contains(got, d700up) || !slices.IsSortedFunc(got, compareTrigger) {
		t.Fatalf("Spec(2) = %v", got)
	}
	if got := ix.Spec(4, "ACME"); !slices.Equal(got, []Trigger{d500down, w1000down}) {
		t.Fatalf("Spec(4) = %v", got)
	}
	if ix.Spec(9, "ACME") != nil || ix.Spec(1, "NONE") != nil {
		t.Fatal("Spec of nobody")
	}
	if got := ix.CustomThresholds("ACME", rules.Day); !slices.Equal(got, []uint32{700}) {
		t.Fatalf("CustomThresholds(1d) = %v", got)
	}
	if got := ix.CustomThresholds("ACME", rules.Week); got != nil {
		t.Fatalf("CustomThresholds(1w) = %v", got)
	}
	if !slices.Equal(ix.Symbols(), []string{"ACME", "BETA"}) {
		t.Fatalf("Symbols %v", ix.Symbols())
	}

	// Replace: user 2 drops the custom trigger, user 1 moves to custom only.
	must(t, ix.Set(2, "ACME", def))
	must(t, ix.Set(1, "ACME", []Trigger{d700up}))
	if got := ids(ix.Users("ACME", d700up)); !slices.Equal(got, []uint32{1}) {
		t.Fatalf("after replace 7%%: %v", got)
	}
	if got := ids(ix.Users("ACME", d500up)); !slices.Equal(got, []uint32{2, 3}) {
		t.Fatalf("after replace 5%%: %v", got)
	}
	// Delete, directly and through an empty spec; the symbol disappears with its last user.
	ix.Delete(1, "ACME")
	must(t, ix.Set(2, "ACME", nil))
	ix.Delete(3, "ACME")
	ix.Delete(4, "ACME")
	ix.Delete(4, "NONE")
	if !slices.Equal(ix.Symbols(), []string{"BETA"}) {
		t.Fatalf("Symbols after deletes %v", ix.Symbols())
	}
	st := ix.Stats()
	if st.Symbols != 1 || st.DefaultMembers != 1 || st.CustomBitmaps != 0 || st.LargestSymbolName != "BETA" {
		t.Fatalf("Stats %+v", st)
	}
}

func TestSetRejects(t *testing.T) {
	ix := New()
	if err := ix.Set(1, "", DefaultTriggers()); err == nil || !strings.Contains(err.Error(), "symbol") {
		t.Fatalf("empty symbol error = %v", err)
	}
	if err := ix.Set(1, "ACME", []Trigger{{rules.Day, 0, rules.Up}}); err == nil || !strings.Contains(err.Error(), "threshold") {
		t.Fatalf("bad trigger error = %v", err)
	}
	if len(ix.Symbols()) != 0 {
		t.Fatal("a rejected Set changed the index")
	}
	if _, err := NewWithDefaults(nil); err == nil || !strings.Contains(err.Error(), "defaults") {
		t.Fatalf("NewWithDefaults(nil) error = %v", err)
	}
}

func TestFanOutAndExclusive(t *testing.T) {
	ix := New()
	def := DefaultTriggers()
	for u := uint32(0); u < 25000; u++ {
		spec := def
		if u%10 == 0 {
			spec = append(slices.Clone(def), d700up)
		}
		must(t, ix.Set(u, "ACME", spec))
	}
	must(t, ix.Set(30000, "ACME", []Trigger{d700up}))
	ix.Optimize()
	buf := make([]uint32, 1000)
	var got []uint32
	batches := 0
	n, err := ix.FanOut("ACME", d500up, buf, func(b []uint32) error {
		if len(b) > 1000 {
			t.Fatalf("batch of %d", len(b))
		}
		batches++
		got = append(got, b...)
		return nil
	})
	must(t, err)
	if n != 25000 || len(got) != 25000 || batches != 25 || !slices.IsSorted(got) {
		t.Fatalf("FanOut n=%d got=%d batches=%d", n, len(got), batches)
	}
	n, err = ix.FanOut("ACME", d700up, buf, func([]uint32) error { return nil })
	if must(t, err); n != 2501 {
		t.Fatalf("custom fan-out %d", n)
	}
	stop := errors.New("stop")
	n, err = ix.FanOut("ACME", d500up, buf, func([]uint32) error { return stop })
	if !errors.Is(err, stop) || n != 0 {
		t.Fatalf("FanOut error = %v, n = %d", err, n)
	}
	if n, err := ix.FanOut("NONE", d500up, buf, nil); n != 0 || err != nil {
		t.Fatalf("FanOut of an unknown symbol = %d, %v", n, err)
	}
	if _, err := ix.FanOut("ACME", d500up, nil, nil); err == nil {
		t.Fatal("FanOut with an empty buffer")
	}
	// A jump through 5% and 7%: each user once, under the highest threshold they chose.
	parts := ix.Exclusive("ACME", []Trigger{d700up, d500up})
	if parts[0].GetCardinality() != 2501 || parts[1].GetCardinality() != 25000-2500 || parts[0].Intersects(parts[1]) {
		t.Fatalf("Exclusive sizes %d %d", parts[0].GetCardinality(), parts[1].GetCardinality())
	}
}

// TestMatchesModel drives the index and a map model with random operations.
func TestMatchesModel(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	ix := New()
	model := map[uint32]map[string][]Trigger{}
	syms := []string{"A", "B", "C"}
	pool := append(DefaultTriggers(), d700up, Trigger{rules.Week, 250, rules.Down}, Trigger{rules.Day, 1500, rules.Up})
	for i := 0; i < 5000; i++ {
		u := uint32(r.IntN(60))
		s := syms[r.IntN(len(syms))]
		var spec []Trigger
		switch r.IntN(4) {
		case 0: // delete
		case 1:
			spec = DefaultTriggers()
		default:
			for _, tr := range pool {
				if r.IntN(3) == 0 {
					spec = append(spec, tr)
				}
			}
		}
		must(t, ix.Set(u, s, spec))
		if model[u] == nil {
			model[u] = map[string][]Trigger{}
		}
		norm, _ := normalize(spec)
		model[u][s] = slices.Clone(norm)
		if len(norm) == 0 {
			delete(model[u], s)
		}
	}
	for _, s := range syms {
		for _, tr := range pool {
			var want []uint32
			for u := uint32(0); u < 60; u++ {
				if slices.Contains(model[u][s], tr) {
					want = append(want, u)
				}
			}
			if got := ids(ix.Users(s, tr)); !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
				t.Fatalf("Users(%s, %v) = %v, want %v", s, tr, got, want)
			}
		}
		for u := uint32(0); u < 60; u++ {
			if got := ix.Spec(u, s); !slices.Equal(got, model[u][s]) {
				t.Fatalf("Spec(%d, %s) = %v, want %v", u, s, got, model[u][s])
			}
		}
	}
}

func TestUserTable(t *testing.T) {
	ut := NewUserTable(4)
	a, err := ut.Intern("alice")
	must(t, err)
	b, _ := ut.Intern("bob")
	again, _ := ut.Intern("alice")
	if a != 0 || b != 1 || again != 0 || ut.Len() != 2 {
		t.Fatalf("ids %d %d %d len %d", a, b, again, ut.Len())
	}
	if id, ok := ut.ID("bob"); !ok || id != 1 {
		t.Fatal("ID(bob)")
	}
	if _, ok := ut.ID("carol"); ok {
		t.Fatal("ID(carol)")
	}
	if n, ok := ut.Name(1); !ok || n != "bob" {
		t.Fatal("Name(1)")
	}
	if _, ok := ut.Name(2); ok {
		t.Fatal("Name(2)")
	}
	if _, err := ut.Intern(""); err == nil || !strings.Contains(err.Error(), "user") {
		t.Fatalf("empty user error = %v", err)
	}
}
