package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// backend is one Store implementation under test. open returns n handles onto one fresh,
// empty store: separate connections for SQL (as separate processes would have), the same
// value for Memory.
type backend struct {
	name string
	skip string // why the backend does not run here, when it does not
	open func(t *testing.T, n int) []Store
}

// pgEnv names the variable that points the PostgreSQL runs at a server (scripts/lib/postgres.sh
// starts a throw-away one and sets it).
const pgEnv = "FABMARKET_PG_URL"

// backends lists every implementation: memory, SQLite, and PostgreSQL when FABMARKET_PG_URL is
// set (each test then gets its own schema, dropped afterwards).
func backends() []backend {
	bs := []backend{
		{name: "memory", open: func(t *testing.T, n int) []Store {
			m := NewMemory()
			out := make([]Store, n)
			for i := range out {
				out[i] = m
			}
			return out
		}},
		{name: "sqlite", open: func(t *testing.T, n int) []Store {
			path := filepath.Join(t.TempDir(), "w.db")
			return openN(t, path, n)
		}},
	}
	pg := backend{name: "postgres", open: func(t *testing.T, n int) []Store { return openN(t, pgSchemaURL(t), n) }}
	if os.Getenv(pgEnv) == "" {
		pg.skip = pgEnv + " is not set: PostgreSQL store tests skipped (source scripts/lib/postgres.sh and run pg_start to get a throw-away server)"
	}
	return append(bs, pg)
}

func openN(t *testing.T, url string, n int) []Store {
	t.Helper()
	out := make([]Store, n)
	for i := range out {
		s, err := Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		out[i] = s
	}
	return out
}

// pgSchemaURL creates a schema of its own for the test in the database of FABMARKET_PG_URL and
// returns a URL whose connections use it; the schema is dropped when the test ends.
func pgSchemaURL(t *testing.T) string {
	t.Helper()
	base := os.Getenv(pgEnv)
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	if _, err := db.Exec(`CREATE SCHEMA ` + schema); err != nil {
		db.Close()
		t.Fatalf("create schema on %s: %v", pgEnv, err)
	}
	t.Cleanup(func() {
		db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
		db.Close()
	})
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}

// forEach runs fn as a subtest on a fresh store of every backend.
func forEach(t *testing.T, fn func(t *testing.T, s Store)) {
	forEachN(t, 1, func(t *testing.T, s []Store) { fn(t, s[0]) })
}

// forEachN runs fn as a subtest on n handles onto one fresh store of every backend.
func forEachN(t *testing.T, n int, fn func(t *testing.T, s []Store)) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			if b.skip != "" {
				t.Skip(b.skip)
			}
			fn(t, b.open(t, n))
		})
	}
}

func TestSubscriptions(t *testing.T) {
	forEach(t, func(t *testing.T, s Store) {
		{
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
		}
	})
}

func TestNotificationsIdempotent(t *testing.T) {
	forEach(t, func(t *testing.T, s Store) {
		{
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
		}
	})
}

// TestNotificationsByUserPrefix: an org's scope selects its users only, exactly (no LIKE
// wildcards, case-sensitive, not a longer org name that starts the same).
func TestNotificationsByUserPrefix(t *testing.T) {
	forEach(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		var ns []Notification
		for i, u := range []string{"org1/u1", "org2/u1", "org10/u1", "ORG1/u1", "org1/u2", "u1", "org_/u1", "orgé/u1"} {
			ns = append(ns, Notification{ID: fmt.Sprint("n", i), EventID: "e", Type: "PRICE_CHANGE", User: u, Symbol: "ACME", Payload: []byte(`{}`), CreatedAt: time.Unix(1, 0)})
		}
		if _, err := s.InsertNotifications(ctx, ns); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			f    Filter
			want []string
		}{
			{Filter{UserPrefix: "org1/"}, []string{"org1/u1", "org1/u2"}},
			{Filter{UserPrefix: "org1/", User: "org1/u2"}, []string{"org1/u2"}},
			{Filter{UserPrefix: "org1/", User: "org2/u1"}, nil},
			{Filter{UserPrefix: "org%/"}, nil},
			{Filter{UserPrefix: "orgé/"}, []string{"orgé/u1"}},
			{Filter{UserPrefix: "org1/", AfterSeq: 1, Limit: 1}, []string{"org1/u2"}},
		}
		for _, tc := range tests {
			l, err := s.ListNotifications(ctx, tc.f)
			var got []string
			for _, n := range l {
				got = append(got, n.User)
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("list %+v: %v %v, want %v", tc.f, got, err, tc.want)
			}
		}
	})
}

