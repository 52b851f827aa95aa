// Package store persists what the price watcher must not forget: subscriptions, user settings,
// every notification with the delivery state of each of its channels, the per-symbol window and
// rule states, and the checkpoints of its feeds.
//
// One interface, Store, has two implementations: Memory (tests and throw-away runs) and SQL
// (embedded SQLite through the pure-Go modernc.org/sqlite driver by default, or PostgreSQL by
// URL through github.com/jackc/pgx/v5; see Open). The service treats the store as the source
// of truth for delivery: a notification and its pending deliveries are inserted in one
// transaction before the queue message that produced them is acknowledged, and the dispatcher
// works from the pending deliveries (an outbox), so a crash between the queue and a channel
// loses nothing and an insert replayed after a crash changes nothing (InsertNotifications is
// idempotent on the notification id: insert-if-absent, so of two instances recording the same
// notification exactly one gets it back as new).
//
// # Delivery state machine
//
// A delivery is pending (due at NextAt), then claimed by one dispatcher for a lease
// (ClaimDeliveries: state sending, Owner the dispatcher's instance id, NextAt the end of the
// lease), then finished by its owner (FinishDelivery: delivered, dead, or pending again after a
// backoff). A claim is exclusive across processes sharing the store, so two watcher instances
// never send the same delivery at once; a claim whose owner died is taken over when its lease
// runs out, and an instance restarting under the same id releases its own claims at once
// (ReleaseDeliveries). Throttled deliveries are final when inserted.
package store

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned when the requested record does not exist.
var ErrNotFound = errors.New("store: not found")

// ErrExists is returned when a record with the same id already exists.
var ErrExists = errors.New("store: already exists")

// ErrClaimLost is returned by FinishDelivery when the delivery is no longer claimed by the
// owner (its lease ran out and another dispatcher took it over).
var ErrClaimLost = errors.New("store: delivery claim lost")

// Delivery states.
const (
	// StatePending: not yet delivered; due at NextAt.
	StatePending = "pending"
	// StateSending: claimed by the dispatcher named by Owner until NextAt (the lease).
	StateSending = "sending"
	// StateDelivered: the channel accepted the notification.
	StateDelivered = "delivered"
	// StateDead: given up after the last attempt or a permanent error (a dead letter).
	StateDead = "dead"
	// StateThrottled: not sent because the user's per-hour limit was reached.
	StateThrottled = "throttled"
)

// Channel is one destination of a subscription.
type Channel struct {
	Type   string `json:"type"`
	Target string `json:"target,omitempty"`
	// Secret is a per-channel webhook signing secret; empty means the service's secret.
	Secret string `json:"secret,omitempty"`
}

// Subscription is one user's interest in one symbol, as the REST API created it.
type Subscription struct {
	ID         string    `json:"id"`
	User       string    `json:"user"`
	Symbol     string    `json:"symbol"`
	Thresholds []string  `json:"thresholds"`
	Windows    []string  `json:"windows"`
	Directions []string  `json:"directions"`
	Channels   []Channel `json:"channels"`
	CreatedAt  time.Time `json:"createdAt"`
}

// Delivery is the state of one notification on one channel.
type Delivery struct {
	NotificationID string
	Channel        string // channel type: webhook, email, apns, fcm
	Target         string
	Secret         string
	State          string
	// Owner is the instance id of the dispatcher holding the claim (state sending), or "".
	Owner    string
	Attempts int
	// NextAt is when a pending delivery is due, or when the claim of a sending one expires.
	NextAt    time.Time
	LastError string
	UpdatedAt time.Time
}

// Notification is one message for one user, with its deliveries.
type Notification struct {
	ID        string
	Seq       int64 // assigned by the store on insert, ascending
	EventID   string
	Type      string
	User      string
	Symbol    string
	Payload   []byte // the JSON body sent to channels
	CreatedAt time.Time
	// Deliveries are inserted with the notification; GetNotification returns them.
	Deliveries []Delivery
}

// Filter selects notifications for ListNotifications. Empty fields match everything.
type Filter struct {
	User string
	// UserPrefix selects the users whose id starts with it (an org's scope, "org/").
	UserPrefix string
	Symbol     string
	AfterSeq   int64
	Limit      int // 0 means 100
}

