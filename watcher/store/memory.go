package store

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Memory is an in-memory Store for tests and throw-away runs. It follows the same contract as
// SQL (the same conformance tests run against both) and loses everything on exit.
type Memory struct {
	mu       sync.Mutex
	subs     map[string]Subscription
	settings map[string][]byte
	notes    map[string]*Notification
	order    []string // notification ids by seq
	seq      int64
	checks   map[string][]byte
	symbols  map[string]SymbolState
}

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory {
	return &Memory{
		subs:     map[string]Subscription{},
		settings: map[string][]byte{},
		notes:    map[string]*Notification{},
		checks:   map[string][]byte{},
		symbols:  map[string]SymbolState{},
	}
}

func cloneSub(s Subscription) Subscription {
	s.Thresholds = slices.Clone(s.Thresholds)
	s.Windows = slices.Clone(s.Windows)
	s.Directions = slices.Clone(s.Directions)
	s.Channels = slices.Clone(s.Channels)
	return s
}

// PutSubscription implements Store.
func (m *Memory) PutSubscription(_ context.Context, s Subscription) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.subs[s.ID]; ok {
		return ErrExists
	}
	m.subs[s.ID] = cloneSub(s)
	return nil
}

// GetSubscription implements Store.
func (m *Memory) GetSubscription(_ context.Context, id string) (Subscription, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.subs[id]
	if !ok {
		return Subscription{}, ErrNotFound
	}
	return cloneSub(s), nil
}

// DeleteSubscription implements Store.
func (m *Memory) DeleteSubscription(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.subs[id]; !ok {
		return ErrNotFound
	}
	delete(m.subs, id)
	return nil
}