func TestProgress(t *testing.T) {
	forEach(t, func(t *testing.T, s Store) {
		{
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
		}
	})
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

func TestOpenErrors(t *testing.T) {
	tests := []struct {
		name, url, want string
	}{
		{"empty", "", "empty"},
		{"unknown scheme", "mysql://u:pw@localhost/x", "want a SQLite path"},
		{"postgres not listening", "postgres://u:hunter2@127.0.0.1:1/x?sslmode=disable&connect_timeout=2", "connect postgres"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(context.Background(), tc.url)
			if err == nil {
				s.Close()
				t.Fatal("opened")
			}
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("error %q: want it to say %q and hide the password", err, tc.want)
			}
		})
	}
}

func note(id string, t0 time.Time, targets ...string) Notification {
	n := Notification{ID: id, EventID: "e", Type: "PRICE_CHANGE", User: "u-" + id, Symbol: "ACME", Payload: []byte(`{}`), CreatedAt: t0}
	for _, tg := range targets {
		n.Deliveries = append(n.Deliveries, Delivery{Channel: "webhook", Target: tg, State: StatePending, NextAt: t0, UpdatedAt: t0})
	}
	return n
}

// TestClaimStateMachine walks a delivery through pending → sending → finished, with a lost
// claim, a lease that runs out and is taken over, and a release after a restart.
func TestClaimStateMachine(t *testing.T) {
	forEachN(t, 2, func(t *testing.T, h []Store) {
		a, b := h[0], h[1]
		ctx := context.Background()
		t0 := time.Unix(1000, 0).UTC()
		lease := 30 * time.Second
		if _, err := a.InsertNotifications(ctx, []Notification{note("n1", t0, "http://x"), note("n2", t0.Add(time.Second), "http://x")}); err != nil {
			t.Fatal(err)
		}
		steps := []struct {
			name  string
			run   func() (any, error)
			check func(t *testing.T, got any, err error)
		}{
			{"empty owner refused", func() (any, error) { return a.ClaimDeliveries(ctx, "", t0, lease, 10) }, func(t *testing.T, _ any, err error) {
				if err == nil {
					t.Fatal("claimed without an owner")
				}
			}},
			{"A claims the one due", func() (any, error) { return a.ClaimDeliveries(ctx, "A", t0, lease, 10) }, func(t *testing.T, got any, err error) {
				ds := got.([]Delivery)
				if err != nil || len(ds) != 1 || ds[0].NotificationID != "n1" || ds[0].State != StateSending || ds[0].Owner != "A" || !ds[0].NextAt.Equal(t0.Add(lease)) {
					t.Fatalf("%+v %v", ds, err)
				}
			}},
			{"B gets only the other one", func() (any, error) { return b.ClaimDeliveries(ctx, "B", t0.Add(time.Second), lease, 10) }, func(t *testing.T, got any, err error) {
				ds := got.([]Delivery)
				if err != nil || len(ds) != 1 || ds[0].NotificationID != "n2" {
					t.Fatalf("%+v %v", ds, err)
				}
			}},
			{"nothing left while the leases run", func() (any, error) { return b.ClaimDeliveries(ctx, "B", t0.Add(lease/2), lease, 10) }, func(t *testing.T, got any, err error) {
				if ds := got.([]Delivery); err != nil || len(ds) != 0 {
					t.Fatalf("%+v %v", ds, err)
				}
			}},
			{"B cannot finish A's claim", func() (any, error) {
				return nil, b.FinishDelivery(ctx, "B", Delivery{NotificationID: "n1", Channel: "webhook", Target: "http://x", State: StateDelivered, Attempts: 1, UpdatedAt: t0})
			}, func(t *testing.T, _ any, err error) {
				if !errors.Is(err, ErrClaimLost) {
					t.Fatalf("%v, want ErrClaimLost", err)
				}
			}},
			{"finish of an unknown delivery", func() (any, error) {
				return nil, a.FinishDelivery(ctx, "A", Delivery{NotificationID: "nope", Channel: "webhook", Target: "http://x", State: StateDelivered})
			}, func(t *testing.T, _ any, err error) {
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("%v, want ErrNotFound", err)
				}
			}},
			{"A's lease runs out: B takes n1 over", func() (any, error) { return b.ClaimDeliveries(ctx, "B", t0.Add(lease), lease, 10) }, func(t *testing.T, got any, err error) {
				ds := got.([]Delivery)
				if err != nil || len(ds) != 1 || ds[0].NotificationID != "n1" || ds[0].Owner != "B" {
					t.Fatalf("%+v %v", ds, err)
				}
			}},
			{"late A loses", func() (any, error) {
				return nil, a.FinishDelivery(ctx, "A", Delivery{NotificationID: "n1", Channel: "webhook", Target: "http://x", State: StateDelivered, Attempts: 1, UpdatedAt: t0})
			}, func(t *testing.T, _ any, err error) {
				if !errors.Is(err, ErrClaimLost) {
					t.Fatalf("%v, want ErrClaimLost", err)
				}
			}},
			{"B finishes n1 delivered", func() (any, error) {
				return nil, b.FinishDelivery(ctx, "B", Delivery{NotificationID: "n1", Channel: "webhook", Target: "http://x", State: StateDelivered, Attempts: 1, UpdatedAt: t0.Add(lease)})
			}, func(t *testing.T, _ any, err error) {
				if err != nil {
					t.Fatal(err)
				}
			}},
			{"a finished delivery cannot be finished again", func() (any, error) {
				return nil, b.FinishDelivery(ctx, "B", Delivery{NotificationID: "n1", Channel: "webhook", Target: "http://x", State: StateDead, Attempts: 2})
			}, func(t *testing.T, _ any, err error) {
				if !errors.Is(err, ErrClaimLost) {
					t.Fatalf("%v, want ErrClaimLost", err)
				}
			}},
			{"B restarts: its claim on n2 is released", func() (any, error) { return b.ReleaseDeliveries(ctx, "B", t0.Add(lease)) }, func(t *testing.T, got any, err error) {
				if err != nil || got.(int) != 1 {
					t.Fatalf("%v %v, want 1", got, err)
				}
			}},
			{"n2 is due again at once", func() (any, error) { return a.DueDeliveries(ctx, t0.Add(lease), 10) }, func(t *testing.T, got any, err error) {
				ds := got.([]Delivery)
				if err != nil || len(ds) != 1 || ds[0].NotificationID != "n2" || ds[0].Owner != "" {
					t.Fatalf("%+v %v", ds, err)
				}
			}},
			{"states", func() (any, error) { return a.CountDeliveries(ctx) }, func(t *testing.T, got any, err error) {
				c := got.(map[string]int)
				if err != nil || c[StateDelivered] != 1 || c[StatePending] != 1 || c[StateSending] != 0 {
					t.Fatalf("%v %v", c, err)
				}
			}},
		}
		for _, st := range steps {
			got, err := st.run()
			t.Run(st.name, func(t *testing.T) { st.check(t, got, err) })
		}
		n, err := a.GetNotification(ctx, "n1")
		if err != nil || n.Deliveries[0].State != StateDelivered || n.Deliveries[0].Owner != "" || n.Deliveries[0].Attempts != 1 {
			t.Fatalf("n1 %+v %v", n.Deliveries, err)
		}
	})
}

