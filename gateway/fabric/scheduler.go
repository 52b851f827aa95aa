package fabric

import (
	"context"
	"encoding/json"
	"errors"
	"hash/fnv"
	"sync"
	"time"

	"github.com/fabmarket/fabmarket/gateway/api"
	"github.com/fabmarket/fabmarket/internal/fabnet"
	"github.com/fabmarket/fabmarket/internal/netconf"
)

// Scheduler runs Match for the symbols that have work: resting or incoming orders, cancel and
// replace requests. It learns about intake from the chaincode events (OrderAccepted,
// CancelRequested, ReplaceRequested; a Match that reports more work) and sweeps every symbol
// now and then (GTT expiries, missed events). Before submitting it evaluates Match and skips
// the symbol when nothing would happen.
//
// Every org's gateway runs one. To keep duplicate Match transactions (which fail validation,
// harmlessly, but waste a block slot) rare, each symbol has a primary org (by hash); the other
// gateways step in only when work has waited for several ticks with no Match of that symbol
// committed by anyone (they see every Match event), so a stopped gateway delays matching but
// never stops it, and a busy primary is never raced.
type Scheduler struct {
	c        *Client
	interval time.Duration
	sweep    time.Duration
	primary  bool // this gateway is primary for every symbol (tests, single gateway)

	mu       sync.Mutex
	dirty    map[string]time.Time // symbol → last intake seen
	progress map[string]time.Time // symbol → last Match committed (by any gateway)
	stalled  map[string]time.Time // symbol → since when a backup has seen work and no progress
	running  map[string]bool
}

// NewScheduler returns a scheduler for c ticking every interval.
func NewScheduler(c *Client, interval time.Duration) *Scheduler {
	return &Scheduler{c: c, interval: interval, sweep: 30 * time.Second,
		dirty: map[string]time.Time{}, progress: map[string]time.Time{}, stalled: map[string]time.Time{},
		running: map[string]bool{}}
}

// Run ticks until ctx ends.
func (s *Scheduler) Run(ctx context.Context) {
	go s.watch(ctx)
	t := time.NewTicker(s.interval)
	defer t.Stop()
	lastSweep := time.Time{}
	sweeps := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var syms []string
		sweep := time.Since(lastSweep) >= s.sweep
		if sweep {
			lastSweep = time.Now()
			qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			ins, err := s.c.Instruments(qctx)
			cancel()
			if err == nil {
				// A sweep looks at the symbols this gateway is primary for; every
				// backupSweeps-th sweep at all of them (GTT expiries of a stopped primary).
				for _, in := range ins {
					if sweeps%backupSweeps == 0 || s.isPrimary(in.Symbol) {
						syms = append(syms, in.Symbol)
					}
				}
				sweeps++
			}
		}
		s.mu.Lock()
		for sym := range s.dirty {
			syms = append(syms, sym)
		}
		s.mu.Unlock()
		seen := map[string]bool{}
		for _, sym := range syms {
			if seen[sym] {
				continue
			}
			seen[sym] = true
			s.mu.Lock()
			busy := s.running[sym]
			if !busy {
				s.running[sym] = true
			}
			s.mu.Unlock()
			if !busy {
				go s.tick(ctx, sym, sweep)
			}
		}
	}
}

// watch follows the chaincode events to learn which symbols have intake.
func (s *Scheduler) watch(ctx context.Context) {
	for ctx.Err() == nil {
		events, err := s.c.network.ChaincodeEvents(ctx, s.c.chaincode)
		if err == nil {
			for ev := range events {
				var p struct {
					Symbol string `json:"symbol"`
					More   bool   `json:"more"`
				}
				if json.Unmarshal(ev.Payload, &p) != nil || p.Symbol == "" {
					continue
				}
				switch ev.EventName {
				case "OrderAccepted", "CancelRequested", "ReplaceRequested":
					s.mark(p.Symbol)
				case "Match":
					s.progressed(p.Symbol, time.Now())
					if p.More {
						s.mark(p.Symbol)
					}
				}
			}
		}
		fabnet.Sleep(ctx, time.Second)
	}
}

func (s *Scheduler) mark(sym string) {
	s.mu.Lock()
	s.dirty[sym] = time.Now()
	s.mu.Unlock()
}

// progressed records that a Match of sym committed (by any gateway) at now: whoever is
// matching sym is alive, so the backups' patience starts again.
func (s *Scheduler) progressed(sym string, now time.Time) {
	s.mu.Lock()
	s.progress[sym] = now
	delete(s.stalled, sym)
	s.mu.Unlock()
}

