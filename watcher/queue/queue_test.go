package queue

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

func open(t *testing.T, dir string) *Queue {
	t.Helper()
	// A short AckWait: a message whose handler failed right before a crash may have had its Nak
	// lost with the connection; it is then redelivered once AckWait passes, which the tests
	// must be able to wait for on a loaded machine.
	q, err := Open(context.Background(), Config{StoreDir: dir, AckWait: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"embedded needs a dir", Config{}, false},
		{"embedded", Config{StoreDir: "/tmp/x"}, true},
		{"external", Config{URL: "nats://127.0.0.1:4222"}, true},
		{"bad listen", Config{StoreDir: "/tmp/x", Listen: "nope"}, false},
		{"replicas", Config{URL: "nats://x", Replicas: 7}, false},
		{"ack wait", Config{URL: "nats://x", AckWait: time.Millisecond}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.cfg
			if err := c.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate: %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

// TestDurableRedeliveryAndDedup publishes, fails a handler once, restarts the embedded server
// on the same directory before acknowledging, and checks that every message is handled to
// completion exactly once while duplicate publishes are dropped.
func TestDurableRedeliveryAndDedup(t *testing.T) {
	dir := t.TempDir()
	q := open(t, dir)
	ctx := context.Background()
	var items []Item
	for i := range 5 {
		items = append(items, Item{Subject: FanoutPrefix + PriceChange, MsgID: fmt.Sprintf("e1/%d", i), Data: []byte(fmt.Sprint(i))})
	}
	if err := q.PublishBatch(ctx, items); err != nil {
		t.Fatal(err)
	}
	// The same ids again: dropped by the server.
	if err := q.PublishBatch(ctx, items); err != nil {
		t.Fatal(err)
	}
	if err := q.Publish(ctx, FanoutPrefix+PriceChange, "e1/0", []byte("dup")); err != nil {
		t.Fatal(err)
	}
	// Consume two messages, then "crash" before the third is acknowledged.
	cctx, cancel := context.WithCancel(ctx)
	var seen []string
	err := q.Consume(cctx, ConsumeConfig{Stream: FanoutStream, Durable: "n", Filter: FanoutPrefix + ">", Batch: 1}, func(_ context.Context, m Msg) error {
		seen = append(seen, string(m.Data))
		if len(seen) == 3 {
			cancel()
			return fmt.Errorf("crash")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	q.Close()
	q.Close()

	q = open(t, dir)
	defer q.Close()
	cctx, cancel = context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var mu sync.Mutex
	done := map[string]int{"0": 1, "1": 1}
	q.Consume(cctx, ConsumeConfig{Stream: FanoutStream, Durable: "n", Filter: FanoutPrefix + ">", Batch: 8, RetryDelay: 10 * time.Millisecond}, func(_ context.Context, m Msg) error {
		mu.Lock()
		defer mu.Unlock()
		done[string(m.Data)]++
		if len(done) == 5 {
			cancel()
		}
		return nil
	})
	for i := range 5 {
		if done[fmt.Sprint(i)] != 1 {
			t.Fatalf("message %d completed %d times (all: %v)", i, done[fmt.Sprint(i)], done)
		}
	}
	if n, err := q.Pending(ctx, FanoutStream, "n"); err != nil || n != 0 {
		t.Fatalf("pending %d %v", n, err)
	}
}

// TestDurablesPerInstanceAndShared: two consumers sharing a durable split the messages; two
// with durables of their own each get every message; a new durable with a StartTime skips
// what was stored before it, and an existing one keeps its position when StartTime changes;
// Follow gets every message from its start time on.
func TestDurablesPerInstanceAndShared(t *testing.T) {
	q := open(t, t.TempDir())
	defer q.Close()
	ctx := context.Background()
	pub := func(from, to int) {
		for i := from; i < to; i++ {
			if err := q.Publish(ctx, TickSubject, fmt.Sprintf("m%d", i), []byte(fmt.Sprint(i))); err != nil {
				t.Fatal(err)
			}
		}
	}
	pub(0, 5)
	time.Sleep(1100 * time.Millisecond) // stream times have second precision in the test's eyes
	cut := time.Now()
	pub(5, 10)
	// consume runs the durables (names) at once until want messages arrived in all, and
	// returns how many each got.
	consume := func(want int, start time.Time, names ...string) map[string][]string {
		var mu sync.Mutex
		got := map[string][]string{}
		cctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for _, n := range names {
			wg.Add(1)
			go func() {
				defer wg.Done()
				q.Consume(cctx, ConsumeConfig{Stream: TickStream, Durable: n, Filter: TickSubject, Batch: 2, StartTime: start}, func(_ context.Context, m Msg) error {
					mu.Lock()
					got[n] = append(got[n], string(m.Data))
					mu.Unlock()
					return nil
				})
			}()
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			mu.Lock()
			total := 0
			for _, v := range got {
				total += len(v)
			}
			mu.Unlock()
			if total >= want || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(200 * time.Millisecond)
		cancel()
		wg.Wait()
		return got
	}
	tests := []struct {
		name  string
		start time.Time
		names []string
		want  map[string]int
	}{
		{"own durables: each gets all", time.Time{}, []string{"a", "b"}, map[string]int{"a": 10, "b": 10}},
		{"new durable from a start time", cut, []string{"late"}, map[string]int{"late": 5}},
		{"existing durable keeps its position", time.Now().Add(-time.Hour), []string{"late"}, map[string]int{"late": 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			total := 0
			for _, n := range tc.want {
				total += n
			}
			got := consume(total, tc.start, tc.names...)
			for n, w := range tc.want {
				if len(got[n]) != w {
					t.Fatalf("%s got %v, want %d messages", n, got[n], w)
				}
			}
		})
	}
	t.Run("shared durable splits", func(t *testing.T) {
		pub(10, 40)
		var mu sync.Mutex
		got := map[string]int{}
		cctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for _, inst := range []string{"x", "y"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				q.Consume(cctx, ConsumeConfig{Stream: TickStream, Durable: "shared", Filter: TickSubject, Batch: 1}, func(_ context.Context, m Msg) error {
					time.Sleep(5 * time.Millisecond)
					mu.Lock()
					got[string(m.Data)]++
					got["by "+inst]++
					mu.Unlock()
					return nil
				})
			}()
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			mu.Lock()
			n := got["by x"] + got["by y"]
			mu.Unlock()
			if n >= 40 || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(200 * time.Millisecond)
		cancel()
		wg.Wait()
		if got["by x"]+got["by y"] != 40 || got["by x"] == 0 || got["by y"] == 0 {
			t.Fatalf("split %d/%d, want 40 in all, both taking part", got["by x"], got["by y"])
		}
		for i := range 40 {
			if got[fmt.Sprint(i)] != 1 {
				t.Fatalf("message %d handled %d times", i, got[fmt.Sprint(i)])
			}
		}
	})
	t.Run("follow from a time", func(t *testing.T) {
		var mu sync.Mutex
		var got []string
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			q.Follow(cctx, TickStream, cut, func(m Msg) { mu.Lock(); got = append(got, string(m.Data)); mu.Unlock() })
			close(done)
		}()
		deadline := time.Now().Add(10 * time.Second)
		for {
			mu.Lock()
			n := len(got)
			mu.Unlock()
			if n >= 35 || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
		<-done
		mu.Lock()
		defer mu.Unlock()
		if len(got) != 35 || got[0] != "5" {
			t.Fatalf("followed %d messages from %v, want 35 from 5", len(got), got[:min(3, len(got))])
		}
	})
}