// ListSubscriptions implements Store.
func (m *Memory) ListSubscriptions(_ context.Context, user string) ([]Subscription, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []Subscription{}
	for _, s := range m.subs {
		if user == "" || s.User == user {
			out = append(out, cloneSub(s))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// PutSettings implements Store.
func (m *Memory) PutSettings(_ context.Context, user string, doc []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.settings[user] = slices.Clone(doc)
	return nil
}

// AllSettings implements Store.
func (m *Memory) AllSettings(context.Context) (map[string][]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string][]byte, len(m.settings))
	for k, v := range m.settings {
		out[k] = slices.Clone(v)
	}
	return out, nil
}

// InsertNotifications implements Store.
func (m *Memory) InsertNotifications(_ context.Context, ns []Notification) ([]Notification, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Notification
	for _, n := range ns {
		if _, ok := m.notes[n.ID]; ok {
			continue
		}
		m.seq++
		c := n
		c.Seq = m.seq
		c.Payload = slices.Clone(n.Payload)
		c.Deliveries = slices.Clone(n.Deliveries)
		for i := range c.Deliveries {
			c.Deliveries[i].NotificationID = c.ID
		}
		m.notes[n.ID] = &c
		m.order = append(m.order, n.ID)
		ret := c
		ret.Deliveries = slices.Clone(c.Deliveries) // the stored ones change as they are sent
		out = append(out, ret)
	}
	return out, nil
}

// GetNotification implements Store.
func (m *Memory) GetNotification(_ context.Context, id string) (Notification, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.notes[id]
	if !ok {
		return Notification{}, ErrNotFound
	}
	c := *n
	c.Deliveries = slices.Clone(n.Deliveries)
	return c, nil
}

// ListNotifications implements Store.
func (m *Memory) ListNotifications(_ context.Context, f Filter) ([]Notification, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	out := []Notification{}
	for _, id := range m.order {
		n := m.notes[id]
		if n.Seq <= f.AfterSeq || (f.User != "" && n.User != f.User) || !strings.HasPrefix(n.User, f.UserPrefix) || (f.Symbol != "" && n.Symbol != f.Symbol) {
			continue
		}
		c := *n
		c.Deliveries = nil
		out = append(out, c)
		if len(out) == limit {
			break
		}
	}
	return out, nil
}

// DueDeliveries implements Store.
func (m *Memory) DueDeliveries(_ context.Context, now time.Time, limit int) ([]Delivery, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Delivery
	for _, id := range m.order {
		for _, d := range m.notes[id].Deliveries {
			if d.State == StatePending && !d.NextAt.After(now) {
				out = append(out, d)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].NextAt.Before(out[j].NextAt) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// UpdateDelivery implements Store.
func (m *Memory) UpdateDelivery(_ context.Context, d Delivery) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.notes[d.NotificationID]
	if !ok {
		return ErrNotFound
	}
	for i := range n.Deliveries {
		x := &n.Deliveries[i]
		if x.Channel == d.Channel && x.Target == d.Target {
			x.State, x.Attempts, x.NextAt, x.LastError, x.UpdatedAt, x.Owner = d.State, d.Attempts, d.NextAt, d.LastError, d.UpdatedAt, d.Owner
			return nil
		}
	}
	return ErrNotFound
}

// ClaimDeliveries implements Store.
func (m *Memory) ClaimDeliveries(_ context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]Delivery, error) {
	if owner == "" {
		return nil, errors.New("store: claim deliveries: owner is empty")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var due []*Delivery
	for _, id := range m.order {
		n := m.notes[id]
		for i := range n.Deliveries {
			d := &n.Deliveries[i]
			if (d.State == StatePending || d.State == StateSending) && !d.NextAt.After(now) {
				due = append(due, d)
			}
		}
	}
	sort.SliceStable(due, func(i, j int) bool { return due[i].NextAt.Before(due[j].NextAt) })
	var out []Delivery
	for _, d := range due[:min(len(due), max(limit, 0))] {
		d.State, d.Owner, d.NextAt, d.UpdatedAt = StateSending, owner, now.Add(lease), now
		out = append(out, *d)
	}
	return out, nil
}

// FinishDelivery implements Store.
func (m *Memory) FinishDelivery(_ context.Context, owner string, d Delivery) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.notes[d.NotificationID]
	if !ok {
		return ErrNotFound
	}
	for i := range n.Deliveries {
		x := &n.Deliveries[i]
		if x.Channel != d.Channel || x.Target != d.Target {
			continue
		}
		if x.State != StateSending || x.Owner != owner {
			return ErrClaimLost
		}
		x.State, x.Attempts, x.NextAt, x.LastError, x.UpdatedAt, x.Owner = d.State, d.Attempts, d.NextAt, d.LastError, d.UpdatedAt, ""
		return nil
	}
	return ErrNotFound
}

// FinishDeliveries implements Store.
func (m *Memory) FinishDeliveries(ctx context.Context, owner string, ds []Delivery) ([]error, error) {
	errs := make([]error, len(ds))
	for i, d := range ds {
		errs[i] = m.FinishDelivery(ctx, owner, d)
	}
	return errs, nil
}

// ReleaseDeliveries implements Store.
func (m *Memory) ReleaseDeliveries(_ context.Context, owner string, now time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := 0
	for _, n := range m.notes {
		for i := range n.Deliveries {
			x := &n.Deliveries[i]
			if x.State == StateSending && x.Owner == owner {
				x.State, x.Owner, x.NextAt, x.UpdatedAt = StatePending, "", now, now
				k++
			}
		}
	}
	return k, nil
}

// CountDeliveries implements Store.
func (m *Memory) CountDeliveries(context.Context) (map[string]int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]int{}
	for _, n := range m.notes {
		for _, d := range n.Deliveries {
			out[d.State]++
		}
	}
	return out, nil
}

// GetCheckpoint implements Store.
func (m *Memory) GetCheckpoint(_ context.Context, name string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.checks[name]
	if !ok {
		return nil, ErrNotFound
	}
	return slices.Clone(v), nil
}

// SaveProgress implements Store.
func (m *Memory) SaveProgress(_ context.Context, p Progress) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, v := range p.Symbols {
		m.symbols[k] = SymbolState{Window: slices.Clone(v.Window), Rules: slices.Clone(v.Rules), Meta: slices.Clone(v.Meta)}
	}
	for k, v := range p.Checkpoints {
		m.checks[k] = slices.Clone(v)
	}
	return nil
}

// LoadSymbolStates implements Store.
func (m *Memory) LoadSymbolStates(context.Context) (map[string]SymbolState, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.symbols), nil
}

// Close implements Store.
func (m *Memory) Close() error { return nil }
