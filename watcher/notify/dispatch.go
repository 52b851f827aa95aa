package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/fabmarket/fabmarket/watcher/store"
	"github.com/fabmarket/fabmarket/watcher/users"
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
	// Owner is this dispatcher's instance id in the store's claims. It must be unique among
	// the processes sharing a store and stable across restarts of one of them (a restart
	// releases its predecessor's claims at once); "" means a random id, whose claims left by a
	// crash are taken over only when their lease runs out.
	Owner string
	// Lease is how long a claim lasts before another dispatcher may take the delivery over;
	// it must be well above the longest send. 0 means 2 minutes.
	Lease time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Log receives delivery failures; nil means slog.Default().
	Log *slog.Logger
	// Observe, when set, is called after every attempt with the channel, the resulting state
	// and the time from the notification's creation to this attempt.
	Observe func(channel, state string, sinceCreated time.Duration)
}

// Dispatcher delivers the store's pending deliveries: it claims due deliveries in the store
// (exclusively: several dispatchers, in one process or many, can share a store and none sends
// a delivery another holds), sends each through its channel's Sender, paced per provider, and
// records the outcome — delivered, pending again after a backoff delay, or dead after the last
// attempt or a permanent error — as long as its claim still holds. It claims at most two
// deliveries per worker ahead, so a claim is sent soon after it is taken, and a claim the
// pacer held for more than half its lease is given back unsent.
type Dispatcher struct {
	cfg      DispatcherConfig
	mu       sync.Mutex
	inflight map[dkey]struct{}
	kick     chan struct{}
	recq     chan finishReq // the recorder's queue while Run runs
}

// finishReq asks the recorder to store one outcome and answer on done.
type finishReq struct {
	dl   store.Delivery
	done chan error
}

// maxRecordBatch bounds the outcomes stored in one transaction.
const maxRecordBatch = 256

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
	if cfg.Lease == 0 {
		cfg.Lease = 2 * time.Minute
	}
	if cfg.Lease < time.Second {
		return nil, fmt.Errorf("notify: dispatcher lease %v: must be at least 1s", cfg.Lease)
	}
	if cfg.Owner == "" {
		var b [8]byte
		rand.Read(b[:])
		cfg.Owner = "dispatcher-" + hex.EncodeToString(b[:])
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Dispatcher{cfg: cfg, inflight: map[dkey]struct{}{}, kick: make(chan struct{}, 1)}, nil
}

// Owner returns the instance id the dispatcher claims deliveries under.
func (d *Dispatcher) Owner() string { return d.cfg.Owner }

