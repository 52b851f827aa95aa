package app

// Delivery benchmarks (scripts/bench-alerts.sh runs them):
//
//	go test ./watcher/app -run '^$' -bench 'Delivery|TickToDelivery' -benchtime 2000x
//
// Each has a trivial baseline in the same run: signed POSTs straight to the receiver, without
// queue, store or dispatcher.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fabmarket/fabmarket/watcher/notify"
	"github.com/fabmarket/fabmarket/watcher/queue"
	"github.com/fabmarket/fabmarket/watcher/service"
	"github.com/fabmarket/fabmarket/watcher/store"
)

func sink(b *testing.B, onID func(id string)) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if onID != nil {
			var m struct{ ID string }
			json.Unmarshal(body, &m)
			onID(m.ID)
		}
	}))
	b.Cleanup(srv.Close)
	return srv
}

var benchMsg = notify.Message{Type: "PRICE_CHANGE", Symbol: "ACME", Window: "1d", Threshold: "5", ChangePercent: "6.00", Price: "106.00", ReferencePrice: "100.00", Time: time.Unix(1_700_000_000, 0)}

// BenchmarkDeliveryBaseline: signed webhook POSTs from 16 goroutines, nothing else.
func BenchmarkDeliveryBaseline(b *testing.B) {
	srv := sink(b, nil)
	wh := &notify.Webhook{Secret: []byte(secret), AllowPrivate: true}
	var next atomic.Int64
	b.ResetTimer()
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				wh.Send(context.Background(), notify.Target{Address: srv.URL}, benchMsg)
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
}

// BenchmarkDelivery: b.N pending webhook deliveries in the SQLite store, delivered by the
// dispatcher (16 workers) with their states recorded.
func BenchmarkDelivery(b *testing.B) {
	var got atomic.Int64
	done := make(chan struct{})
	srv := sink(b, func(string) {
		if got.Add(1) == int64(b.N) {
			close(done)
		}
	})
	st, err := store.Open(context.Background(), filepath.Join(b.TempDir(), "w.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	var notes []store.Notification
	for i := range b.N {
		m := benchMsg
		m.ID = fmt.Sprintf("n_%d", i)
		p, _ := json.Marshal(m)
		notes = append(notes, store.Notification{ID: m.ID, EventID: "e", Type: m.Type, User: fmt.Sprint("u", i), Symbol: "ACME", Payload: p, CreatedAt: now,
			Deliveries: []store.Delivery{{Channel: "webhook", Target: srv.URL, State: store.StatePending, NextAt: now}}})
		if len(notes) == 1000 || i == b.N-1 {
			if _, err := st.InsertNotifications(context.Background(), notes); err != nil {
				b.Fatal(err)
			}
			notes = notes[:0]
		}
	}
	d, _ := notify.NewDispatcher(notify.DispatcherConfig{Store: st, Senders: map[string]notify.Sender{"webhook": &notify.Webhook{Secret: []byte(secret), AllowPrivate: true}},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	b.ResetTimer()
	go d.Run(ctx)
	<-done
	b.StopTimer()
	cancel()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
}

func percentiles(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	p := func(q float64) float64 {
		return float64(lat[min(len(lat)-1, int(q*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(p(0.50), "p50-ms")
	b.ReportMetric(p(0.99), "p99-ms")
}

// BenchmarkTickToDeliveryBaseline: the latency of one signed webhook POST, one at a time.
func BenchmarkTickToDeliveryBaseline(b *testing.B) {
	srv := sink(b, nil)
	wh := &notify.Webhook{Secret: []byte(secret), AllowPrivate: true}
	lat := make([]time.Duration, 0, b.N)
	for range b.N {
		t0 := time.Now()
		wh.Send(context.Background(), notify.Target{Address: srv.URL}, benchMsg)
		lat = append(lat, time.Since(t0))
	}
	percentiles(b, lat)
}

// BenchmarkTickToDelivery: the whole path, one alert at a time — Ingest of a tick that moves
// a symbol 6%, the rules, the fan-out publish (JetStream, fsync every write), the notifier
// recording the notification (SQLite, synchronous=FULL), the dispatcher, the signed POST —
// timed from Ingest to the receiver. One user per symbol, so the per-user hourly limit never
// throttles.
func BenchmarkTickToDelivery(b *testing.B) {
	got := make(chan string, 16)
	srv := sink(b, func(id string) { got <- id })
	dir := b.TempDir()
	st, err := store.Open(context.Background(), filepath.Join(dir, "w.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	q, err := queue.Open(context.Background(), queue.Config{StoreDir: filepath.Join(dir, "js")})
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	svc, err := service.New(context.Background(), service.Config{Store: st, Queue: q, Senders: map[string]notify.Sender{"webhook": &notify.Webhook{Secret: []byte(secret), AllowPrivate: true}},
		Log: benchLog()})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go svc.Run(ctx)
	now := time.Now().UTC()
	for i := range b.N {
		sym := fmt.Sprintf("S%05d", i)
		if _, err := svc.Subscribe(ctx, service.SubscriptionRequest{User: "u" + sym, Symbol: sym, Windows: []string{"1d"}, Thresholds: []service.Decimal{"5"},
			Channels: []service.ChannelSpec{{Type: "webhook", URL: srv.URL}}}); err != nil {
			b.Fatal(err)
		}
		if _, err := svc.Ingest(ctx, "rest", []service.Tick{{Symbol: sym, Price: 100_000000, Time: now.Add(-25 * time.Hour)}}, nil); err != nil {
			b.Fatal(err)
		}
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		if _, err := svc.Ingest(ctx, "rest", []service.Tick{{Symbol: fmt.Sprintf("S%05d", i), Price: 106_000000, Time: now}}, nil); err != nil {
			b.Fatal(err)
		}
		select {
		case <-got:
		case <-time.After(10 * time.Second):
			b.Fatal("alert not delivered")
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	percentiles(b, lat)
}

func benchLog() *slog.Logger {
	if testing.Verbose() {
		return slog.Default()
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}
