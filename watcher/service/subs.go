package service

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/fabmarket/fabmarket/watcher/index"
	"github.com/fabmarket/fabmarket/watcher/rules"
	"github.com/fabmarket/fabmarket/watcher/store"
	"github.com/fabmarket/fabmarket/watcher/users"
)

// Decimal is a decimal number that JSON may carry as a string ("5", "20.30") or as a number
// literal (5, 20.30); the text is kept exactly, never through a float.
type Decimal string

// UnmarshalJSON accepts a JSON string or number.
func (d *Decimal) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*d = Decimal(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("want a decimal string or number, got %s", b)
	}
	*d = Decimal(n.String())
	return nil
}

// ChannelSpec is a channel as the REST API carries it: {"type":"webhook","url":...,
// "secret":...}, {"type":"email","to":...}, {"type":"apns"|"fcm","token":...},
// {"type":"stream"}.
type ChannelSpec struct {
	Type   string `json:"type"`
	URL    string `json:"url,omitempty"`
	To     string `json:"to,omitempty"`
	Token  string `json:"token,omitempty"`
	Secret string `json:"secret,omitempty"`
}

// SubscriptionRequest is the body of POST /v1/subscriptions.
type SubscriptionRequest struct {
	User       string        `json:"user"`
	Symbol     string        `json:"symbol"`
	Thresholds []Decimal     `json:"thresholds"`
	Windows    []string      `json:"windows"`
	Directions []string      `json:"directions"`
	Channels   []ChannelSpec `json:"channels"`
}

// SubscriptionView is a subscription as the REST API answers it (webhook secrets withheld).
type SubscriptionView struct {
	ID         string        `json:"id"`
	User       string        `json:"user"`
	Symbol     string        `json:"symbol"`
	Thresholds []string      `json:"thresholds"`
	Windows    []string      `json:"windows"`
	Directions []string      `json:"directions"`
	Channels   []ChannelSpec `json:"channels"`
	CreatedAt  time.Time     `json:"createdAt"`
}

// View renders a stored subscription.
func View(s store.Subscription) SubscriptionView {
	v := SubscriptionView{ID: s.ID, User: s.User, Symbol: s.Symbol, Thresholds: s.Thresholds, Windows: s.Windows,
		Directions: s.Directions, Channels: make([]ChannelSpec, 0, len(s.Channels)), CreatedAt: s.CreatedAt}
	for _, c := range s.Channels {
		v.Channels = append(v.Channels, specOf(c))
	}
	return v
}

func specOf(c store.Channel) ChannelSpec {
	cs := ChannelSpec{Type: c.Type}
	switch users.ChannelType(c.Type) {
	case users.Webhook:
		cs.URL = c.Target
	case users.Email:
		cs.To = c.Target
	case users.APNs, users.FCM:
		cs.Token = c.Target
	}
	return cs
}

// channelOf validates a channel spec and converts it; the error names the field.
func channelOf(field string, cs ChannelSpec) (store.Channel, error) {
	c := store.Channel{Type: cs.Type}
	extra := ""
	switch users.ChannelType(cs.Type) {
	case users.Webhook:
		c.Target, c.Secret = cs.URL, cs.Secret
		if cs.To != "" || cs.Token != "" {
			extra = "to/token"
		}
	case users.Email:
		c.Target = cs.To
		if cs.URL != "" || cs.Token != "" || cs.Secret != "" {
			extra = "url/token/secret"
		}
	case users.APNs, users.FCM:
		c.Target = cs.Token
		if cs.URL != "" || cs.To != "" || cs.Secret != "" {
			extra = "url/to/secret"
		}
	case users.Stream:
		if cs.URL != "" || cs.To != "" || cs.Token != "" || cs.Secret != "" {
			extra = "url/to/token/secret"
		}
	}
	if err := (users.Channel{Type: users.ChannelType(c.Type), Target: c.Target}).Validate(); err != nil {
		return c, errorf(CodeInvalidArgument, "%s: %v", field, strings.TrimPrefix(err.Error(), "users: "))
	}
	if extra != "" {
		return c, errorf(CodeInvalidArgument, "%s: fields %s do not apply to a %s channel", field, extra, c.Type)
	}
	if len(c.Secret) > 256 {
		return c, errorf(CodeInvalidArgument, "%s.secret: at most 256 bytes", field)
	}
	return c, nil
}

