// Package service is the price watcher and notifier assembled from its parts: ticks (REST, the
// NATS subject, the ledger feed) go through the per-symbol windows and rules (packages window
// and rules); each alert is fanned out over the subscription index (package index) into queue
// messages carrying batches of user ids (package queue); the notifier consumes them, records
// one notification per user with its deliveries in the store (package store), applies the
// user's settings (package users: channels, quiet hours, per-hour limit) and hands them to the
// dispatcher and the live stream (package notify).
//
// # Ordering and crashes
//
// A batch of ticks is validated as a whole first (unknown symbol, bad price, time in the
// future or older than the symbol's newest tick): one bad tick rejects the batch and changes
// nothing. It is then applied under the service lock: the symbols' states change, the fan-out
// messages are published (and fsynced) with ids derived from the alert, and only then are the
// new symbol states and the feed checkpoint saved together. If publishing fails, the symbols
// are restored from the snapshots taken before, so the caller can retry. If the process dies
// after publishing but before saving, the replayed ticks fire the same alerts with the same
// ids: the queue drops the duplicate publishes and the store the duplicate notifications.
//
// Notification ids are "n_" + the first 24 hex digits of SHA-256(event id, user); event ids
// are derived from the alert (symbol, window, threshold, direction, tick time and price) or,
// for posted events, from the client's id or the event's content.
package service

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/fabmarket/fabmarket/watcher/index"
	"github.com/fabmarket/fabmarket/watcher/notify"
	"github.com/fabmarket/fabmarket/watcher/queue"
	"github.com/fabmarket/fabmarket/watcher/rules"
	"github.com/fabmarket/fabmarket/watcher/store"
	"github.com/fabmarket/fabmarket/watcher/window"
)

// DefaultScale is the number of decimal places prices are kept at.
const DefaultScale = 6

// Config sets up a Service.
type Config struct {
	Store store.Store
	Queue *queue.Queue
	// Senders by channel type (webhook, email, apns, fcm); a channel without a sender makes
	// its deliveries dead letters ("no sender configured").
	Senders map[string]notify.Sender
	// Pacers by channel type.
	Pacers map[string]*notify.Pacer
	// Backoff is the delivery retry policy; zero means notify.DefaultBackoff.
	Backoff notify.Backoff
	// DispatchPoll is how often the dispatcher looks for due deliveries; 0 means 250ms.
	DispatchPoll time.Duration
	// InstanceID names this instance among the watcher processes sharing the store and the
	// queue: the dispatcher claims deliveries under it. It must be unique among running
	// instances and stable across restarts of one; "" means a random id per process.
	InstanceID string
	// DeliveryLease is how long a claimed delivery stays reserved for this instance; 0 means
	// 2 minutes (notify.DispatcherConfig.Lease).
	DeliveryLease time.Duration
	// Window and Rules configure the pure core; zero values are the defaults.
	Window window.Config
	Rules  rules.Config
	// Scale is the number of decimals of prices; 0 means DefaultScale.
	Scale int
	// Symbols, when not empty, is the closed list of symbols the service accepts. When empty,
	// the known symbols are those of subscriptions, of the ledger feed and of persisted state.
	Symbols []string
	// BatchUsers is the number of user ids per fan-out message; 0 means 1000.
	BatchUsers int
	// MaxFutureSkew rejects ticks stamped further in the future; 0 means 5 minutes.
	MaxFutureSkew time.Duration
	// LedgerAlertAge: alerts fired by ledger ticks older than this (a first start replaying
	// the chain's history) update the state but notify nobody; 0 means 1 hour.
	LedgerAlertAge time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Log; nil means slog.Default().
	Log *slog.Logger
	// Metrics; nil means NewMetrics().
	Metrics *Metrics
}