// primaryOrg returns the org whose gateway matches sym first.
func primaryOrg(sym string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(sym))
	return netconf.Orgs[int(h.Sum32()%uint32(len(netconf.Orgs)))]
}

// backupTicks is how many ticks the other gateways let work wait, with no Match of the symbol
// committed meanwhile, before they match it themselves.
const backupTicks = 4

// backupSweeps: a gateway sweeps the symbols it is not primary for only every backupSweeps-th
// sweep (every 2.5 minutes by default), so sweeping costs the peers one Match evaluation per
// symbol per sweep interval instead of one per gateway.
const backupSweeps = 5

// isPrimary says whether this gateway matches sym first.
func (s *Scheduler) isPrimary(sym string) bool {
	return s.primary || primaryOrg(sym) == s.c.org
}

// shouldLook says whether this gateway evaluates Match for sym at this tick. The primary
// always does; a backup only on a sweep or when no Match of sym has committed for
// backupTicks ticks, so while the primary keeps matching the backups cost the peers nothing.
func (s *Scheduler) shouldLook(sym string, sweep bool, now time.Time) bool {
	if sweep || s.isPrimary(sym) {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return now.Sub(s.progress[sym]) >= s.patience()
}

// patience is how long a backup lets a symbol's work wait with no Match committed:
// backupTicks ticks, or three commit latencies when the network is slower than that, so an
// overloaded network is not made worse by backups racing a primary that is only slow.
func (s *Scheduler) patience() time.Duration {
	return max(backupTicks*s.interval, 3*s.c.latency.value())
}

// claim records what one look at sym found (work: Match would do something) and says whether
// this gateway should submit the Match now: the primary whenever there is work, a backup only
// once work has waited backupTicks ticks since it first saw it with no Match committed.
func (s *Scheduler) claim(sym string, work bool, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !work {
		// Intake may still sit in an epoch Match does not take yet (the contract lags by two
		// epochs of a second): keep the symbol for a few seconds after its last intake.
		if t, ok := s.dirty[sym]; ok && now.Sub(t) > 5*time.Second {
			delete(s.dirty, sym)
		}
		delete(s.stalled, sym)
		return false
	}
	if s.isPrimary(sym) {
		return true
	}
	since, ok := s.stalled[sym]
	if !ok {
		s.stalled[sym] = now
		return false
	}
	return now.Sub(since) >= s.patience()
}

// isDirty says whether sym has had intake that may still wait for a Match.
func (s *Scheduler) isDirty(sym string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.dirty[sym]
	return ok
}

// matchWork says whether a Match result (evaluated or endorsed) does anything: an unreadable
// result counts as nothing.
func matchWork(raw []byte) bool {
	var m ccMatch
	if json.Unmarshal(raw, &m) != nil {
		return false
	}
	return len(m.Trades) > 0 || len(m.OrderUpdates) > 0 || m.Processed > 0 || m.More
}

func (s *Scheduler) tick(ctx context.Context, sym string, sweep bool) {
	defer func() {
		s.mu.Lock()
		delete(s.running, sym)
		s.mu.Unlock()
	}()
	if !s.shouldLook(sym, sweep, time.Now()) {
		return
	}
	// The primary of a symbol with recent intake endorses the Match at once and drops it
	// unsubmitted when it would do nothing: one chaincode run per endorser instead of an
	// evaluation first. Otherwise (a backup, a sweep of a quiet symbol) it evaluates first.
	if !s.isPrimary(sym) || !s.isDirty(sym) {
		ectx, cancel := context.WithTimeout(ctx, 10*time.Second)
		raw, err := s.c.evaluate(ectx, "Match", sym)
		cancel()
		if err != nil || !s.claim(sym, matchWork(raw), time.Now()) {
			return
		}
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	res, r, err := s.c.submit(sctx, call{fn: "Match", args: []string{sym}, lock: "match/" + sym,
		w: api.Write{Wait: true}, noRetry: true,
		worthIt: func(res []byte, _ string) bool { return s.claim(sym, matchWork(res), time.Now()) }})
	if errors.Is(err, errNotWorthIt) {
		return
	}
	if err != nil {
		s.c.log.Debug("scheduled match failed", "symbol", sym, "error", err)
		return
	}
	var done ccMatch
	_ = json.Unmarshal(res, &done)
	s.mu.Lock()
	if done.More {
		s.dirty[sym] = time.Now()
	}
	s.mu.Unlock()
	s.c.log.Info("scheduled match", "symbol", sym, "txId", r.TxID, "committed", r.Committed, "trades", len(done.Trades), "more", done.More)
}
