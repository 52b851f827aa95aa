package notify

import (
	"strings"
	"sync"
	"sync/atomic"
)

// StreamEvent is one notification on the live stream.
type StreamEvent struct {
	Seq    int64  // the store's sequence number, usable as an SSE event id
	User   string // the user the notification is for
	Symbol string
	Data   []byte // JSON: the Message plus "user"
}

// Subscriber receives the stream events that match its filter on C. A subscriber that does not
// keep up loses events (counted by Hub.Dropped) rather than slowing the notifier down.
type Subscriber struct {
	C      chan StreamEvent
	user   string
	prefix string
	symbol string
}

// Hub fans stream events out to live subscribers. It is safe for concurrent use.
type Hub struct {
	mu      sync.RWMutex
	subs    map[*Subscriber]struct{}
	dropped atomic.Uint64
}

// NewHub returns a hub without subscribers.
func NewHub() *Hub { return &Hub{subs: map[*Subscriber]struct{}{}} }

// Subscribe registers a subscriber for the events of user and symbol (empty matches all) with
// a buffer of buf events.
func (h *Hub) Subscribe(user, symbol string, buf int) *Subscriber {
	return h.subscribe(&Subscriber{user: user, symbol: symbol}, buf)
}

// SubscribePrefix registers a subscriber for the events of every user whose id starts with
// prefix (an org's scope, "org/") and of symbol (empty matches all) with a buffer of buf
// events.
func (h *Hub) SubscribePrefix(prefix, symbol string, buf int) *Subscriber {
	return h.subscribe(&Subscriber{prefix: prefix, symbol: symbol}, buf)
}

func (h *Hub) subscribe(s *Subscriber, buf int) *Subscriber {
	if buf < 1 {
		buf = 1
	}
	s.C = make(chan StreamEvent, buf)
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	return s
}

// Unsubscribe removes a subscriber; it is safe to call twice.
func (h *Hub) Unsubscribe(s *Subscriber) {
	h.mu.Lock()
	delete(h.subs, s)
	h.mu.Unlock()
}

// Matches reports whether an event is for the subscriber.
func (s *Subscriber) Matches(e StreamEvent) bool {
	return (s.user == "" || s.user == e.User) && strings.HasPrefix(e.User, s.prefix) && (s.symbol == "" || s.symbol == e.Symbol)
}

// Publish hands e to every matching subscriber without blocking.
func (h *Hub) Publish(e StreamEvent) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for s := range h.subs {
		if !s.Matches(e) {
			continue
		}
		select {
		case s.C <- e:
		default:
			h.dropped.Add(1)
		}
	}
}

// Subscribers returns the number of live subscribers.
func (h *Hub) Subscribers() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.subs)
}

// Dropped returns how many events slow subscribers lost.
func (h *Hub) Dropped() uint64 { return h.dropped.Load() }
