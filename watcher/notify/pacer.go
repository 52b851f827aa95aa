package notify

import (
	"context"
	"sync"
	"time"
)

// Pacer is a token bucket that paces one provider: Rate sends per second on average, bursts
// of up to Burst, and a pause of the whole bucket when the provider answers 429 (Pause). It is
// safe for concurrent use. Time comes from Now so tests can drive it.
type Pacer struct {
	mu     sync.Mutex
	rate   float64 // tokens per second
	burst  float64
	tokens float64
	last   time.Time
	until  time.Time // paused until
	now    func() time.Time
	// DefaultPause is the pause used when a 429 names no Retry-After.
	DefaultPause time.Duration
}

// NewPacer returns a full bucket of burst tokens refilled at rate per second; now nil means
// time.Now. A rate <= 0 means unlimited.
func NewPacer(rate float64, burst int, now func() time.Time) *Pacer {
	if now == nil {
		now = time.Now
	}
	if burst < 1 {
		burst = 1
	}
	return &Pacer{rate: rate, burst: float64(burst), tokens: float64(burst), last: now(), now: now, DefaultPause: time.Second}
}

// Reserve takes one token and returns how long the caller must wait before sending (0 when it
// may send now). Tokens may go negative: waits queue up fairly in call order.
func (p *Pacer) Reserve() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	var wait time.Duration
	if now.Before(p.until) {
		wait = p.until.Sub(now)
	}
	if p.rate <= 0 {
		return wait
	}
	if el := now.Sub(p.last).Seconds(); el > 0 {
		p.tokens = min(p.burst, p.tokens+el*p.rate)
		p.last = now
	}
	p.tokens--
	if p.tokens < 0 {
		wait = max(wait, time.Duration(-p.tokens/p.rate*float64(time.Second)))
	}
	return wait
}

// Wait blocks until the caller may send, or ctx ends.
func (p *Pacer) Wait(ctx context.Context) error {
	d := p.Reserve()
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Pause stops sends for d (DefaultPause when d is 0), extending an earlier pause but never
// shortening it: the answer to a 429.
func (p *Pacer) Pause(d time.Duration) {
	if d <= 0 {
		d = p.DefaultPause
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if u := p.now().Add(d); u.After(p.until) {
		p.until = u
	}
}
