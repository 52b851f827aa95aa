package fabric

import (
	"testing"
	"time"
)

// TestRecentCommits checks when a NOT_FOUND is taken for peer lag: only for a key this
// gateway saw committed within recentWindow.
func TestRecentCommits(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	r := newRecentCommits()
	r.committed("account/a", t0)
	r.committed("", t0) // no key: nothing recorded
	tests := []struct {
		key  string
		at   time.Time
		want bool
	}{
		{"account/a", t0, true},
		{"account/a", t0.Add(recentWindow), true},
		{"account/a", t0.Add(recentWindow + time.Millisecond), false},
		{"account/b", t0, false},
		{"", t0, false},
	}
	for _, tt := range tests {
		if got := r.lagging(tt.key, tt.at); got != tt.want {
			t.Errorf("lagging(%q, +%v) = %v, want %v", tt.key, tt.at.Sub(t0), got, tt.want)
		}
	}
	// A full map forgets stale keys when a new one arrives.
	for i := 0; i < 1100; i++ {
		r.committed("k"+string(rune('a'+i%26))+time.Duration(i).String(), t0)
	}
	r.committed("late", t0.Add(time.Hour))
	if r.lagging("account/a", t0.Add(time.Hour)) || !r.lagging("late", t0.Add(time.Hour)) {
		t.Fatal("stale keys kept or fresh key lost")
	}
	if len(r.m) > 1024 {
		t.Fatalf("%d keys kept after pruning", len(r.m))
	}
}

// TestLatencyEWMA checks the moving average: the first sample is taken as is, later ones with
// weight 1/5.
func TestLatencyEWMA(t *testing.T) {
	var l latencyEWMA
	if l.value() != 0 {
		t.Fatal("not zero before the first sample")
	}
	l.observe(time.Second)
	l.observe(6 * time.Second)
	if got := l.value(); got != 2*time.Second {
		t.Fatalf("value = %v, want 2s", got)
	}
}
