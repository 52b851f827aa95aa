package service

import (
	"context"
	"encoding/json"
	"time"

	"github.com/fabmarket/fabmarket/watcher/queue"
	"github.com/fabmarket/fabmarket/watcher/store"
)

// Kinds of change announced to the other instances.
const (
	changeSubscribe   = "subscribe"
	changeUnsubscribe = "unsubscribe"
	changeSettings    = "settings"
)

// change is one subscription or settings change, as one instance announces it to the others
// on queue.ChangesSubject after storing it. Instances sharing a store and a queue apply each
// other's changes to their in-memory subscriptions, index and settings, so an alert fired or a
// fan-out message handled by any instance sees every subscription and setting.
type change struct {
	Kind     string              `json:"kind"`
	Origin   string              `json:"origin"`
	Sub      *store.Subscription `json:"sub,omitempty"`
	ID       string              `json:"id,omitempty"`
	User     string              `json:"user,omitempty"`
	Settings json.RawMessage     `json:"settings,omitempty"`
}

// announceLocked publishes a change that was stored; a failure is logged, not returned: the
// change is in the store, and the other instances load it when they restart.
func (s *Service) announceLocked(ctx context.Context, c change) {
	c.Origin = s.cfg.InstanceID
	raw, err := json.Marshal(c)
	if err != nil {
		s.cfg.Log.Error("watcher: encode change", "err", err)
		return
	}
	if err := s.cfg.Queue.Publish(context.WithoutCancel(ctx), queue.ChangesSubject, newID("chg_"), raw); err != nil {
		s.cfg.Log.Warn("watcher: announce change to other instances", "kind", c.Kind, "err", err)
	}
}

// applyChange applies another instance's change (its own are skipped); applying one twice,
// or one already loaded from the store, changes nothing.
func (s *Service) applyChange(m queue.Msg) {
	var c change
	if err := json.Unmarshal(m.Data, &c); err != nil {
		s.cfg.Log.Warn("watcher: malformed change", "err", err)
		return
	}
	if c.Origin == s.cfg.InstanceID {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	switch c.Kind {
	case changeSubscribe:
		if c.Sub == nil || c.Sub.ID == "" {
			break
		}
		if _, ok := s.subs[c.Sub.ID]; ok {
			return
		}
		if s.closedSy && !s.known[c.Sub.Symbol] {
			s.known[c.Sub.Symbol] = true // the other instance accepted it: follow the store
		}
		err = s.applySubLocked(*c.Sub)
	case changeUnsubscribe:
		if sub, ok := s.subs[c.ID]; ok {
			err = s.removeSubLocked(sub)
		}
	case changeSettings:
		var st Settings
		if st, err = DecodeSettings(c.Settings); err == nil {
			s.settings[c.User] = st
		}
	default:
		s.cfg.Log.Warn("watcher: unknown change", "kind", c.Kind, "origin", c.Origin)
		return
	}
	if err != nil {
		s.cfg.Log.Error("watcher: apply change", "kind", c.Kind, "origin", c.Origin, "err", err)
	}
}

// followChanges applies the other instances' changes from since (a little before this
// instance loaded the store) until ctx ends.
func (s *Service) followChanges(ctx context.Context, since time.Time) error {
	return s.cfg.Queue.Follow(ctx, queue.ChangesStream, since, s.applyChange)
}