// ValidUser checks a user id as a client gives it: 1 to 128 printable characters without
// spaces or '/'. Errors are INVALID_ARGUMENT naming u.
func ValidUser(u string) error {
	if u == "" || len(u) > 128 {
		return errorf(CodeInvalidArgument, "user %q: must be 1 to 128 characters", u)
	}
	for _, r := range u {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) || r == '/' {
			return errorf(CodeInvalidArgument, "user %q: printable characters without spaces or '/' only", u)
		}
	}
	return nil
}

// validUser checks a user id as the service keeps it: a client's id (ValidUser), or one
// scoped by an org as the REST API passes it, "org/id" (users.Scoped) with both parts valid.
func validUser(u string) error {
	if org, id, ok := users.Unscoped(u); ok {
		if ValidUser(org) != nil {
			return errorf(CodeInvalidArgument, "user %q: scope %q: printable characters without spaces or '/' only", u, org)
		}
		return ValidUser(id)
	}
	return ValidUser(u)
}

// normalize validates a request and returns the subscription to store and its triggers.
func (s *Service) normalize(req SubscriptionRequest) (store.Subscription, []index.Trigger, error) {
	sub := store.Subscription{User: req.User, Symbol: req.Symbol}
	if err := validUser(req.User); err != nil {
		return sub, nil, err
	}
	if !ValidSymbol(req.Symbol) {
		return sub, nil, errorf(CodeInvalidArgument, "symbol %q: want 1 to 32 letters, digits, '.', '_' or '-'", req.Symbol)
	}
	var bps []uint32
	for i, t := range req.Thresholds {
		bp, err := rules.ParseThreshold(string(t))
		if err != nil {
			return sub, nil, errorf(CodeInvalidArgument, "thresholds[%d] %q: a percentage above 0, at most 10000, with at most two decimals", i, string(t))
		}
		if !slices.Contains(bps, bp) {
			bps = append(bps, bp)
		}
	}
	if len(bps) == 0 {
		bps = rules.DefaultThresholds()
	}
	slices.Sort(bps)
	var ws []rules.Window
	for i, w := range req.Windows {
		pw, err := rules.ParseWindow(w)
		if err != nil {
			return sub, nil, errorf(CodeInvalidArgument, "windows[%d] %q: want \"1d\" or \"1w\"", i, w)
		}
		if !slices.Contains(ws, pw) {
			ws = append(ws, pw)
		}
	}
	if len(ws) == 0 {
		ws = []rules.Window{rules.Day, rules.Week}
	}
	slices.Sort(ws)
	var ds []rules.Direction
	for i, d := range req.Directions {
		pd, err := rules.ParseDirection(d)
		if err != nil {
			return sub, nil, errorf(CodeInvalidArgument, "directions[%d] %q: want \"up\" or \"down\"", i, d)
		}
		if !slices.Contains(ds, pd) {
			ds = append(ds, pd)
		}
	}
	if len(ds) == 0 {
		ds = []rules.Direction{rules.Up, rules.Down}
	}
	slices.Sort(ds)
	if len(req.Channels) > 16 {
		return sub, nil, errorf(CodeInvalidArgument, "channels: at most 16")
	}
	for i, cs := range req.Channels {
		c, err := channelOf(fmt.Sprintf("channels[%d]", i), cs)
		if err != nil {
			return sub, nil, err
		}
		if slices.ContainsFunc(sub.Channels, func(o store.Channel) bool { return o.Type == c.Type && o.Target == c.Target }) {
			return sub, nil, errorf(CodeInvalidArgument, "channels[%d]: duplicate %s channel", i, c.Type)
		}
		sub.Channels = append(sub.Channels, c)
	}
	for _, bp := range bps {
		sub.Thresholds = append(sub.Thresholds, rules.FormatThreshold(bp))
	}
	for _, w := range ws {
		sub.Windows = append(sub.Windows, w.String())
	}
	for _, d := range ds {
		sub.Directions = append(sub.Directions, d.String())
	}
	trig, err := index.Expand(ws, bps, ds)
	if err != nil {
		return sub, nil, errorf(CodeInvalidArgument, "%v", err)
	}
	return sub, trig, nil
}

