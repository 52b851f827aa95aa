package service

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/fabmarket/fabmarket/watcher/notify"
	"github.com/fabmarket/fabmarket/watcher/queue"
	"github.com/fabmarket/fabmarket/watcher/store"
)

type capture struct {
	mu  sync.Mutex
	got []notify.Message
	to  []notify.Target
	ch  chan notify.Message
}

func (c *capture) Send(_ context.Context, to notify.Target, m notify.Message) error {
	c.mu.Lock()
	c.got = append(c.got, m)
	c.to = append(c.to, to)
	c.mu.Unlock()
	c.ch <- m
	return nil
}

func newService(t *testing.T, now func() time.Time) (*Service, *capture, store.Store) {
	t.Helper()
	q, err := queue.Open(context.Background(), queue.Config{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(q.Close)
	st := store.NewMemory()
	c := &capture{ch: make(chan notify.Message, 100)}
	s, err := New(context.Background(), Config{Store: st, Queue: q, Senders: map[string]notify.Sender{"webhook": c, "email": c},
		DispatchPoll: 10 * time.Millisecond, Now: now, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return s, c, st
}

func TestNormalizeDefaults(t *testing.T) {
	s := &Service{}
	tests := []struct {
		name string
		req  SubscriptionRequest
		th   []string
		ws   []string
		trig int
		ok   bool
	}{
		{"defaults", SubscriptionRequest{User: "u", Symbol: "ACME"}, []string{"5", "10"}, []string{"1d", "1w"}, 8, true},
		{"custom sorted and deduplicated", SubscriptionRequest{User: "u", Symbol: "ACME", Thresholds: []Decimal{"7.5", "2", "7.50"}, Windows: []string{"1w"}}, []string{"2", "7.5"}, []string{"1w"}, 4, true},
		{"numbers accepted", SubscriptionRequest{User: "u", Symbol: "ACME", Thresholds: []Decimal{"3"}, Directions: []string{"up"}}, []string{"3"}, []string{"1d", "1w"}, 2, true},
		{"zero threshold", SubscriptionRequest{User: "u", Symbol: "ACME", Thresholds: []Decimal{"0"}}, nil, nil, 0, false},
		{"three decimals", SubscriptionRequest{User: "u", Symbol: "ACME", Thresholds: []Decimal{"5.001"}}, nil, nil, 0, false},
		{"bad direction", SubscriptionRequest{User: "u", Symbol: "ACME", Directions: []string{"sideways"}}, nil, nil, 0, false},
		{"empty user", SubscriptionRequest{Symbol: "ACME"}, nil, nil, 0, false},
		{"user with space", SubscriptionRequest{User: "a b", Symbol: "ACME"}, nil, nil, 0, false},
		{"bad symbol", SubscriptionRequest{User: "u", Symbol: "AC/ME"}, nil, nil, 0, false},
		{"stream channel", SubscriptionRequest{User: "u", Symbol: "ACME", Channels: []ChannelSpec{{Type: "stream"}}}, []string{"5", "10"}, []string{"1d", "1w"}, 8, true},
		{"unknown channel", SubscriptionRequest{User: "u", Symbol: "ACME", Channels: []ChannelSpec{{Type: "pigeon"}}}, nil, nil, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sub, trig, err := s.normalize(tc.req)
			if (err == nil) != tc.ok {
				t.Fatalf("err %v, want ok=%v", err, tc.ok)
			}
			if !tc.ok {
				if CodeOf(err) != CodeInvalidArgument {
					t.Fatalf("code %q", CodeOf(err))
				}
				return
			}
			if len(trig) != tc.trig || len(sub.Thresholds) != len(tc.th) || len(sub.Windows) != len(tc.ws) {
				t.Fatalf("sub %+v triggers %d", sub, len(trig))
			}
			for i := range tc.th {
				if sub.Thresholds[i] != tc.th[i] {
					t.Fatalf("thresholds %v, want %v", sub.Thresholds, tc.th)
				}
			}
		})
	}
}

func TestFormatPrice(t *testing.T) {
	for in, want := range map[int64]string{106_000000: "106.00", 12500: "0.0125", 1: "0.000001", 100_500000: "100.50"} {
		if got := FormatPrice(in, 6); got != want {
			t.Fatalf("FormatPrice(%d) = %s, want %s", in, got, want)
		}
	}
}

func TestParsePrices(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	s := &Service{cfg: Config{Scale: 6, Now: func() time.Time { return now }}}
	tests := []struct {
		in   PriceRequest
		want int64
		ok   bool
	}{
		{PriceRequest{Symbol: "A", Price: "20.30", Time: "2025-03-01T11:00:00Z"}, 20_300000, true},
		{PriceRequest{Symbol: "A", Price: "20"}, 20_000000, true},
		{PriceRequest{Symbol: "A", Price: "0.0000001"}, 0, false},
		{PriceRequest{Symbol: "A", Price: "-1"}, 0, false},
		{PriceRequest{Symbol: "A", Price: "1", Time: "2025-03-01 11:00"}, 0, false},
		{PriceRequest{Symbol: "", Price: "1"}, 0, false},
	}
	for _, tc := range tests {
		got, err := s.ParsePrices([]PriceRequest{tc.in})
		if (err == nil) != tc.ok || (tc.ok && got[0].Price != tc.want) {
			t.Fatalf("%+v: %v %v", tc.in, got, err)
		}
		if tc.ok && tc.in.Time == "" && !got[0].Time.Equal(now) {
			t.Fatalf("default time %v", got[0].Time)
		}
	}
}

func wait(t *testing.T, c *capture) notify.Message {
	t.Helper()
	select {
	case m := <-c.ch:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery")
	}
	return notify.Message{}
}

func quiet(t *testing.T, c *capture) {
	t.Helper()
	select {
	case m := <-c.ch:
		t.Fatalf("unexpected delivery %+v", m)
	case <-time.After(300 * time.Millisecond):
	}
}

// TestOneAlertPerTick: a move crossing 5% and 10% on both windows gives each user one
// notification, the highest threshold they subscribed to.
func TestOneAlertPerTick(t *testing.T) {
	now := time.Now().UTC()
	s, c, _ := newService(t, time.Now)
	ctx := context.Background()
	for _, u := range []string{"all", "five"} {
		th := []Decimal{}
		if u == "five" {
			th = []Decimal{"5"}
		}
		if _, err := s.Subscribe(ctx, SubscriptionRequest{User: u, Symbol: "ACME", Thresholds: th, Channels: []ChannelSpec{{Type: "webhook", URL: "http://x/" + u}}}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := s.Ingest(ctx, "rest", []Tick{{"ACME", 100_000000, now.Add(-8 * 24 * time.Hour)}, {"ACME", 100_000000, now.Add(-2 * time.Hour)}, {"ACME", 112_000000, now}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for range 2 {
		m := wait(t, c)
		c.mu.Lock()
		got[c.to[len(c.to)-1].User] = m.Window + "/" + m.Threshold
		c.mu.Unlock()
	}
	quiet(t, c)
	if got["all"] != "1d/10" || got["five"] != "1d/5" {
		t.Fatalf("got %v", got)
	}
}

// TestScopedUsers: the REST API's org-scoped ids ("org/id") are users of their own: two orgs'
// "u1" get a notification each, with different ids, and the webhook names the user as the
// org knows it. Malformed scoped ids are refused.
func TestScopedUsers(t *testing.T) {
	now := time.Now().UTC()
	s, c, st := newService(t, time.Now)
	ctx := context.Background()
	for _, u := range []string{"org1/u1", "org2/u1"} {
		if _, err := s.Subscribe(ctx, SubscriptionRequest{User: u, Symbol: "ACME", Windows: []string{"1d"}, Channels: []ChannelSpec{{Type: "webhook", URL: "http://x/" + u}}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []string{"/u1", "org1/", "org1/a/b", "a b/u1", "org1/a b"} {
		if _, err := s.Subscribe(ctx, SubscriptionRequest{User: u, Symbol: "ACME"}); CodeOf(err) != CodeInvalidArgument {
			t.Errorf("user %q: %v, want INVALID_ARGUMENT", u, err)
		}
	}
	if _, err := s.Ingest(ctx, "rest", []Tick{{"ACME", 100_000000, now.Add(-25 * time.Hour)}, {"ACME", 106_000000, now}}, nil); err != nil {
		t.Fatal(err)
	}
	wait(t, c)
	wait(t, c)
	c.mu.Lock()
	if c.to[0].User != "u1" || c.to[1].User != "u1" || c.to[0].Address == c.to[1].Address {
		t.Errorf("webhook targets %+v", c.to)
	}
	c.mu.Unlock()
	for _, org := range []string{"org1/", "org2/"} {
		ns, err := st.ListNotifications(ctx, store.Filter{UserPrefix: org})
		if err != nil || len(ns) != 1 || ns[0].User != org+"u1" {
			t.Fatalf("%s: %+v %v", org, ns, err)
		}
	}
}

// TestUserLimitAndQuietHours: a user limited to one notification per hour gets the second
// alert recorded as throttled; e-mail in quiet hours waits while the webhook goes out.
func TestUserLimitAndQuietHours(t *testing.T) {
	now := time.Now().UTC()
	s, c, st := newService(t, time.Now)
	ctx := context.Background()
	if _, err := s.Subscribe(ctx, SubscriptionRequest{User: "u1", Symbol: "ACME", Windows: []string{"1d"}}); err != nil {
		t.Fatal(err)
	}
	start := now.Add(-time.Minute).Format("15:04")
	end := now.Add(2 * time.Hour).Format("15:04")
	if _, err := s.PutSettings(ctx, "u1", SettingsSpec{MaxPerHour: 1, QuietHours: &QuietHoursSpec{Start: start, End: end, TimeZone: "UTC"},
		Channels: []ChannelSpec{{Type: "webhook", URL: "http://hook"}, {Type: "email", To: "u1@x.y"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Ingest(ctx, "rest", []Tick{{"ACME", 100_000000, now.Add(-25 * time.Hour)}, {"ACME", 106_000000, now.Add(-time.Second)}}, nil); err != nil {
		t.Fatal(err)
	}
	if m := wait(t, c); m.Window != "1d" {
		t.Fatalf("%+v", m)
	}
	quiet(t, c) // the e-mail waits for the end of the quiet hours
	if _, err := s.Ingest(ctx, "rest", []Tick{{"ACME", 94_000000, now}}, nil); err != nil {
		t.Fatal(err)
	}
	quiet(t, c) // throttled
	counts, _ := st.CountDeliveries(ctx)
	if counts[store.StateThrottled] != 2 || counts[store.StatePending] != 1 || counts[store.StateDelivered] != 1 {
		t.Fatalf("delivery states %v", counts)
	}
}

// TestRestartKeepsState: windows, rule states and subscriptions survive a new Service on the
// same store, so the move after the restart is measured against the reference from before.
func TestRestartKeepsState(t *testing.T) {
	now := time.Now().UTC()
	q, err := queue.Open(context.Background(), queue.Config{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	st := store.NewMemory()
	ctx := context.Background()
	s1, _ := New(ctx, Config{Store: st, Queue: q})
	s1.Subscribe(ctx, SubscriptionRequest{User: "u1", Symbol: "ACME", Thresholds: []Decimal{"3"}})
	if _, err := s1.Ingest(ctx, "rest", []Tick{{"ACME", 100_000000, now.Add(-25 * time.Hour)}}, nil); err != nil {
		t.Fatal(err)
	}
	s2, err := New(ctx, Config{Store: st, Queue: q})
	if err != nil {
		t.Fatal(err)
	}
	if !s2.Known("ACME") {
		t.Fatal("symbol forgotten")
	}
	res, err := s2.Ingest(ctx, "rest", []Tick{{"ACME", 103_000000, now}}, nil)
	if err != nil || res.Alerts != 2 || res.Messages != 1 {
		t.Fatalf("after restart: %+v %v (want the 3%% alert on 1d and 1w, one message)", res, err)
	}
	if _, err := s2.Ingest(ctx, "rest", []Tick{{"ACME", 1, now.Add(-time.Hour)}}, nil); CodeOf(err) != CodeOutOfOrder {
		t.Fatalf("older tick: %v", err)
	}
}