// SymbolState is the persisted window and rule state of one symbol.
type SymbolState struct {
	Window []byte
	Rules  []byte
	Meta   []byte // the service's own per-symbol data (for example the first tick)
}

// Progress is what one step of tick processing persists atomically: the states of the symbols
// it changed and the checkpoints of the feeds it consumed.
type Progress struct {
	Symbols     map[string]SymbolState
	Checkpoints map[string][]byte
}

// Store is the persistence of the watcher. Implementations are safe for concurrent use.
type Store interface {
	// PutSubscription inserts a subscription; ErrExists if its id is taken.
	PutSubscription(ctx context.Context, s Subscription) error
	// GetSubscription returns a subscription or ErrNotFound.
	GetSubscription(ctx context.Context, id string) (Subscription, error)
	// DeleteSubscription removes a subscription or returns ErrNotFound.
	DeleteSubscription(ctx context.Context, id string) error
	// ListSubscriptions returns the subscriptions of user (all when user is ""), by id.
	ListSubscriptions(ctx context.Context, user string) ([]Subscription, error)

	// PutSettings stores a user's settings document (JSON).
	PutSettings(ctx context.Context, user string, doc []byte) error
	// AllSettings returns every user's settings document.
	AllSettings(ctx context.Context) (map[string][]byte, error)

	// InsertNotifications inserts the notifications with their deliveries in one transaction
	// and returns those that were new, with Seq set; notifications whose id exists are
	// skipped untouched.
	InsertNotifications(ctx context.Context, ns []Notification) ([]Notification, error)
	// GetNotification returns a notification with its deliveries, or ErrNotFound.
	GetNotification(ctx context.Context, id string) (Notification, error)
	// ListNotifications returns notifications by ascending Seq (without deliveries).
	ListNotifications(ctx context.Context, f Filter) ([]Notification, error)
	// DueDeliveries returns up to limit pending deliveries with NextAt <= now, oldest first.
	DueDeliveries(ctx context.Context, now time.Time, limit int) ([]Delivery, error)
	// UpdateDelivery stores the state, attempts, next time and last error of a delivery,
	// unconditionally (tests and repairs; dispatchers use ClaimDeliveries and FinishDelivery).
	UpdateDelivery(ctx context.Context, d Delivery) error
	// ClaimDeliveries atomically claims up to limit deliveries that are due at now — pending
	// with NextAt <= now, or sending with an expired lease — for owner until now+lease, and
	// returns them (state sending, Owner set, NextAt the lease's end), oldest first. Two
	// callers never get the same delivery while its lease runs.
	ClaimDeliveries(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]Delivery, error)
	// FinishDelivery records the outcome of a claimed delivery (its State pending, delivered
	// or dead, with Attempts, NextAt, LastError, UpdatedAt) if owner still holds the claim;
	// ErrClaimLost otherwise, ErrNotFound when there is no such delivery.
	FinishDelivery(ctx context.Context, owner string, d Delivery) error
	// FinishDeliveries is FinishDelivery for many deliveries in one transaction (one commit,
	// one fsync); errs[i] is the outcome of ds[i], err a failure of the whole batch.
	FinishDeliveries(ctx context.Context, owner string, ds []Delivery) (errs []error, err error)
	// ReleaseDeliveries makes every delivery claimed by owner pending again, due at now, and
	// returns how many there were (an instance restarting under the same id).
	ReleaseDeliveries(ctx context.Context, owner string, now time.Time) (int, error)
	// CountDeliveries returns the number of deliveries per state.
	CountDeliveries(ctx context.Context) (map[string]int, error)

	// GetCheckpoint returns a feed checkpoint or ErrNotFound.
	GetCheckpoint(ctx context.Context, name string) ([]byte, error)
	// SaveProgress stores symbol states and checkpoints in one transaction.
	SaveProgress(ctx context.Context, p Progress) error
	// LoadSymbolStates returns every persisted symbol state.
	LoadSymbolStates(ctx context.Context) (map[string]SymbolState, error)

	// Close releases the store; it is safe to call twice.
	Close() error
}
