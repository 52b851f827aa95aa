package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/fabmarket/fabmarket/watcher/notify"
	"github.com/fabmarket/fabmarket/watcher/queue"
	"github.com/fabmarket/fabmarket/watcher/store"
	"github.com/fabmarket/fabmarket/watcher/users"
)

// handleBatch is the notifier: it records one notification per user of a fan-out message,
// with a delivery per channel, then publishes the new ones on the live stream and wakes the
// dispatcher. Returning nil acknowledges the message; a store error has it redelivered, and
// notifications already recorded are skipped (idempotent ids), so a redelivery never doubles
// a notification.
func (s *Service) handleBatch(ctx context.Context, m queue.Msg) error {
	var b batchMsg
	if err := json.Unmarshal(m.Data, &b); err != nil {
		s.cfg.Log.Error("watcher: malformed fan-out message", "subject", m.Subject, "err", err)
		return nil
	}
	now := s.cfg.Now().UTC()
	notes := make([]store.Notification, 0, len(b.Users))
	for _, u := range b.Users {
		id := NotificationID(b.EventID, u)
		if m.NumDelivered > 1 {
			if _, err := s.cfg.Store.GetNotification(ctx, id); err == nil {
				continue // recorded before a crash or a lost ack
			}
		}
		msg := b.Message
		msg.ID = id
		payload, err := json.Marshal(msg)
		if err != nil {
			return err
		}
		created := b.Ingested
		if created.IsZero() {
			created = now
		}
		n := store.Notification{ID: id, EventID: b.EventID, Type: msg.Type, User: u, Symbol: msg.Symbol, Payload: payload, CreatedAt: created}
		s.mu.Lock()
		st := s.settings[u]
		chans := s.channelsLocked(u, msg.Symbol, st)
		allowed := true
		if uid, err := s.users.Intern(u); err == nil {
			allowed = s.limiter.Allow(uid, st.U.Limit(), now)
		}
		s.mu.Unlock()
		for _, c := range chans {
			d := store.Delivery{Channel: c.Type, Target: c.Target, Secret: c.Secret, State: store.StatePending, NextAt: now, UpdatedAt: now}
			if !allowed {
				d.State, d.LastError = store.StateThrottled, fmt.Sprintf("user limit of %d notifications per hour reached", st.U.Limit())
			} else {
				d.NextAt = st.U.Decide(users.Channel{Type: users.ChannelType(c.Type), Target: c.Target}, now).NotBefore
			}
			n.Deliveries = append(n.Deliveries, d)
		}
		if !allowed && len(chans) == 0 {
			n.Deliveries = append(n.Deliveries, store.Delivery{Channel: string(users.Stream), State: store.StateThrottled, NextAt: now, UpdatedAt: now,
				LastError: fmt.Sprintf("user limit of %d notifications per hour reached", st.U.Limit())})
		}
		notes = append(notes, n)
	}
	inserted, err := s.cfg.Store.InsertNotifications(ctx, notes)
	if err != nil {
		return err
	}
	for _, n := range inserted {
		state := store.StatePending
		if len(n.Deliveries) > 0 && n.Deliveries[0].State == store.StateThrottled {
			state = store.StateThrottled
		}
		s.m.Notifications.WithLabelValues(n.Type, state).Inc()
		if state == store.StateThrottled {
			continue
		}
		s.hub.Publish(notify.StreamEvent{Seq: n.Seq, User: n.User, Symbol: n.Symbol, Data: streamData(n)})
	}
	if len(inserted) > 0 {
		s.disp.Kick()
	}
	return nil
}

// channelsLocked returns the delivery channels of user for symbol: the union of the channels
// of the user's subscriptions on the symbol, or the user's settings channels when those name
// none. The live stream is not a stored delivery: every notification goes to it.
func (s *Service) channelsLocked(user, symbol string, st Settings) []store.Channel {
	var out []store.Channel
	add := func(c store.Channel) {
		if c.Type == string(users.Stream) {
			return
		}
		if !slices.ContainsFunc(out, func(o store.Channel) bool { return o.Type == c.Type && o.Target == c.Target }) {
			out = append(out, c)
		}
	}
	for _, id := range s.byKey[symbol][user] {
		for _, c := range s.subs[id].Channels {
			add(c)
		}
	}
	if len(out) == 0 {
		for _, c := range st.Channels {
			add(c)
		}
	}
	return out
}

// AlertView is a notification as the REST API and the stream show it: the channel body plus
// the user, the store sequence, the creation time and, for one notification, its deliveries.
type AlertView struct {
	notify.Message
	User       string         `json:"user"`
	Seq        int64          `json:"seq"`
	CreatedAt  time.Time      `json:"createdAt"`
	State      string         `json:"state,omitempty"`
	Deliveries []DeliveryView `json:"deliveries,omitempty"`
}

// DeliveryView is the state of one channel of a notification.
type DeliveryView struct {
	Channel   string    `json:"channel"`
	Target    string    `json:"target,omitempty"`
	State     string    `json:"state"`
	Attempts  int       `json:"attempts"`
	NextAt    time.Time `json:"nextAttemptAt,omitzero"`
	LastError string    `json:"lastError,omitempty"`
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
}

func viewOf(n store.Notification) AlertView {
	var v AlertView
	json.Unmarshal(n.Payload, &v.Message)
	v.User, v.Seq, v.CreatedAt = n.User, n.Seq, n.CreatedAt
	return v
}

func streamData(n store.Notification) []byte {
	b, _ := json.Marshal(viewOf(n))
	return b
}