// TestConcurrentInstances: two handles onto one store (two processes) record overlapping
// batches of the same notifications and claim the deliveries from several goroutines each:
// every notification is new exactly once and every delivery is claimed exactly once.
func TestConcurrentInstances(t *testing.T) {
	forEachN(t, 2, func(t *testing.T, h []Store) {
		ctx := context.Background()
		t0 := time.Unix(5000, 0).UTC()
		const total = 300
		var all []Notification
		for i := range total {
			all = append(all, note(fmt.Sprintf("n%04d", i), t0, "http://a", "http://b"))
		}
		var mu sync.Mutex
		newBy := map[string]int{}
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s := h[w%2]
				// Every writer inserts everything, in batches of 25, starting at a different offset.
				for k := range total / 25 {
					part := (k + w*3) % (total / 25)
					in, err := s.InsertNotifications(ctx, all[part*25:(part+1)*25])
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					for _, n := range in {
						newBy[n.ID]++
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(newBy) != total {
			t.Fatalf("%d notifications recorded as new, want %d", len(newBy), total)
		}
		for id, c := range newBy {
			if c != 1 {
				t.Fatalf("%s returned as new %d times", id, c)
			}
		}
		claimed := map[string]string{}
		for w := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, owner := h[w%2], fmt.Sprintf("inst%d", w)
				for {
					ds, err := s.ClaimDeliveries(ctx, owner, t0, time.Minute, 7)
					if err != nil {
						t.Error(err)
						return
					}
					if len(ds) == 0 {
						return
					}
					mu.Lock()
					for _, d := range ds {
						k := d.NotificationID + " " + d.Target
						if prev, dup := claimed[k]; dup {
							t.Errorf("%s claimed by %s and %s", k, prev, owner)
						}
						claimed[k] = owner
					}
					mu.Unlock()
					for _, d := range ds {
						d.State, d.Attempts = StateDelivered, 1
						if err := s.FinishDelivery(ctx, owner, d); err != nil {
							t.Error(err)
						}
					}
				}
			}()
		}
		wg.Wait()
		if len(claimed) != 2*total {
			t.Fatalf("%d deliveries claimed, want %d", len(claimed), 2*total)
		}
		c, _ := h[0].CountDeliveries(ctx)
		if c[StateDelivered] != 2*total {
			t.Fatalf("states %v", c)
		}
	})
}

