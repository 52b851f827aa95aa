package service

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/fabmarket/fabmarket/watcher/notify"
	"github.com/fabmarket/fabmarket/watcher/queue"
	"github.com/fabmarket/fabmarket/watcher/store"
)

// countingSender records every send by notification id and by the instance that made it; each
// send takes a little time, so the two instances' dispatchers overlap.
type countingSender struct {
	inst    string
	mu      *sync.Mutex
	byID    map[string]int
	by      map[string]int
	targets map[string]int
}

func (c *countingSender) Send(ctx context.Context, to notify.Target, m notify.Message) error {
	select {
	case <-time.After(2 * time.Millisecond):
	case <-ctx.Done():
		return ctx.Err()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.byID[m.ID]++
	c.by[c.inst]++
	c.targets[to.Address]++
	return nil
}

// natsServer starts a JetStream server on a random loopback port, standing in for an external
// NATS cluster that several watcher instances connect to.
func natsServer(t *testing.T) string {
	t.Helper()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	return ns.ClientURL()
}

// sharedStores returns two handles onto one fresh store per backend: the same Memory, two
// connections to one SQLite file, and two pools on one PostgreSQL schema when
// FABMARKET_PG_URL is set.
func sharedStores(t *testing.T) []struct {
	name string
	skip string
	open func(t *testing.T) [2]store.Store
} {
	openTwo := func(t *testing.T, url string) [2]store.Store {
		var out [2]store.Store
		for i := range out {
			s, err := store.Open(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			out[i] = s
		}
		return out
	}
	pgSkip := ""
	if os.Getenv("FABMARKET_PG_URL") == "" {
		pgSkip = "FABMARKET_PG_URL is not set: the PostgreSQL variant is skipped (source scripts/lib/postgres.sh and run pg_start)"
	}
	return []struct {
		name string
		skip string
		open func(t *testing.T) [2]store.Store
	}{
		{"memory", "", func(t *testing.T) [2]store.Store { m := store.NewMemory(); return [2]store.Store{m, m} }},
		{"sqlite", "", func(t *testing.T) [2]store.Store { return openTwo(t, filepath.Join(t.TempDir(), "w.db")) }},
		{"postgres", pgSkip, func(t *testing.T) [2]store.Store { return openTwo(t, pgSchema(t)) }},
	}
}

// pgSchema makes a schema of the test's own in FABMARKET_PG_URL's database and returns a URL
// that uses it; the schema is dropped at the end.
func pgSchema(t *testing.T) string {
	base := os.Getenv("FABMARKET_PG_URL")
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "svc_" + hex.EncodeToString(b[:])
	if _, err := db.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); db.Close() })
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}