// triggersOf expands a stored subscription.
func triggersOf(sub store.Subscription) []index.Trigger {
	var ws []rules.Window
	var bps []uint32
	var ds []rules.Direction
	for _, w := range sub.Windows {
		if pw, err := rules.ParseWindow(w); err == nil {
			ws = append(ws, pw)
		}
	}
	for _, t := range sub.Thresholds {
		if bp, err := rules.ParseThreshold(t); err == nil {
			bps = append(bps, bp)
		}
	}
	for _, d := range sub.Directions {
		if pd, err := rules.ParseDirection(d); err == nil {
			ds = append(ds, pd)
		}
	}
	t, _ := index.Expand(ws, bps, ds)
	return t
}

func sameSub(a, b store.Subscription) bool {
	return a.User == b.User && a.Symbol == b.Symbol && slices.Equal(a.Thresholds, b.Thresholds) && slices.Equal(a.Windows, b.Windows) &&
		slices.Equal(a.Directions, b.Directions) && slices.Equal(a.Channels, b.Channels)
}

// Subscribe validates and stores a subscription and indexes it. Errors: INVALID_ARGUMENT,
// UNKNOWN_SYMBOL (a configured symbol list does not have it), ALREADY_EXISTS (the same
// subscription exists; the message names its id).
func (s *Service) Subscribe(ctx context.Context, req SubscriptionRequest) (store.Subscription, error) {
	sub, _, err := s.normalize(req)
	if err != nil {
		return sub, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return sub, errorf(CodeUnavailable, "shutting down")
	}
	if s.closedSy && !s.known[sub.Symbol] {
		return sub, errorf(CodeUnknownSymbol, "symbol %q is not listed", sub.Symbol)
	}
	for _, id := range s.byKey[sub.Symbol][sub.User] {
		if sameSub(s.subs[id], sub) {
			return s.subs[id], errorf(CodeConflict, "subscription %s already has these settings", id)
		}
	}
	sub.ID = newID("sub_")
	sub.CreatedAt = s.cfg.Now().UTC().Truncate(time.Millisecond)
	if err := s.cfg.Store.PutSubscription(ctx, sub); err != nil {
		return sub, err
	}
	if err := s.applySubLocked(sub); err != nil {
		return sub, err
	}
	s.announceLocked(ctx, change{Kind: changeSubscribe, Sub: &sub})
	return sub, nil
}

// applySubLocked adds a stored subscription to the in-memory state and the index.
func (s *Service) applySubLocked(sub store.Subscription) error {
	s.addSubLocked(sub)
	if err := s.reindexLocked(sub.Symbol, sub.User); err != nil {
		return err
	}
	s.known[sub.Symbol] = true
	if _, err := s.stateLocked(sub.Symbol); err != nil {
		return err
	}
	s.syncThresholdsLocked(sub.Symbol)
	return nil
}

func (s *Service) addSubLocked(sub store.Subscription) {
	s.subs[sub.ID] = sub
	byUser := s.byKey[sub.Symbol]
	if byUser == nil {
		byUser = map[string][]string{}
		s.byKey[sub.Symbol] = byUser
	}
	byUser[sub.User] = append(byUser[sub.User], sub.ID)
	if !s.closedSy {
		s.known[sub.Symbol] = true
	}
}

// reindexLocked sets the index entry of (user, symbol) to the union of the user's
// subscriptions on the symbol.
func (s *Service) reindexLocked(sym, user string) error {
	uid, err := s.users.Intern(user)
	if err != nil {
		return err
	}
	var union []index.Trigger
	for _, id := range s.byKey[sym][user] {
		union = append(union, triggersOf(s.subs[id])...)
	}
	return s.ix.Set(uid, sym, union) // empty deletes; Set sorts and removes duplicates
}

// GetSubscription returns a subscription; NOT_FOUND when there is none.
func (s *Service) GetSubscription(ctx context.Context, id string) (store.Subscription, error) {
	s.mu.Lock()
	sub, ok := s.subs[id]
	s.mu.Unlock()
	if !ok {
		return sub, errorf(CodeNotFound, "subscription %q not found", id)
	}
	return sub, nil
}

// ListSubscriptions returns the subscriptions of user, by id.
func (s *Service) ListSubscriptions(ctx context.Context, user string) ([]store.Subscription, error) {
	if err := validUser(user); err != nil {
		return nil, err
	}
	return s.cfg.Store.ListSubscriptions(ctx, user)
}