// summary is the overall state of a notification from its deliveries: throttled, pending
// while any channel is, dead when any channel gave up, else delivered.
func summary(ds []store.Delivery) string {
	st := store.StateDelivered
	for _, d := range ds {
		switch d.State {
		case store.StatePending, store.StateSending:
			return store.StatePending
		case store.StateThrottled:
			st = store.StateThrottled
		case store.StateDead:
			if st != store.StateThrottled {
				st = store.StateDead
			}
		}
	}
	return st
}

// Notification returns one notification with its delivery states; NOT_FOUND when unknown.
func (s *Service) Notification(ctx context.Context, id string) (AlertView, error) {
	n, err := s.cfg.Store.GetNotification(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return AlertView{}, errorf(CodeNotFound, "notification %q not found", id)
	}
	if err != nil {
		return AlertView{}, err
	}
	v := viewOf(n)
	v.State = summary(n.Deliveries)
	v.Deliveries = []DeliveryView{}
	for _, d := range n.Deliveries {
		dv := DeliveryView{Channel: d.Channel, Target: d.Target, State: d.State, Attempts: d.Attempts, LastError: d.LastError, UpdatedAt: d.UpdatedAt}
		if d.State == store.StatePending {
			dv.NextAt = d.NextAt
		}
		if d.State == store.StateSending {
			dv.State = store.StatePending // claimed by a dispatcher, being sent
		}
		v.Deliveries = append(v.Deliveries, dv)
	}
	return v, nil
}

// Alerts lists notifications by ascending sequence as f selects them: by user, users with an
// id prefix (an org's scope, "org/"), symbol, after a sequence number, at most f.Limit (1 to
// 1000; 0 means 100).
func (s *Service) Alerts(ctx context.Context, f store.Filter) ([]AlertView, error) {
	ns, err := s.cfg.Store.ListNotifications(ctx, f)
	if err != nil {
		return nil, err
	}
	out := make([]AlertView, 0, len(ns))
	for _, n := range ns {
		out = append(out, viewOf(n))
	}
	return out, nil
}

// EventRequest is the body of POST /v1/events.
type EventRequest struct {
	// ID makes a repeated post idempotent; optional.
	ID      string `json:"id"`
	Type    string `json:"type"`
	Symbol  string `json:"symbol"`
	Title   string `json:"title"`
	Message string `json:"message"`
	Time    string `json:"time"`
}

// EventResult answers POST /v1/events.
type EventResult struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	Symbol     string `json:"symbol"`
	Recipients int    `json:"recipients"`
	Messages   int    `json:"messages"`
}

// PostEvent queues an EARNINGS_CALL or BREAKING_NEWS event for every user subscribed to its
// symbol. Errors: INVALID_ARGUMENT, UNKNOWN_SYMBOL, UNAVAILABLE.
func (s *Service) PostEvent(ctx context.Context, req EventRequest) (EventResult, error) {
	var res EventResult
	if req.Type != queue.EarningsCall && req.Type != queue.BreakingNews {
		return res, errorf(CodeInvalidArgument, "type %q: want EARNINGS_CALL or BREAKING_NEWS (price changes come from /v1/prices)", req.Type)
	}
	if !ValidSymbol(req.Symbol) {
		return res, errorf(CodeInvalidArgument, "symbol %q: want 1 to 32 letters, digits, '.', '_' or '-'", req.Symbol)
	}
	if req.Title == "" && req.Message == "" {
		return res, errorf(CodeInvalidArgument, "title, message: at least one is required")
	}
	if len(req.Title) > 256 || len(req.Message) > 4096 || len(req.ID) > 128 {
		return res, errorf(CodeInvalidArgument, "id, title, message: at most 128, 256 and 4096 bytes")
	}
	now := s.cfg.Now().UTC()
	t := now
	if req.Time != "" {
		var err error
		if t, err = time.Parse(time.RFC3339Nano, req.Time); err != nil {
			return res, errorf(CodeInvalidArgument, "time %q: want RFC 3339", req.Time)
		}
		t = t.UTC()
	}
	id := hashID("ev_", req.Type, req.ID)
	if req.ID == "" {
		id = hashID("ev_", req.Type, req.Symbol, t.Format(time.RFC3339Nano), req.Title, req.Message)
	}
	msg := notify.Message{Type: req.Type, Symbol: req.Symbol, Time: t, Title: req.Title, Text: req.Message}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return res, errorf(CodeUnavailable, "shutting down")
	}
	if !s.known[req.Symbol] {
		s.mu.Unlock()
		return res, errorf(CodeUnknownSymbol, "symbol %q: not a known symbol", req.Symbol)
	}
	var audience []string
	for u := range s.byKey[req.Symbol] {
		audience = append(audience, u)
	}
	s.mu.Unlock()
	slices.Sort(audience)
	var items []queue.Item
	for part := 0; part*s.cfg.BatchUsers < len(audience); part++ {
		batch := audience[part*s.cfg.BatchUsers : min(len(audience), (part+1)*s.cfg.BatchUsers)]
		b, _ := json.Marshal(batchMsg{EventID: id, Part: part, Message: msg, Users: batch, Ingested: now})
		items = append(items, queue.Item{Subject: queue.FanoutPrefix + req.Type, MsgID: fmt.Sprintf("%s/%d", id, part), Data: b})
	}
	if err := s.cfg.Queue.PublishBatch(ctx, items); err != nil {
		return res, errorf(CodeUnavailable, "queue: %v", err)
	}
	s.m.FanoutMsgs.Add(float64(len(items)))
	return EventResult{ID: id, Type: req.Type, Symbol: req.Symbol, Recipients: len(audience), Messages: len(items)}, nil
}

// DeliveryCounts returns the number of deliveries per state (for /healthz and tests).
func (s *Service) DeliveryCounts(ctx context.Context) (map[string]int, error) {
	return s.cfg.Store.CountDeliveries(ctx)
}