// TestTwoInstancesDeliverOnce runs two watcher services in one process against one NATS server
// and one store, as two processes would run against an external NATS cluster and PostgreSQL.
// An alert for 120 users and an event whose fan-out messages are each published twice under
// different message ids (a publisher replaying after a crash, past the queue's de-duplication)
// are consumed by both instances through the shared durable consumer, and delivered by both
// dispatchers: every notification is recorded once, shown once on the live streams, and sent
// exactly once, and both instances take part.
func TestTwoInstancesDeliverOnce(t *testing.T) {
	const users = 120
	for _, b := range sharedStores(t) {
		t.Run(b.name, func(t *testing.T) {
			if b.skip != "" {
				t.Skip(b.skip)
			}
			stores := b.open(t)
			p := startPair(t, stores, users)
			svcs, streams, mu, byID, by := p.svcs, p.streams, &p.mu, p.byID, p.by
			ctx := context.Background()

			// A price alert, ingested by A.
			now := time.Now().UTC()
			if _, err := svcs[0].Ingest(ctx, "rest", []Tick{{Symbol: "ACME", Price: 100_000000, Time: now.Add(-25 * time.Hour)}}, nil); err != nil {
				t.Fatal(err)
			}
			res, err := svcs[0].Ingest(ctx, "rest", []Tick{{Symbol: "ACME", Price: 106_000000, Time: now}}, nil)
			if err != nil || res.Messages != (users+6)/7 {
				t.Fatalf("ingest %+v %v", res, err)
			}
			// An event fanned out by hand, every message published twice under different ids.
			var all []string
			for u := range users {
				all = append(all, fmt.Sprintf("u%03d", u))
			}
			var items []queue.Item
			for part := 0; part*7 < users; part++ {
				raw, _ := json.Marshal(batchMsg{EventID: "ev_replayed", Part: part, Users: all[part*7 : min(users, part*7+7)], Ingested: now,
					Message: notify.Message{Type: queue.BreakingNews, Symbol: "ACME", Title: "halt", Time: now}})
				for _, id := range []string{"first", "replay"} {
					items = append(items, queue.Item{Subject: queue.FanoutPrefix + queue.BreakingNews, MsgID: fmt.Sprintf("ev_replayed/%d/%s", part, id), Data: raw})
				}
			}
			if err := svcs[1].cfg.Queue.PublishBatch(ctx, items); err != nil {
				t.Fatal(err)
			}

			want := 2 * users
			deadline := time.Now().Add(30 * time.Second)
			for {
				c, err := stores[0].CountDeliveries(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if c[store.StateDelivered] == want {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("delivery states %v, want %d delivered", c, want)
				}
				time.Sleep(20 * time.Millisecond)
			}
			time.Sleep(300 * time.Millisecond) // a few more polls of both dispatchers: nothing more is sent
			mu.Lock()
			defer mu.Unlock()
			if len(byID) != want {
				t.Fatalf("%d distinct notifications sent, want %d", len(byID), want)
			}
			for id, n := range byID {
				if n != 1 {
					t.Fatalf("notification %s sent %d times", id, n)
				}
			}
			if by["A"] == 0 || by["B"] == 0 {
				t.Fatalf("sends per instance %v: want both instances to deliver", by)
			}
			seen := map[int64]int{}
			for _, s := range streams {
				for len(s.C) > 0 {
					seen[(<-s.C).Seq]++
				}
			}
			if len(seen) != want {
				t.Fatalf("%d notifications on the live streams, want %d", len(seen), want)
			}
			for seq, n := range seen {
				if n != 1 {
					t.Fatalf("notification seq %d on the streams %d times", seq, n)
				}
			}
			ns, _ := stores[1].ListNotifications(ctx, store.Filter{Limit: 1000})
			if len(ns) != want {
				t.Fatalf("%d notifications recorded, want %d", len(ns), want)
			}
			t.Logf("sends per instance: %v", by)
		})
	}
}

// pair is two running service instances, A and B, on one NATS server and one store, with a
// counting webhook sender each and a live-stream subscriber on each hub.
type pair struct {
	svcs    []*Service
	streams []*notify.Subscriber
	mu      sync.Mutex
	byID    map[string]int // sends per notification id
	by      map[string]int // sends per instance
	targets map[string]int // sends per webhook target
}

// startPair starts A and B; users subscriptions u000.. on ACME (webhook, 5% over 1d) are made
// through A before B starts. Both stop when the test ends.
func startPair(t *testing.T, stores [2]store.Store, users int) *pair {
	t.Helper()
	url := natsServer(t)
	p := &pair{byID: map[string]int{}, by: map[string]int{}, targets: map[string]int{}, svcs: make([]*Service, 2), streams: make([]*notify.Subscriber, 2)}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	for i, inst := range []string{"A", "B"} {
		q, err := queue.Open(ctx, queue.Config{URL: url, AckWait: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(q.Close)
		snd := &countingSender{inst: inst, mu: &p.mu, byID: p.byID, by: p.by, targets: p.targets}
		p.svcs[i], err = New(ctx, Config{Store: stores[i], Queue: q, Senders: map[string]notify.Sender{"webhook": snd},
			InstanceID: inst, DispatchPoll: 10 * time.Millisecond, BatchUsers: 7, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			for u := range users {
				if _, err := p.svcs[0].Subscribe(ctx, SubscriptionRequest{User: fmt.Sprintf("u%03d", u), Symbol: "ACME", Windows: []string{"1d"}, Thresholds: []Decimal{"5"},
					Channels: []ChannelSpec{{Type: "webhook", URL: "http://hook.test/" + inst}}}); err != nil {
					t.Fatal(err)
				}
			}
		}
		p.streams[i] = p.svcs[i].Hub().Subscribe("", "", 4*users+16)
	}
	for _, s := range p.svcs {
		wg.Add(1)
		go func() { defer wg.Done(); s.Run(ctx) }()
	}
	return p
}

// eventually polls cond every 10 ms for up to 15 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestInstancesShareSubscriptions: a subscription made through one instance, its deletion
// through the other, and a user's settings reach the other instance's memory and index, so an
// alert ingested by either instance reaches the new subscriber through its own channel.
func TestInstancesShareSubscriptions(t *testing.T) {
	for _, b := range sharedStores(t) {
		t.Run(b.name, func(t *testing.T) {
			if b.skip != "" {
				t.Skip(b.skip)
			}
			p := startPair(t, b.open(t), 3)
			a, bb := p.svcs[0], p.svcs[1]
			ctx := context.Background()
			// B, started after u000..u002 subscribed, knows them from the store.
			if l, _ := bb.ListSubscriptions(ctx, "u001"); len(l) != 1 {
				t.Fatalf("B lists %v", l)
			}
			late, err := bb.Subscribe(ctx, SubscriptionRequest{User: "late", Symbol: "ACME", Windows: []string{"1d"}, Thresholds: []Decimal{"5"},
				Channels: []ChannelSpec{{Type: "webhook", URL: "http://hook.test/late"}}})
			if err != nil {
				t.Fatal(err)
			}
			other, err := bb.Subscribe(ctx, SubscriptionRequest{User: "gone", Symbol: "ACME", Windows: []string{"1d"}, Thresholds: []Decimal{"5"},
				Channels: []ChannelSpec{{Type: "webhook", URL: "http://hook.test/gone"}}})
			if err != nil {
				t.Fatal(err)
			}
			eventually(t, "A to learn B's subscriptions", func() bool {
				_, e1 := a.GetSubscription(ctx, late.ID)
				_, e2 := a.GetSubscription(ctx, other.ID)
				return e1 == nil && e2 == nil
			})
			if err := a.Unsubscribe(ctx, other.ID); err != nil {
				t.Fatal(err)
			}
			eventually(t, "B to learn A's deletion", func() bool { _, err := bb.GetSubscription(ctx, other.ID); return CodeOf(err) == CodeNotFound })
			if _, err := a.PutSettings(ctx, "u002", SettingsSpec{MaxPerHour: 7}); err != nil {
				t.Fatal(err)
			}
			eventually(t, "B to learn A's settings", func() bool { return bb.GetSettings("u002").Spec.MaxPerHour == 7 })

			// A move ingested by A reaches "late" (subscribed through B) by its own webhook, and
			// not "gone".
			now := time.Now().UTC()
			a.Ingest(ctx, "rest", []Tick{{Symbol: "ACME", Price: 100_000000, Time: now.Add(-25 * time.Hour)}}, nil)
			if _, err := a.Ingest(ctx, "rest", []Tick{{Symbol: "ACME", Price: 106_000000, Time: now}}, nil); err != nil {
				t.Fatal(err)
			}
			eventually(t, "4 deliveries", func() bool {
				p.mu.Lock()
				defer p.mu.Unlock()
				return len(p.byID) == 4
			})
			time.Sleep(200 * time.Millisecond)
			p.mu.Lock()
			defer p.mu.Unlock()
			if p.targets["http://hook.test/late"] != 1 || p.targets["http://hook.test/gone"] != 0 || p.targets["http://hook.test/A"] != 3 {
				t.Fatalf("sends per target %v", p.targets)
			}
		})
	}
}

// TestInstancesEvaluateEveryTick: ticks published on the NATS subject reach both instances
// (each has a durable of its own), so both windows end at the same price, both fire the same
// alert with the same id, and each subscriber is notified once.
func TestInstancesEvaluateEveryTick(t *testing.T) {
	for _, b := range sharedStores(t) {
		t.Run(b.name, func(t *testing.T) {
			if b.skip != "" {
				t.Skip(b.skip)
			}
			const users = 5
			p := startPair(t, b.open(t), users)
			if p.svcs[0].TicksConsumer() == p.svcs[1].TicksConsumer() {
				t.Fatalf("both instances use tick consumer %s", p.svcs[0].TicksConsumer())
			}
			ctx := context.Background()
			now := time.Now().UTC()
			for i, tick := range []string{
				`[{"symbol":"ACME","price":"100","time":"` + now.Add(-25*time.Hour).Format(time.RFC3339) + `"}]`,
				`[{"symbol":"ACME","price":"106","time":"` + now.Format(time.RFC3339) + `"}]`,
			} {
				if err := p.svcs[0].cfg.Queue.Publish(ctx, queue.TickSubject, fmt.Sprintf("tick-%d", i), []byte(tick)); err != nil {
					t.Fatal(err)
				}
			}
			last := func(s *Service) int64 {
				s.mu.Lock()
				defer s.mu.Unlock()
				st := s.symbols["ACME"]
				if st == nil {
					return 0
				}
				tk, _ := st.series.Last()
				return tk.Price
			}
			eventually(t, "both instances to evaluate both ticks", func() bool {
				return last(p.svcs[0]) == 106_000000 && last(p.svcs[1]) == 106_000000
			})
			eventually(t, "the notifications", func() bool {
				p.mu.Lock()
				defer p.mu.Unlock()
				return len(p.byID) == users
			})
			time.Sleep(300 * time.Millisecond)
			p.mu.Lock()
			defer p.mu.Unlock()
			for id, n := range p.byID {
				if n != 1 {
					t.Fatalf("notification %s sent %d times", id, n)
				}
			}
			if len(p.byID) != users {
				t.Fatalf("%d notifications, want %d", len(p.byID), users)
			}
		})
	}
}