// Unsubscribe deletes a subscription; NOT_FOUND when there is none.
func (s *Service) Unsubscribe(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, ok := s.subs[id]
	if !ok {
		return errorf(CodeNotFound, "subscription %q not found", id)
	}
	if err := s.cfg.Store.DeleteSubscription(ctx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err := s.removeSubLocked(sub); err != nil {
		return err
	}
	s.announceLocked(ctx, change{Kind: changeUnsubscribe, ID: id})
	return nil
}

// removeSubLocked removes a subscription from the in-memory state and the index.
func (s *Service) removeSubLocked(sub store.Subscription) error {
	id := sub.ID
	delete(s.subs, id)
	ids := slices.DeleteFunc(s.byKey[sub.Symbol][sub.User], func(x string) bool { return x == id })
	if len(ids) == 0 {
		delete(s.byKey[sub.Symbol], sub.User)
	} else {
		s.byKey[sub.Symbol][sub.User] = ids
	}
	if err := s.reindexLocked(sub.Symbol, sub.User); err != nil {
		return err
	}
	s.syncThresholdsLocked(sub.Symbol)
	return nil
}

// QuietHoursSpec is the REST form of quiet hours: "HH:MM" wall-clock times in an IANA zone.
type QuietHoursSpec struct {
	Start    string `json:"start"`
	End      string `json:"end"`
	TimeZone string `json:"timeZone,omitempty"`
}

// SettingsSpec is the body of PUT /v1/users/{id}/settings.
type SettingsSpec struct {
	Channels   []ChannelSpec   `json:"channels"`
	QuietHours *QuietHoursSpec `json:"quietHours,omitempty"`
	MaxPerHour int             `json:"maxPerHour,omitempty"`
}

// Settings are a user's parsed settings.
type Settings struct {
	Spec     SettingsSpec
	U        users.Settings
	Channels []store.Channel
}

func parseClock(field, v string) (int, error) {
	t, err := time.Parse("15:04", v)
	if err != nil {
		return 0, errorf(CodeInvalidArgument, "%s %q: want HH:MM", field, v)
	}
	return t.Hour()*60 + t.Minute(), nil
}

// ParseSettings validates a settings document.
func ParseSettings(spec SettingsSpec) (Settings, error) {
	st := Settings{Spec: spec}
	if len(spec.Channels) > 16 {
		return st, errorf(CodeInvalidArgument, "channels: at most 16")
	}
	for i, cs := range spec.Channels {
		c, err := channelOf(fmt.Sprintf("channels[%d]", i), cs)
		if err != nil {
			return st, err
		}
		st.Channels = append(st.Channels, c)
		st.U.Channels = append(st.U.Channels, users.Channel{Type: users.ChannelType(c.Type), Target: c.Target})
	}
	if q := spec.QuietHours; q != nil {
		a, err := parseClock("quietHours.start", q.Start)
		if err != nil {
			return st, err
		}
		b, err := parseClock("quietHours.end", q.End)
		if err != nil {
			return st, err
		}
		st.U.Quiet = users.QuietHours{Start: a, End: b}
		if q.TimeZone != "" {
			loc, err := time.LoadLocation(q.TimeZone)
			if err != nil {
				return st, errorf(CodeInvalidArgument, "quietHours.timeZone %q: not an IANA time zone", q.TimeZone)
			}
			st.U.Quiet.Location = loc
		}
	}
	st.U.MaxPerHour = spec.MaxPerHour
	if err := st.U.Validate(); err != nil {
		return st, errorf(CodeInvalidArgument, "%s", strings.TrimPrefix(err.Error(), "users: "))
	}
	return st, nil
}

// DecodeSettings parses a stored settings document.
func DecodeSettings(doc []byte) (Settings, error) {
	var spec SettingsSpec
	if err := json.Unmarshal(doc, &spec); err != nil {
		return Settings{}, err
	}
	return ParseSettings(spec)
}

// PutSettings validates and stores a user's settings.
func (s *Service) PutSettings(ctx context.Context, user string, spec SettingsSpec) (Settings, error) {
	if err := validUser(user); err != nil {
		return Settings{}, err
	}
	st, err := ParseSettings(spec)
	if err != nil {
		return st, err
	}
	doc, _ := json.Marshal(spec)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.cfg.Store.PutSettings(ctx, user, doc); err != nil {
		return st, err
	}
	s.settings[user] = st
	s.announceLocked(ctx, change{Kind: changeSettings, User: user, Settings: doc})
	return st, nil
}

// GetSettings returns a user's settings (the defaults when none were stored).
func (s *Service) GetSettings(user string) Settings {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.settings[user]
}
