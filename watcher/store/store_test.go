package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// stores returns every implementation, fresh, for the conformance tests.
func stores(t *testing.T) map[string]Store {
	t.Helper()
	sq, err := Open(context.Background(), filepath.Join(t.TempDir(), "w.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sq.Close() })
	return map[string]Store{"memory": NewMemory(), "sqlite": sq}
}

func TestSubscriptions(t *testing.T) {
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			a := Subscription{ID: "s1", User: "u1", Symbol: "ACME", Thresholds: []string{"5"}, Windows: []string{"1d"},
				Channels: []Channel{{Type: "webhook", Target: "http://x"}}, CreatedAt: time.Unix(10, 0).UTC()}
			b := Subscription{ID: "s2", User: "u2", Symbol: "ACME"}
			for _, sub := range []Subscription{a, b} {
				if err := s.PutSubscription(ctx, sub); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.PutSubscription(ctx, a); !errors.Is(err, ErrExists) {
				t.Fatalf("duplicate put: %v, want ErrExists", err)
			}
			got, err := s.GetSubscription(ctx, "s1")
			if err != nil || got.Channels[0].Target != "http://x" || !got.CreatedAt.Equal(a.CreatedAt) {
				t.Fatalf("get: %+v %v", got, err)
			}
			tests := []struct {
				user string
				want int
			}{{"u1", 1}, {"u2", 1}, {"", 2}, {"nobody", 0}}
			for _, tc := range tests {
				l, err := s.ListSubscriptions(ctx, tc.user)
				if err != nil || len(l) != tc.want {
					t.Fatalf("list %q: %d %v, want %d", tc.user, len(l), err, tc.want)
				}
			}
			if err := s.DeleteSubscription(ctx, "s1"); err != nil {
				t.Fatal(err)
			}
			if err := s.DeleteSubscription(ctx, "s1"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("second delete: %v", err)
			}
			if _, err := s.GetSubscription(ctx, "s1"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("get deleted: %v", err)
			}
		})
	}
}

func TestNotificationsIdempotent(t *testing.T) {
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			t0 := time.Unix(100, 0).UTC()
			mk := func(id, user, sym string) Notification {
				return Notification{ID: id, EventID: "e1", Type: "PRICE_CHANGE", User: user, Symbol: sym, Payload: []byte(`{"id":"` + id + `"}`), CreatedAt: t0,
					Deliveries: []Delivery{{Channel: "webhook", Target: "http://x", State: StatePending, NextAt: t0},
						{Channel: "email", Target: "a@b.c", State: StatePending, NextAt: t0.Add(time.Hour)}}}
			}
			in, err := s.InsertNotifications(ctx, []Notification{mk("n1", "u1", "ACME"), mk("n2", "u2", "ACME")})
			if err != nil || len(in) != 2 || in[0].Seq >= in[1].Seq {
				t.Fatalf("insert: %+v %v", in, err)
			}
			again, err := s.InsertNotifications(ctx, []Notification{mk("n1", "u1", "ACME"), mk("n3", "u1", "BETA")})
			if err != nil || len(again) != 1 || again[0].ID != "n3" {
				t.Fatalf("replay: %+v %v, want only n3 new", again, err)
			}
			due, err := s.DueDeliveries(ctx, t0, 10)
			if err != nil || len(due) != 3 {
				t.Fatalf("due at t0: %d %v, want 3 webhooks", len(due), err)
			}
			d := due[0]
			d.State, d.Attempts, d.UpdatedAt = StateDelivered, 1, t0
			if err := s.UpdateDelivery(ctx, d); err != nil {
				t.Fatal(err)
			}
			due, _ = s.DueDeliveries(ctx, t0.Add(2*time.Hour), 10)
			if len(due) != 5 {
				t.Fatalf("due later: %d, want 5", len(due))
			}
			n, err := s.GetNotification(ctx, d.NotificationID)
			if err != nil || len(n.Deliveries) != 2 {
				t.Fatalf("get: %+v %v", n, err)
			}
			if _, err := s.GetNotification(ctx, "nope"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("get missing: %v", err)
			}
			filters := []struct {
				f    Filter
				want int
			}{{Filter{}, 3}, {Filter{User: "u1"}, 2}, {Filter{Symbol: "BETA"}, 1}, {Filter{User: "u1", Symbol: "ACME"}, 1}, {Filter{AfterSeq: in[1].Seq}, 1}, {Filter{Limit: 1}, 1}}
			for _, tc := range filters {
				l, err := s.ListNotifications(ctx, tc.f)
				if err != nil || len(l) != tc.want {
					t.Fatalf("list %+v: %d %v, want %d", tc.f, len(l), err, tc.want)
				}
			}
			counts, _ := s.CountDeliveries(ctx)
			if counts[StateDelivered] != 1 || counts[StatePending] != 5 {
				t.Fatalf("counts %v", counts)
			}
		})
	}
}

func TestProgress(t *testing.T) {
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			if _, err := s.GetCheckpoint(ctx, "feed"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("missing checkpoint: %v", err)
			}
			p := Progress{Symbols: map[string]SymbolState{"ACME": {Window: []byte{1}, Rules: []byte{2}}}, Checkpoints: map[string][]byte{"feed": []byte("b7")}}
			if err := s.SaveProgress(ctx, p); err != nil {
				t.Fatal(err)
			}
			p.Symbols["ACME"] = SymbolState{Window: []byte{3}, Rules: []byte{4}}
			if err := s.SaveProgress(ctx, p); err != nil {
				t.Fatal(err)
			}
			st, _ := s.LoadSymbolStates(ctx)
			if st["ACME"].Window[0] != 3 || st["ACME"].Rules[0] != 4 {
				t.Fatalf("states %v", st)
			}
			cp, err := s.GetCheckpoint(ctx, "feed")
			if err != nil || string(cp) != "b7" {
				t.Fatalf("checkpoint %q %v", cp, err)
			}
			if err := s.PutSettings(ctx, "u1", []byte(`{"a":1}`)); err != nil {
				t.Fatal(err)
			}
			s.PutSettings(ctx, "u1", []byte(`{"a":2}`))
			all, _ := s.AllSettings(ctx)
			if string(all["u1"]) != `{"a":2}` {
				t.Fatalf("settings %q", all["u1"])
			}
		})
	}
}

func TestSQLReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "w.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	s.PutSubscription(ctx, Subscription{ID: "s1", User: "u", Symbol: "A"})
	s.Close()
	if err := s.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	s, err = Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.GetSubscription(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
}

func TestOpenPostgresWithoutDriver(t *testing.T) {
	if _, err := Open(context.Background(), "postgres://localhost/x"); err == nil {
		t.Fatal("want an error naming the missing driver")
	}
}

func TestPlaceholders(t *testing.T) {
	s := &SQL{dialect: Postgres}
	if got := s.q("a = ? AND b = ?"); got != "a = $1 AND b = $2" {
		t.Fatal(got)
	}
}
