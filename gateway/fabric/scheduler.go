package fabric

import (
	"context"
	"encoding/json"
	"hash/fnv"
	"sync"
	"time"

	"github.com/fabmarket/fabmarket/gateway/api"
	"github.com/fabmarket/fabmarket/internal/netconf"
)

// Scheduler runs Match for the symbols that have work: resting or incoming orders, cancel and
// replace requests. It learns about intake from the chaincode events (OrderAccepted,
// CancelRequested, ReplaceRequested; a Match that reports more work) and sweeps every symbol
// now and then (GTT expiries, missed events). Before submitting it evaluates Match and skips
// the symbol when nothing would happen.
//
// Every org's gateway runs one. To keep duplicate Match transactions (which fail validation,
// harmlessly) rare, each symbol has a primary org (by hash); the other gateways step in only
// when the work has waited for several ticks, so a stopped gateway delays matching but never
// stops it.
type Scheduler struct {
	c        *Client
	interval time.Duration
	sweep    time.Duration
	primary  bool // this gateway is primary for every symbol (tests, single gateway)

	mu      sync.Mutex
	dirty   map[string]time.Time // symbol → last intake seen
	waiting map[string]int       // symbol → consecutive ticks with work not done by us
	running map[string]bool
}

// NewScheduler returns a scheduler for c ticking every interval.
func NewScheduler(c *Client, interval time.Duration) *Scheduler {
	return &Scheduler{c: c, interval: interval, sweep: 30 * time.Second,
		dirty: map[string]time.Time{}, waiting: map[string]int{}, running: map[string]bool{}}
}

// Run ticks until ctx ends.
func (s *Scheduler) Run(ctx context.Context) {
	go s.watch(ctx)
	t := time.NewTicker(s.interval)
	defer t.Stop()
	lastSweep := time.Time{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var syms []string
		if time.Since(lastSweep) >= s.sweep {
			lastSweep = time.Now()
			qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			ins, err := s.c.Instruments(qctx)
			cancel()
			if err == nil {
				for _, in := range ins {
					syms = append(syms, in.Symbol)
				}
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
				go s.tick(ctx, sym)
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
					if p.More {
						s.mark(p.Symbol)
					}
				}
			}
		}
		sleep(ctx, time.Second)
	}
}

func (s *Scheduler) mark(sym string) {
	s.mu.Lock()
	s.dirty[sym] = time.Now()
	s.mu.Unlock()
}

// primaryOrg returns the org whose gateway matches sym first.
func primaryOrg(sym string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(sym))
	return netconf.Orgs[int(h.Sum32()%uint32(len(netconf.Orgs)))]
}

// backupTicks is how many ticks the other gateways let work wait before they match.
const backupTicks = 4

func (s *Scheduler) tick(ctx context.Context, sym string) {
	defer func() {
		s.mu.Lock()
		delete(s.running, sym)
		s.mu.Unlock()
	}()
	ectx, cancel := context.WithTimeout(ctx, 10*time.Second)
	raw, err := s.c.evaluate(ectx, "Match", sym)
	cancel()
	if err != nil {
		return
	}
	var m ccMatch
	if json.Unmarshal(raw, &m) != nil {
		return
	}
	work := len(m.Trades) > 0 || len(m.OrderUpdates) > 0 || m.Processed > 0 || m.More
	s.mu.Lock()
	if !work {
		// Intake may still sit in an epoch Match does not take yet (the contract lags by two
		// epochs of a second): keep the symbol for a few seconds after its last intake.
		if t, ok := s.dirty[sym]; ok && time.Since(t) > 5*time.Second {
			delete(s.dirty, sym)
		}
		delete(s.waiting, sym)
		s.mu.Unlock()
		return
	}
	s.waiting[sym]++
	mine := s.primary || primaryOrg(sym) == s.c.org || s.waiting[sym] > backupTicks
	s.mu.Unlock()
	if !mine {
		return
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	res, r, err := s.c.submit(sctx, call{fn: "Match", args: []string{sym}, lock: "match/" + sym,
		w: api.Write{Wait: true}, noRetry: true})
	if err != nil {
		s.c.log.Debug("scheduled match failed", "symbol", sym, "error", err)
		return
	}
	var done ccMatch
	_ = json.Unmarshal(res, &done)
	s.mu.Lock()
	if r.Committed {
		delete(s.waiting, sym)
	}
	if done.More {
		s.dirty[sym] = time.Now()
	}
	s.mu.Unlock()
	s.c.log.Info("scheduled match", "symbol", sym, "txId", r.TxID, "committed", r.Committed, "trades", len(done.Trades), "more", done.More)
}
