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
