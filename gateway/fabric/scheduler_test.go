package fabric

import (
	"testing"
	"time"

	"github.com/fabmarket/fabmarket/internal/netconf"
)

// TestSchedulerTurns checks who evaluates and submits a symbol's Match, tick by tick (one
// tick a second): the primary whenever there is work; a backup neither evaluates nor submits
// while it sees Matches commit, and submits only after work has waited backupTicks ticks with
// no Match committed.
func TestSchedulerTurns(t *testing.T) {
	const sym = "ACME"
	primary := primaryOrg(sym)
	backup := ""
	for _, o := range netconf.Orgs {
		if o != primary {
			backup = o
			break
		}
	}
	start := time.Unix(1_700_000_000, 0)
	type tick struct {
		work     bool
		progress bool // a Match of sym committed just before this tick
		sweep    bool
		look     bool // evaluates Match
		submit   bool
	}
	busy := tick{work: true, look: true}
	tests := []struct {
		name    string
		org     string
		latency time.Duration // the gateway's commit latency average
		ticks   []tick
	}{
		{"primary matches whenever there is work", primary, 0, []tick{
			{work: true, look: true, submit: true}, {work: true, look: true, submit: true},
			{look: true}, {work: true, progress: true, look: true, submit: true}}},
		{"backup steps in after backupTicks ticks of stalled work", backup, 0, []tick{
			busy, busy, busy, busy, {work: true, look: true, submit: true}, {work: true, look: true, submit: true}}},
		{"backup stays out while the primary's Matches commit", backup, 0, []tick{
			busy, busy, busy, {work: true, progress: true}, {work: true}, {work: true}, {work: true},
			busy, busy, busy, busy, {work: true, look: true, submit: true}}},
		{"a sweep makes a backup look, not submit", backup, 0, []tick{
			{work: true, progress: true}, {work: true, sweep: true, look: true}}},
		{"no work resets the backup's patience", backup, 0, []tick{
			busy, busy, busy, busy, {look: true}, busy, busy}},
		{"on a slow network a backup waits three commit latencies", backup, 2 * time.Second, []tick{
			busy, busy, busy, busy, busy, busy, {work: true, look: true, submit: true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Client{org: tt.org}
			if tt.latency > 0 {
				c.latency.observe(tt.latency)
			}
			s := NewScheduler(c, time.Second)
			for i, tk := range tt.ticks {
				now := start.Add(time.Duration(i) * time.Second)
				if tk.progress {
					s.progressed(sym, now)
				}
				look := s.shouldLook(sym, tk.sweep, now)
				submit := look && s.claim(sym, tk.work, now)
				if look != tk.look || submit != tk.submit {
					t.Fatalf("tick %d: look %v submit %v, want look %v submit %v", i, look, submit, tk.look, tk.submit)
				}
			}
		})
	}
}
