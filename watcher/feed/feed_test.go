package feed

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/fabmarket/fabmarket/watcher/service"
)

// fakeSource replays a fixed list of events after a checkpoint, with fabric-gateway's
// semantics: resume in cp.Block after the event of cp.TxID.
type fakeSource struct {
	events []Event
	calls  int
}

func (f *fakeSource) Events(ctx context.Context, cp *Checkpoint) (<-chan Event, error) {
	f.calls++
	out := make(chan Event)
	go func() {
		defer close(out)
		skipping := cp != nil && cp.TxID != ""
		for _, e := range f.events {
			if cp != nil {
				if e.BlockNumber < cp.Block {
					continue
				}
				if skipping && e.BlockNumber == cp.Block {
					if e.TransactionID == cp.TxID {
						skipping = false
					}
					continue
				}
			}
			select {
			case out <- e:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

func (f *fakeSource) Instruments(context.Context) (map[string]string, error) {
	return map[string]string{"BETA": "0.5"}, nil
}

func (f *fakeSource) Close() {}

// fakeSink records ticks and checkpoints; failOn makes the first ingest of a checkpoint's
// transaction fail as UNAVAILABLE.
type fakeSink struct {
	mu      sync.Mutex
	ticks   []service.Tick
	cps     map[string][]byte
	failOn  string
	failed  bool
	symbols map[string]bool
	done    chan struct{}
	want    int
}

func (s *fakeSink) Ingest(_ context.Context, _ string, ticks []service.Tick, cps map[string][]byte) (service.IngestResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range cps {
		var cp Checkpoint
		json.Unmarshal(v, &cp)
		if cp.TxID == s.failOn && !s.failed {
			s.failed = true
			return service.IngestResult{}, &service.Error{Code: service.CodeUnavailable, Message: "queue down"}
		}
	}
	s.ticks = append(s.ticks, ticks...)
	for k, v := range cps {
		s.cps[k] = v
	}
	if len(s.ticks) == s.want {
		close(s.done)
	}
	return service.IngestResult{Accepted: len(ticks)}, nil
}

func (s *fakeSink) SaveCheckpoint(_ context.Context, cps map[string][]byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range cps {
		s.cps[k] = v
	}
	return nil
}

func (s *fakeSink) Checkpoint(_ context.Context, name string) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.cps[name]
	return v, ok, nil
}

func (s *fakeSink) AddSymbols(syms ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range syms {
		s.symbols[x] = true
	}
}

func (s *fakeSink) Scale() int { return 6 }

func match(t *testing.T, block uint64, tx, sym string, prices ...int64) Event {
	m := MatchEvent{Symbol: sym}
	for i, p := range prices {
		m.Trades = append(m.Trades, Trade{TradeID: tx + string(rune('a'+i)), Symbol: sym, Price: p, Quantity: 1, Time: time.Unix(1_700_000_000+int64(block), 0)})
	}
	b, _ := json.Marshal(m)
	return Event{BlockNumber: block, TransactionID: tx, EventName: "Match", Payload: b}
}

// TestNoTradeMissedOrDoubled fails an ingest mid-stream: the feed reconnects from its
// checkpoint and every trade arrives exactly once, converted with its instrument's tick size.
func TestNoTradeMissedOrDoubled(t *testing.T) {
	ins, _ := json.Marshal(map[string]string{"symbol": "ACME", "tickSize": "0.05"})
	src := &fakeSource{events: []Event{
		{BlockNumber: 2, TransactionID: "t0", EventName: "InstrumentListed", Payload: ins},
		match(t, 3, "t1", "ACME", 2000, 2010),
		{BlockNumber: 4, TransactionID: "t2", EventName: "OrderAccepted", Payload: []byte(`{}`)},
		match(t, 5, "t3", "ACME", 2100),
		match(t, 5, "t4", "BETA", 7),
		{BlockNumber: 6, TransactionID: "t5", EventName: "Match", Payload: []byte(`{not json`)},
		match(t, 7, "t6", "GAMMA", 3),
	}}
	sink := &fakeSink{cps: map[string][]byte{}, failOn: "t3", symbols: map[string]bool{}, done: make(chan struct{}), want: 5}
	f, err := New(Config{Sink: sink, Source: src, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), RetryMin: time.Millisecond, TickSizes: map[string]string{"GAMMA": "2"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go f.Run(ctx)
	select {
	case <-sink.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("ticks %v", sink.ticks)
	}
	cancel()
	want := []struct {
		sym   string
		price int64
	}{{"ACME", 100_000000}, {"ACME", 100_500000}, {"ACME", 105_000000}, {"BETA", 3_500000}, {"GAMMA", 6_000000}}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if len(sink.ticks) != len(want) {
		t.Fatalf("ticks %+v", sink.ticks)
	}
	for i, w := range want {
		if sink.ticks[i].Symbol != w.sym || sink.ticks[i].Price != w.price {
			t.Fatalf("tick %d = %+v, want %s %d", i, sink.ticks[i], w.sym, w.price)
		}
	}
	if src.calls < 2 || !sink.symbols["ACME"] || !sink.symbols["BETA"] {
		t.Fatalf("calls %d symbols %v", src.calls, sink.symbols)
	}
	var cp Checkpoint
	json.Unmarshal(sink.cps[f.CheckpointName()], &cp)
	if cp != (Checkpoint{Block: 7, TxID: "t6"}) {
		t.Fatalf("checkpoint %+v", cp)
	}
}

func TestParseTickSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{{"0.01", 10000, true}, {"1", 1000000, true}, {"0.000001", 1, true}, {"0.0000001", 0, false}, {"0", 0, false}, {"-1", 0, false}, {"x", 0, false}}
	for _, tc := range tests {
		got, err := ParseTickSize(tc.in, 6)
		if (err == nil) != tc.ok || got != tc.want {
			t.Fatalf("%q: %d %v", tc.in, got, err)
		}
	}
}
