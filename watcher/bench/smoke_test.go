package bench

import (
	"testing"

	"github.com/fabmarket/fabmarket/watcher/index"
	"github.com/fabmarket/fabmarket/watcher/rules"
)

// TestSmallPopulation keeps the benchmark's generator honest at a size normal tests afford:
// every user gets the requested number of distinct symbols and the skew puts the most
// subscribers on the first symbol.
func TestSmallPopulation(t *testing.T) {
	defer func(u, s int) { *flagUsers, *flagSymbols = u, s }(*flagUsers, *flagSymbols)
	*flagUsers, *flagSymbols = 2000, 300
	ix, names := buildIndex(t)
	st := ix.Stats()
	if got := st.DefaultMembers + st.CustomMembers; got < uint64(2000**flagSubs) {
		t.Fatalf("memberships %d, want at least %d", got, 2000**flagSubs)
	}
	if st.LargestSymbolName != names[0] {
		t.Fatalf("largest audience on %s, want %s", st.LargestSymbolName, names[0])
	}
	tr := index.Trigger{Window: rules.Day, ThresholdBp: 500, Direction: rules.Up}
	if ix.Count(names[0], tr) < 1000 {
		t.Fatalf("top symbol audience %d, want over half the users", ix.Count(names[0], tr))
	}
}