// Kick makes the dispatcher look for due deliveries now (after new notifications were stored).
func (d *Dispatcher) Kick() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends; it returns after the attempts in flight finished. It first
// releases the claims a previous run under the same Owner left behind.
func (d *Dispatcher) Run(ctx context.Context) error {
	if n, err := d.cfg.Store.ReleaseDeliveries(ctx, d.cfg.Owner, d.cfg.Now()); err != nil {
		d.cfg.Log.Warn("watcher: release earlier claims", "owner", d.cfg.Owner, "err", err)
	} else if n > 0 {
		d.cfg.Log.Info("watcher: released deliveries claimed before a restart", "owner", d.cfg.Owner, "count", n)
	}
	// Outcomes are stored by one recorder, which commits whatever the workers finished
	// meanwhile in one transaction (a group commit: one fsync for many deliveries).
	recq := make(chan finishReq, d.cfg.Workers)
	recDone := make(chan struct{})
	go func() { d.recorder(recq); close(recDone) }()
	d.mu.Lock()
	d.recq = recq
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		d.recq = nil
		d.mu.Unlock()
		close(recq)
		<-recDone
	}()
	// A delivery holds a slot from its claim until its outcome is stored; there are two
	// slots per worker, so the next claims wait in work while the workers send.
	slots := 2 * d.cfg.Workers
	work := make(chan store.Delivery, slots)
	idle := make(chan struct{}, slots) // one token per free slot
	for range slots {
		idle <- struct{}{}
	}
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
				idle <- struct{}{}
				if len(idle) >= d.cfg.Workers {
					d.Kick() // half the slots are free: claim a batch (not one at a time)
				}
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
		full, err := d.sweep(ctx, work, idle)
		if err != nil && ctx.Err() == nil {
			d.cfg.Log.Warn("watcher: claim deliveries", "err", err)
		}
		if full && ctx.Err() == nil {
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

// recorder stores the outcomes sent on q in batches until q is closed.
func (d *Dispatcher) recorder(q chan finishReq) {
	for first := range q {
		batch := []finishReq{first}
	drain:
		for len(batch) < maxRecordBatch {
			select {
			case r, ok := <-q:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		ds := make([]store.Delivery, len(batch))
		for i, r := range batch {
			ds[i] = r.dl
		}
		errs, err := d.cfg.Store.FinishDeliveries(context.Background(), d.cfg.Owner, ds)
		for i, r := range batch {
			if err != nil {
				r.done <- err
			} else {
				r.done <- errs[i]
			}
		}
	}
}

// record stores the outcome of a claimed delivery: through the recorder while Run runs,
// directly otherwise. It returns store.ErrClaimLost when the claim ran out meanwhile.
func (d *Dispatcher) record(dl store.Delivery) error {
	d.mu.Lock()
	q := d.recq
	d.mu.Unlock()
	if q == nil {
		return d.cfg.Store.FinishDelivery(context.Background(), d.cfg.Owner, dl)
	}
	r := finishReq{dl: dl, done: make(chan error, 1)}
	q <- r
	return <-r.done
}

// Claim claims up to limit due deliveries for this dispatcher (see store.ClaimDeliveries).
func (d *Dispatcher) Claim(ctx context.Context, limit int) ([]store.Delivery, error) {
	return d.cfg.Store.ClaimDeliveries(ctx, d.cfg.Owner, d.cfg.Now(), d.cfg.Lease, limit)
}

// sweep claims as many due deliveries as there are idle workers and hands them over; full is
// true when every idle worker got one (there may be more due).
func (d *Dispatcher) sweep(ctx context.Context, work chan<- store.Delivery, idle chan struct{}) (full bool, err error) {
	free := 0
	for free < cap(idle) {
		select {
		case <-idle:
			free++
			continue
		default:
		}
		break
	}
	if free == 0 {
		return false, nil
	}
	defer func() {
		for range free {
			idle <- struct{}{}
		}
	}()
	claimed, err := d.Claim(ctx, free)
	if err != nil {
		return false, err
	}
	for _, dl := range claimed {
		k := dkey{dl.NotificationID, dl.Channel, dl.Target}
		d.mu.Lock()
		_, busy := d.inflight[k]
		if !busy {
			d.inflight[k] = struct{}{}
		}
		d.mu.Unlock()
		if busy {
			// Our own earlier claim of it ran out while its attempt is still going: that
			// attempt finishes under the new claim.
			continue
		}
		free--
		work <- dl // never blocks: one buffer slot per idle token taken
	}
	return len(claimed) > 0 && free == 0, nil
}

// Attempt makes one delivery attempt of a delivery this dispatcher claimed and records its
// outcome in the store. A shutdown in the middle gives the claim back untouched.
func (d *Dispatcher) Attempt(ctx context.Context, dl store.Delivery) {
	release := func() {
		dl.State, dl.NextAt = store.StatePending, d.cfg.Now()
		if err := d.record(dl); err != nil && !errors.Is(err, store.ErrClaimLost) {
			d.cfg.Log.Warn("watcher: release delivery", "id", dl.NotificationID, "err", err)
		}
	}
	n, err := d.cfg.Store.GetNotification(ctx, dl.NotificationID)
	if err != nil {
		d.cfg.Log.Warn("watcher: load notification", "id", dl.NotificationID, "err", err)
		if ctx.Err() != nil {
			release()
		}
		return // the claim runs out and the delivery is tried again
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
				release() // shutting down: the delivery is pending again
				return
			}
		}
		if !dl.NextAt.IsZero() && dl.NextAt.Sub(d.cfg.Now()) < d.cfg.Lease/2 {
			// The pacer held it for most of the claim: sending now could overlap with another
			// dispatcher taking it over. Give it back to be claimed afresh.
			release()
			return
		}
		err = sender.Send(ctx, Target{Address: dl.Target, Secret: dl.Secret, User: users.Local(n.User)}, m)
	}
	if err != nil && ctx.Err() != nil {
		release() // cancelled mid-send: retried after the restart, not counted
		return
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
	if ferr := d.record(dl); ferr != nil {
		// ErrClaimLost: the lease ran out during the send and another dispatcher took the
		// delivery over; its outcome is the one recorded.
		d.cfg.Log.Error("watcher: record delivery", "id", dl.NotificationID, "channel", dl.Channel, "state", dl.State, "err", ferr)
	}
	if d.cfg.Observe != nil {
		d.cfg.Observe(dl.Channel, dl.State, now.Sub(n.CreatedAt))
	}
}
