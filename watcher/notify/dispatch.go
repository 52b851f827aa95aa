package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/fabmarket/fabmarket/watcher/store"
)

// DispatcherConfig sets up a Dispatcher.
type DispatcherConfig struct {
	Store store.Store
	// Senders by channel type (webhook, email, apns, fcm).
	Senders map[string]Sender
	// Pacers by channel type; a channel without one is not paced.
	Pacers map[string]*Pacer
	// Backoff is the retry policy; the zero value means DefaultBackoff.
	Backoff Backoff
	// Workers is the number of concurrent sends; 0 means 16.
	Workers int
	// Poll is how often due deliveries are looked for without a Kick; 0 means 250ms.
	Poll time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Log receives delivery failures; nil means slog.Default().
	Log *slog.Logger
	// Observe, when set, is called after every attempt with the channel, the resulting state
	// and the time from the notification's creation to this attempt.
	Observe func(channel, state string, sinceCreated time.Duration)
}

// Dispatcher delivers the store's pending deliveries: it sends each through its channel's
// Sender, paced per provider, and records the outcome — delivered, pending again after a
// backoff delay, or dead after the last attempt or a permanent error. It never holds the same
// delivery twice at once.
type Dispatcher struct {
	cfg      DispatcherConfig
	mu       sync.Mutex
	inflight map[dkey]struct{}
	kick     chan struct{}
}

type dkey struct{ id, channel, target string }

// NewDispatcher checks the configuration and returns a dispatcher; errors name the field.
func NewDispatcher(cfg DispatcherConfig) (*Dispatcher, error) {
	if cfg.Store == nil {
		return nil, errors.New("notify: dispatcher store: must be set")
	}
	if cfg.Backoff == (Backoff{}) {
		cfg.Backoff = DefaultBackoff
	}
	if err := cfg.Backoff.Validate(); err != nil {
		return nil, err
	}
	if cfg.Workers == 0 {
		cfg.Workers = 16
	}
	if cfg.Workers < 0 {
		return nil, fmt.Errorf("notify: dispatcher workers %d: must be positive", cfg.Workers)
	}
	if cfg.Poll == 0 {
		cfg.Poll = 250 * time.Millisecond
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Dispatcher{cfg: cfg, inflight: map[dkey]struct{}{}, kick: make(chan struct{}, 1)}, nil
}

// Kick makes the dispatcher look for due deliveries now (after new notifications were stored).
func (d *Dispatcher) Kick() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends; it returns after the attempts in flight finished.
func (d *Dispatcher) Run(ctx context.Context) error {
	work := make(chan store.Delivery)
	var wg sync.WaitGroup
	for range d.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for dl := range work {
				d.Attempt(ctx, dl)
				d.mu.Lock()
				delete(d.inflight, dkey{dl.NotificationID, dl.Channel, dl.Target})
				d.mu.Unlock()
			}
		}()
	}
	defer func() {
		close(work)
		wg.Wait()
	}()
	t := time.NewTicker(d.cfg.Poll)
	defer t.Stop()
	for {
		full, err := d.sweep(ctx, work)
		if err != nil && ctx.Err() == nil {
			d.cfg.Log.Warn("watcher: due deliveries", "err", err)
		}
		if full {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-d.kick:
		}
	}
}

const sweepBatch = 512

// sweep hands the due deliveries that are not in flight to the workers; full is true when
// there may be more.
func (d *Dispatcher) sweep(ctx context.Context, work chan<- store.Delivery) (full bool, err error) {
	due, err := d.cfg.Store.DueDeliveries(ctx, d.cfg.Now(), sweepBatch)
	if err != nil {
		return false, err
	}
	handed := 0
	for _, dl := range due {
		k := dkey{dl.NotificationID, dl.Channel, dl.Target}
		d.mu.Lock()
		_, busy := d.inflight[k]
		if !busy {
			d.inflight[k] = struct{}{}
		}
		d.mu.Unlock()
		if busy {
			continue
		}
		select {
		case work <- dl:
			handed++
		case <-ctx.Done():
			d.mu.Lock()
			delete(d.inflight, k)
			d.mu.Unlock()
			return false, nil
		}
	}
	return len(due) == sweepBatch && handed > 0, nil
}

// Attempt makes one delivery attempt and records its outcome in the store.
func (d *Dispatcher) Attempt(ctx context.Context, dl store.Delivery) {
	n, err := d.cfg.Store.GetNotification(ctx, dl.NotificationID)
	if err != nil {
		d.cfg.Log.Warn("watcher: load notification", "id", dl.NotificationID, "err", err)
		return
	}
	var m Message
	sender := d.cfg.Senders[dl.Channel]
	switch {
	case sender == nil:
		err = &PermanentError{Err: fmt.Errorf("no %s sender configured", dl.Channel)}
	default:
		if err = json.Unmarshal(n.Payload, &m); err != nil {
			err = &PermanentError{Err: fmt.Errorf("decode payload: %w", err)}
			break
		}
		if p := d.cfg.Pacers[dl.Channel]; p != nil {
			if err := p.Wait(ctx); err != nil {
				return // shutting down: the delivery stays pending
			}
		}
		err = sender.Send(ctx, Target{Address: dl.Target, Secret: dl.Secret, User: n.User}, m)
	}
	if err != nil && ctx.Err() != nil {
		return // cancelled mid-send: retry after restart, not counted
	}
	now := d.cfg.Now()
	dl.Attempts++
	dl.UpdatedAt = now
	var ra *RetryAfterError
	switch {
	case err == nil:
		dl.State, dl.LastError = store.StateDelivered, ""
	case IsPermanent(err) || dl.Attempts >= d.cfg.Backoff.MaxAttempts:
		dl.State, dl.LastError = store.StateDead, err.Error()
	default:
		wait := d.cfg.Backoff.Delay(dl.Attempts)
		if errors.As(err, &ra) {
			if p := d.cfg.Pacers[dl.Channel]; p != nil {
				p.Pause(ra.After)
			}
			wait = max(wait, ra.After)
		}
		dl.State, dl.LastError, dl.NextAt = store.StatePending, err.Error(), now.Add(wait)
	}
	if err != nil {
		d.cfg.Log.Info("watcher: delivery failed", "id", dl.NotificationID, "channel", dl.Channel, "attempt", dl.Attempts, "state", dl.State, "err", err)
	}
	if uerr := d.cfg.Store.UpdateDelivery(context.WithoutCancel(ctx), dl); uerr != nil {
		d.cfg.Log.Error("watcher: record delivery", "id", dl.NotificationID, "err", uerr)
	}
	if d.cfg.Observe != nil {
		d.cfg.Observe(dl.Channel, dl.State, now.Sub(n.CreatedAt))
	}
}
