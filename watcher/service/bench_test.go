package service

// The service's own fan-out path, benchmarked by scripts/bench-alerts.sh:
//
//	go test ./watcher/service -run '^$' -bench FanOutService -benchtime 3x -cpu 1
//
// WATCHER_BENCH_HOT sets the audience of the hot symbol (default 2,000,000, about the top
// symbol of the 3M-user synthetic population).

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/fabmarket/fabmarket/watcher/index"
	"github.com/fabmarket/fabmarket/watcher/notify"
	"github.com/fabmarket/fabmarket/watcher/queue"
	"github.com/fabmarket/fabmarket/watcher/rules"
	"github.com/fabmarket/fabmarket/watcher/store"
)

// BenchmarkFanOutService measures what the service does when a popular symbol moves, up to
// the queue: the audience from the index (index.Exclusive), batches of BatchUsers ids turned
// into user names and encoded as the fan-out messages (JSON), collected in memory — the
// in-process sink instead of JetStream. The baseline encodes the same names from a plain
// []string in the same batches, without the index and the user table.
func BenchmarkFanOutService(b *testing.B) {
	hot := 2_000_000
	if v, err := strconv.Atoi(os.Getenv("WATCHER_BENCH_HOT")); err == nil && v > 0 {
		hot = v
	}
	q, err := queue.Open(context.Background(), queue.Config{StoreDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	s, err := New(context.Background(), Config{Store: store.NewMemory(), Queue: q, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	names := make([]string, hot)
	for u := range hot {
		names[u] = fmt.Sprintf("user-%07d", u)
		id, err := s.users.Intern(names[u])
		if err != nil {
			b.Fatal(err)
		}
		if err := s.ix.Set(id, "HOT", index.DefaultTriggers()); err != nil {
			b.Fatal(err)
		}
	}
	s.ix.Optimize()
	at := time.Date(2025, 3, 3, 15, 0, 0, 0, time.UTC)
	evs := []rules.Event{{Symbol: "HOT", Window: rules.Day, ThresholdBp: 500, Direction: rules.Up, ChangeBp: 600, Price: 106_000000, ReferencePrice: 100_000000, Time: at}}
	b.Run("service-path", func(b *testing.B) {
		var users, bytes int
		b.ResetTimer()
		for range b.N {
			s.mu.Lock()
			items := s.fanoutLocked("HOT", evs, at)
			s.mu.Unlock()
			for _, it := range items {
				bytes += len(it.Data)
			}
			users += hot
			if len(items) != (hot+s.cfg.BatchUsers-1)/s.cfg.BatchUsers {
				b.Fatalf("%d messages for %d users", len(items), hot)
			}
		}
		b.ReportMetric(float64(users)/b.Elapsed().Seconds(), "notifications/s")
		b.ReportMetric(float64(bytes)/float64(users), "bytes/notification")
		b.ReportMetric(float64(hot), "audience")
	})
	b.Run("baseline-encode-names", func(b *testing.B) {
		msg := notify.Message{Type: queue.PriceChange, Symbol: "HOT", Window: "1d", Threshold: "5", ChangePercent: "6.00", Price: "106.00", ReferencePrice: "100.00", Time: at}
		var users int
		b.ResetTimer()
		for range b.N {
			var items []queue.Item
			for part := 0; part*1000 < hot; part++ {
				raw, _ := json.Marshal(batchMsg{EventID: "e", Part: part, Message: msg, Users: names[part*1000 : min(hot, part*1000+1000)], Ingested: at})
				items = append(items, queue.Item{Subject: queue.FanoutPrefix + queue.PriceChange, MsgID: "e", Data: raw})
			}
			users += hot
			_ = items
		}
		b.ReportMetric(float64(users)/b.Elapsed().Seconds(), "notifications/s")
	})
}