// Validate applies defaults and checks the configuration; errors name the field.
func (c *Config) Validate() error {
	if c.Store == nil {
		return errors.New("service: config Store: required")
	}
	if c.Queue == nil {
		return errors.New("service: config Queue: required")
	}
	if c.Scale == 0 {
		c.Scale = DefaultScale
	}
	if c.Scale < 0 || c.Scale > 12 {
		return fmt.Errorf("service: config Scale %d: want 0 to 12", c.Scale)
	}
	if c.BatchUsers == 0 {
		c.BatchUsers = 1000
	}
	if c.BatchUsers < 1 || c.BatchUsers > 100000 {
		return fmt.Errorf("service: config BatchUsers %d: want 1 to 100000", c.BatchUsers)
	}
	if c.MaxFutureSkew == 0 {
		c.MaxFutureSkew = 5 * time.Minute
	}
	if c.LedgerAlertAge == 0 {
		c.LedgerAlertAge = time.Hour
	}
	for _, s := range c.Symbols {
		if !ValidSymbol(s) {
			return fmt.Errorf("service: config Symbols: %q is not a symbol", s)
		}
	}
	wc := c.Window.WithDefaults()
	if err := wc.Validate(); err != nil {
		return fmt.Errorf("service: config Window: %w", err)
	}
	if wc.Retention < rules.Week.Lookback() {
		return fmt.Errorf("service: config Window Retention %v: must cover the 1w window", wc.Retention)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.InstanceID == "" {
		c.InstanceID = newID("watcher-")
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	if c.Metrics == nil {
		c.Metrics = NewMetrics()
	}
	return nil
}

var symbolRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$`)

// ValidSymbol reports whether s has the shape of a symbol: 1 to 32 letters, digits, '.', '_'
// or '-', starting with a letter or digit.
func ValidSymbol(s string) bool { return symbolRE.MatchString(s) }

// symState is the window and rule state of one symbol.
type symState struct {
	series *window.Series
	rules  *rules.State
	first  window.Tick // the first accepted tick; Price 0 when none
}

// meta is the persisted part of symState beyond the window and the rules.
type meta struct {
	FirstPrice int64     `json:"firstPrice,omitempty"`
	FirstTime  time.Time `json:"firstTime,omitzero"`
}

// Service is the running watcher. Its methods are safe for concurrent use.
type Service struct {
	cfg    Config
	engine *rules.Engine
	disp   *notify.Dispatcher
	hub    *notify.Hub
	m      *Metrics

	mu       sync.Mutex
	closed   bool
	symbols  map[string]*symState
	known    map[string]bool
	closedSy bool // Symbols was configured: the list is closed
	ix       *index.Index
	users    *index.UserTable
	subs     map[string]store.Subscription  // by id
	byKey    map[string]map[string][]string // symbol → user → subscription ids
	settings map[string]Settings            // by user
	limiter  *rules.UserLimiter             // per-user hourly cap
	loadedAt time.Time                      // when New read the store (changes are followed from shortly before)
}

// New checks the configuration, loads subscriptions, settings and symbol states from the
// store, and returns a service ready to Run.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	engine, err := rules.NewEngine(cfg.Rules)
	if err != nil {
		return nil, err
	}
	s := &Service{
		cfg:      cfg,
		engine:   engine,
		hub:      notify.NewHub(),
		m:        cfg.Metrics,
		symbols:  map[string]*symState{},
		known:    map[string]bool{},
		closedSy: len(cfg.Symbols) > 0,
		ix:       index.New(),
		users:    index.NewUserTable(1024),
		subs:     map[string]store.Subscription{},
		byKey:    map[string]map[string][]string{},
		settings: map[string]Settings{},
		limiter:  rules.NewUserLimiter(),
	}
	for _, sym := range cfg.Symbols {
		s.known[sym] = true
	}
	s.disp, err = notify.NewDispatcher(notify.DispatcherConfig{
		Store: cfg.Store, Senders: cfg.Senders, Pacers: cfg.Pacers, Backoff: cfg.Backoff, Poll: cfg.DispatchPoll,
		Owner: cfg.InstanceID, Lease: cfg.DeliveryLease, Now: cfg.Now, Log: cfg.Log,
		Observe: func(ch, state string, since time.Duration) {
			s.m.Deliveries.WithLabelValues(ch, state).Inc()
			if state == store.StateDelivered {
				s.m.Latency.WithLabelValues(ch).Observe(since.Seconds())
			}
		},
	})
	if err != nil {
		return nil, err
	}
	s.loadedAt = time.Now()
	if err := s.load(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// load rebuilds the in-memory state from the store.
func (s *Service) load(ctx context.Context) error {
	subs, err := s.cfg.Store.ListSubscriptions(ctx, "")
	if err != nil {
		return err
	}
	for _, sub := range subs {
		s.addSubLocked(sub)
	}
	for sym, byUser := range s.byKey {
		for u := range byUser {
			if err := s.reindexLocked(sym, u); err != nil {
				return fmt.Errorf("service: load subscriptions of %s on %s: %w", u, sym, err)
			}
		}
	}
	docs, err := s.cfg.Store.AllSettings(ctx)
	if err != nil {
		return err
	}
	for u, doc := range docs {
		st, err := DecodeSettings(doc)
		if err != nil {
			return fmt.Errorf("service: settings of %s: %w", u, err)
		}
		s.settings[u] = st
	}
	states, err := s.cfg.Store.LoadSymbolStates(ctx)
	if err != nil {
		return err
	}
	for sym, st := range states {
		ser, err := window.New(s.cfg.Window)
		if err != nil {
			return err
		}
		if err := ser.UnmarshalBinary(st.Window); err != nil {
			return fmt.Errorf("service: window of %s: %w", sym, err)
		}
		rs, err := s.engine.DecodeState(st.Rules)
		if err != nil {
			return fmt.Errorf("service: rules of %s: %w", sym, err)
		}
		ss := &symState{series: ser, rules: rs}
		if len(st.Meta) > 0 {
			var md meta
			if err := json.Unmarshal(st.Meta, &md); err != nil {
				return fmt.Errorf("service: meta of %s: %w", sym, err)
			}
			ss.first = window.Tick{Price: md.FirstPrice, Time: md.FirstTime}
		}
		s.symbols[sym] = ss
		if !s.closedSy {
			s.known[sym] = true
		}
		s.syncThresholdsLocked(sym)
	}
	return nil
}

// Hub returns the live stream hub.
func (s *Service) Hub() *notify.Hub { return s.hub }

// Metrics returns the service's metrics.
func (s *Service) Metrics() *Metrics { return s.m }

// Scale returns the number of decimals prices are kept at.
func (s *Service) Scale() int { return s.cfg.Scale }

// Run consumes the queue (fan-out batches and external ticks), follows the other instances'
// subscription and settings changes, and runs the dispatcher until ctx ends; it returns the
// first error that stops a part early.
func (s *Service) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 4)
	go func() {
		errc <- s.cfg.Queue.Consume(ctx, queue.ConsumeConfig{Stream: queue.FanoutStream, Durable: "notifier", Filter: queue.FanoutPrefix + ">", Batch: 16}, s.handleBatch)
	}()
	go func() { errc <- s.followChanges(ctx, s.loadedAt.Add(-5*time.Second)) }()
	go func() {
		// Every instance evaluates every tick (a durable of its own, unlike the shared
		// notifier): instances that see the same ticks in the same order fire the same alerts
		// with the same ids, which the queue and the store then de-duplicate. A new durable
		// starts at the ticks stored since shortly before the state was loaded.
		errc <- s.cfg.Queue.Consume(ctx, queue.ConsumeConfig{Stream: queue.TickStream, Durable: s.TicksConsumer(), Filter: queue.TickSubject, Batch: 64,
			StartTime: s.loadedAt.Add(-5 * time.Second), InactiveAfter: 7 * 24 * time.Hour}, s.handleTickMsg)
	}()
	go func() { errc <- s.disp.Run(ctx) }()
	var first error
	for range 4 {
		err := <-errc
		if err != nil && first == nil {
			first = err
			cancel()
		} else if first == nil {
			cancel() // one part stopped: stop the others
		}
	}
	return first
}

// TicksConsumer returns the name of this instance's durable consumer of the NATS tick
// stream: "ticks-" and a hash of the instance id.
func (s *Service) TicksConsumer() string { return hashID("ticks-", s.cfg.InstanceID) }

// Ready reports whether the service can take requests.
func (s *Service) Ready() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.closed
}

// Stop marks the service closed; calls after it fail with UNAVAILABLE. Safe to call twice.
func (s *Service) Stop() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
}

// newID returns prefix + 24 random hex digits.
func newID(prefix string) string {
	var b [12]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// hashID returns prefix + the first 24 hex digits of SHA-256 of the parts, NUL-separated.
func hashID(prefix string, parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return prefix + hex.EncodeToString(h.Sum(nil))[:24]
}

// NotificationID returns the id of the notification of event for user.
func NotificationID(eventID, user string) string { return hashID("n_", eventID, user) }

// stateLocked returns the state of sym, creating it.
func (s *Service) stateLocked(sym string) (*symState, error) {
	if st := s.symbols[sym]; st != nil {
		return st, nil
	}
	ser, err := window.New(s.cfg.Window)
	if err != nil {
		return nil, err
	}
	st := &symState{series: ser, rules: s.engine.NewState(sym)}
	s.symbols[sym] = st
	s.syncThresholdsLocked(sym)
	// Arm every key of a new symbol: its first reference price is a move observed while the
	// service watched it, so a crossing then is a real alert, not a cold-start flood (the
	// rules' "unknown" phase still protects restarts without state and new thresholds).
	s.engine.Evaluate(st.rules, rules.Input{Price: 1, Time: time.Unix(0, 0), Reference: [rules.NumWindows]int64{1, 1}}, nil)
	return st, nil
}

// syncThresholdsLocked makes the rule state of sym watch the custom thresholds in use.
func (s *Service) syncThresholdsLocked(sym string) {
	st := s.symbols[sym]
	if st == nil {
		return
	}
	for w := rules.Window(0); w < rules.NumWindows; w++ {
		if err := st.rules.SetThresholds(w, s.ix.CustomThresholds(sym, w)); err != nil {
			s.cfg.Log.Error("watcher: thresholds", "symbol", sym, "err", err)
		}
	}
}

// Known reports whether the service accepts ticks for sym.
func (s *Service) Known(sym string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.known[sym]
}

// AddSymbols adds symbols to the known list (the ledger feed's instruments); with a closed
// configured list they are added too, since the chain lists them.
func (s *Service) AddSymbols(syms ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sym := range syms {
		if ValidSymbol(sym) {
			s.known[sym] = true
		}
	}
}

// Symbols returns the known symbols, sorted.
func (s *Service) Symbols() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.known))
	for k := range s.known {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