// TestSQLiteUpgradesOldSchema: a database written before deliveries had an owner column opens,
// gets the column, and its pending deliveries can be claimed.
func TestSQLiteUpgradesOldSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE TABLE notifications (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, event_id TEXT NOT NULL, type TEXT NOT NULL, usr TEXT NOT NULL, symbol TEXT NOT NULL, payload TEXT NOT NULL, created_at BIGINT NOT NULL)`,
		`CREATE TABLE deliveries (notification_id TEXT NOT NULL, channel TEXT NOT NULL, target TEXT NOT NULL, secret TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL, next_at BIGINT NOT NULL, last_error TEXT NOT NULL, updated_at BIGINT NOT NULL, PRIMARY KEY (notification_id, channel, target))`,
		`INSERT INTO notifications (id, event_id, type, usr, symbol, payload, created_at) VALUES ('n1', 'e', 'PRICE_CHANGE', 'u', 'ACME', '{}', 1)`,
		`INSERT INTO deliveries VALUES ('n1', 'webhook', 'http://x', '', 'pending', 0, 1, '', 1)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ds, err := s.ClaimDeliveries(context.Background(), "A", time.Unix(10, 0), time.Minute, 10)
	if err != nil || len(ds) != 1 || ds[0].Owner != "A" {
		t.Fatalf("%+v %v", ds, err)
	}
}

// TestDialects: the PostgreSQL run (when configured) really is PostgreSQL, and placeholders
// are rewritten for it only.
func TestDialects(t *testing.T) {
	tests := []struct {
		d    Dialect
		in   string
		want string
	}{
		{Postgres, "a = ? AND b IN (?, ?)", "a = $1 AND b IN ($2, $3)"},
		{SQLite, "a = ? AND b = ?", "a = ? AND b = ?"},
	}
	for _, tc := range tests {
		if got := (&SQL{dialect: tc.d}).q(tc.in); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.d, got, tc.want)
		}
	}
	forEach(t, func(t *testing.T, s Store) {
		q, ok := s.(*SQL)
		if !ok {
			t.Skip("not SQL")
		}
		want := map[string]Dialect{"sqlite": SQLite, "postgres": Postgres}[strings.Split(t.Name(), "/")[1]]
		if q.Dialect() != want {
			t.Fatalf("dialect %s, want %s", q.Dialect(), want)
		}
	})
}
