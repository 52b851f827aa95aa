// Package feed turns the exchange chaincode's trades into watcher ticks: it reads the
// chaincode events of channel market through fabric-gateway (Network.ChaincodeEvents) from a
// persisted checkpoint, converts the integer tick prices of each "Match" event's trades into
// prices with the instrument's tick size, and hands them to the service.
//
// # No trade missed or counted twice
//
// The checkpoint (block number and the last transaction id taken in it, the semantics of
// fabric-gateway's client.Checkpoint) is saved in the watcher's store in the same transaction
// as the symbol states those trades produced, after their alerts were queued. A restart
// resumes with client.WithCheckpoint: an event whose state was saved is never read again, and
// an event whose state was not saved is read again and applied to the state as it was before
// it — with alert ids derived from the trade, so alerts it already queued are not doubled.
// Events other than Match and InstrumentListed only move the checkpoint (saved at most once a
// second: replaying them is harmless).
//
// Tick sizes come from the chaincode (ListInstruments at start, InstrumentListed events after),
// then from Config.TickSizes, then Config.DefaultTickSize.
package feed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/fabmarket/fabmarket/watcher/price"
	"github.com/fabmarket/fabmarket/watcher/service"
)

// Event is one chaincode event.
type Event struct {
	BlockNumber   uint64
	TransactionID string
	EventName     string
	Payload       []byte
}

// Checkpoint is where the feed resumes: the block in which the next event is expected and
// the last transaction taken in that block. It implements fabric-gateway's client.Checkpoint.
type Checkpoint struct {
	Block uint64 `json:"block"`
	TxID  string `json:"txId"`
}

// BlockNumber implements client.Checkpoint.
func (c Checkpoint) BlockNumber() uint64 { return c.Block }

// TransactionID implements client.Checkpoint.
func (c Checkpoint) TransactionID() string { return c.TxID }

// Source is where events come from: fabric-gateway in production, a fake in tests.
type Source interface {
	// Events streams the chaincode's events after cp (from the first block when cp is nil)
	// until ctx ends or the stream fails (the channel is closed).
	Events(ctx context.Context, cp *Checkpoint) (<-chan Event, error)
	// Instruments returns the listed instruments' tick sizes by symbol.
	Instruments(ctx context.Context) (map[string]string, error)
	// Close releases the source.
	Close()
}

// Sink is the part of the service the feed feeds.
type Sink interface {
	Ingest(ctx context.Context, source string, ticks []service.Tick, checkpoints map[string][]byte) (service.IngestResult, error)
	SaveCheckpoint(ctx context.Context, checkpoints map[string][]byte) error
	Checkpoint(ctx context.Context, name string) ([]byte, bool, error)
	AddSymbols(syms ...string)
	Scale() int
}

// Config sets up a Feed.
type Config struct {
	Sink Sink
	// Source; nil means fabric-gateway with the fields below.
	Source              Source
	NetworkConf, RunDir string
	Org, User           string
	Channel, Chaincode  string
	DefaultTickSize     string
	TickSizes           map[string]string
	Log                 *slog.Logger
	RetryMin, RetryMax  time.Duration // reconnect backoff; default 1s..30s
	CheckpointEvery     time.Duration // for events without trades; default 1s
}

// Feed is a running ledger feed.
type Feed struct {
	cfg   Config
	name  string
	mu    sync.Mutex
	ticks map[string]int64 // units per tick at the sink's scale, by symbol
	def   int64
	last  time.Time
}

// ParseTickSize converts a tick size ("0.01") into units at scale; it must be positive and
// exact at the scale.
func ParseTickSize(s string, scale int) (int64, error) {
	v, err := price.Parse(s, scale)
	if err != nil {
		return 0, fmt.Errorf("tick size %q: %w", s, err)
	}
	if v <= 0 {
		return 0, fmt.Errorf("tick size %q: must be positive", s)
	}
	return v, nil
}

// New checks the configuration; errors name the field.
func New(cfg Config) (*Feed, error) {
	if cfg.Sink == nil {
		return nil, errors.New("feed: config Sink: required")
	}
	if cfg.Source == nil && cfg.NetworkConf == "" {
		return nil, errors.New("feed: config NetworkConf: required without a Source")
	}
	if cfg.Channel == "" {
		cfg.Channel = "market"
	}
	if cfg.Chaincode == "" {
		cfg.Chaincode = "exchange"
	}
	if cfg.DefaultTickSize == "" {
		cfg.DefaultTickSize = "0.01"
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.RetryMin == 0 {
		cfg.RetryMin = time.Second
	}
	if cfg.RetryMax == 0 {
		cfg.RetryMax = 30 * time.Second
	}
	if cfg.CheckpointEvery == 0 {
		cfg.CheckpointEvery = time.Second
	}
	f := &Feed{cfg: cfg, name: "feed:" + cfg.Channel + "/" + cfg.Chaincode, ticks: map[string]int64{}}
	var err error
	if f.def, err = ParseTickSize(cfg.DefaultTickSize, cfg.Sink.Scale()); err != nil {
		return nil, fmt.Errorf("feed: config DefaultTickSize: %w", err)
	}
	for sym, ts := range cfg.TickSizes {
		v, err := ParseTickSize(ts, cfg.Sink.Scale())
		if err != nil {
			return nil, fmt.Errorf("feed: config TickSizes[%s]: %w", sym, err)
		}
		f.ticks[sym] = v
	}
	return f, nil
}

// CheckpointName is the store key of the feed's checkpoint.
func (f *Feed) CheckpointName() string { return f.name }

// Run reads events until ctx ends, reconnecting with backoff after failures.
func (f *Feed) Run(ctx context.Context) {
	wait := f.cfg.RetryMin
	for ctx.Err() == nil {
		start := time.Now()
		err := f.runOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) > time.Minute {
			wait = f.cfg.RetryMin
		}
		f.cfg.Log.Warn("watcher: ledger feed interrupted; reconnecting", "in", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait = min(2*wait, f.cfg.RetryMax)
	}
}

func (f *Feed) runOnce(ctx context.Context) error {
	src := f.cfg.Source
	if src == nil {
		s, err := dialFabric(f.cfg)
		if err != nil {
			return err
		}
		defer s.Close()
		src = s
	}
	if ins, err := src.Instruments(ctx); err != nil {
		f.cfg.Log.Warn("watcher: ledger feed: list instruments", "err", err)
	} else {
		for sym, ts := range ins {
			f.learn(sym, ts)
		}
	}
	cp, err := f.loadCheckpoint(ctx)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events, err := src.Events(ctx, cp)
	if err != nil {
		return fmt.Errorf("chaincode events: %w", err)
	}
	f.cfg.Log.Info("watcher: ledger feed reading", "channel", f.cfg.Channel, "chaincode", f.cfg.Chaincode, "from", cp)
	for ev := range events {
		if err := f.Handle(ctx, ev); err != nil {
			return err
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	return errors.New("event stream ended")
}

func (f *Feed) loadCheckpoint(ctx context.Context) (*Checkpoint, error) {
	raw, ok, err := f.cfg.Sink.Checkpoint(ctx, f.name)
	if err != nil || !ok {
		return nil, err
	}
	var cp Checkpoint
	if err := json.Unmarshal(raw, &cp); err != nil {
		return nil, fmt.Errorf("feed: checkpoint %s: %w", f.name, err)
	}
	return &cp, nil
}

// learn records an instrument's tick size and makes its symbol known.
func (f *Feed) learn(sym, tickSize string) {
	if !service.ValidSymbol(sym) {
		return
	}
	f.cfg.Sink.AddSymbols(sym)
	v, err := ParseTickSize(tickSize, f.cfg.Sink.Scale())
	if err != nil {
		f.cfg.Log.Warn("watcher: ledger feed: instrument tick size", "symbol", sym, "err", err)
		return
	}
	f.mu.Lock()
	f.ticks[sym] = v
	f.mu.Unlock()
}

func (f *Feed) unitsPerTick(sym string) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	if v, ok := f.ticks[sym]; ok {
		return v
	}
	return f.def
}

// Trade is the part of the exchange chaincode's trade that the feed reads.
type Trade struct {
	TradeID  string    `json:"tradeId"`
	Symbol   string    `json:"symbol"`
	Price    int64     `json:"price"` // ticks
	Quantity int64     `json:"quantity"`
	Time     time.Time `json:"time"`
}

// MatchEvent is the payload of the chaincode's "Match" event (the fields the feed reads).
type MatchEvent struct {
	Symbol string  `json:"symbol"`
	Trades []Trade `json:"trades"`
}

type instrumentEvent struct {
	Symbol   string `json:"symbol"`
	TickSize string `json:"tickSize"`
}

// Handle applies one event and saves the checkpoint past it. It returns an error only when
// the event must be read again (the service is unavailable); a malformed or rejected event is
// logged and skipped.
func (f *Feed) Handle(ctx context.Context, ev Event) error {
	cp, _ := json.Marshal(Checkpoint{Block: ev.BlockNumber, TxID: ev.TransactionID})
	cps := map[string][]byte{f.name: cp}
	switch ev.EventName {
	case "InstrumentListed":
		var ins instrumentEvent
		if err := json.Unmarshal(ev.Payload, &ins); err != nil {
			f.cfg.Log.Warn("watcher: ledger feed: malformed InstrumentListed", "tx", ev.TransactionID, "err", err)
		} else {
			f.learn(ins.Symbol, ins.TickSize)
		}
		return f.save(ctx, cps, true)
	case "Match":
		var m MatchEvent
		if err := json.Unmarshal(ev.Payload, &m); err != nil {
			f.cfg.Log.Warn("watcher: ledger feed: malformed Match", "tx", ev.TransactionID, "err", err)
			return f.save(ctx, cps, true)
		}
		ticks := make([]service.Tick, 0, len(m.Trades))
		for _, t := range m.Trades {
			sym := t.Symbol
			if sym == "" {
				sym = m.Symbol
			}
			u := f.unitsPerTick(sym)
			if t.Price <= 0 || t.Price > math.MaxInt64/u || t.Time.IsZero() || !service.ValidSymbol(sym) {
				f.cfg.Log.Warn("watcher: ledger feed: trade skipped", "tx", ev.TransactionID, "trade", t.TradeID, "price", t.Price, "time", t.Time)
				continue
			}
			ticks = append(ticks, service.Tick{Symbol: sym, Price: t.Price * u, Time: t.Time.UTC()})
		}
		if len(ticks) == 0 {
			return f.save(ctx, cps, true)
		}
		f.cfg.Sink.AddSymbols(m.Symbol)
		_, err := f.cfg.Sink.Ingest(ctx, "ledger", ticks, cps)
		switch code := service.CodeOf(err); {
		case err == nil:
			f.last = time.Now()
			return nil
		case code == service.CodeUnavailable || code == "":
			return fmt.Errorf("ingest trades of %s: %w", ev.TransactionID, err)
		default:
			// Rejected for good (for example older than ticks posted by REST): skip it.
			f.cfg.Log.Warn("watcher: ledger feed: trades rejected", "tx", ev.TransactionID, "err", err)
			return f.save(ctx, cps, true)
		}
	default:
		return f.save(ctx, cps, false)
	}
}

// save stores the checkpoint now when force is set, else at most once per CheckpointEvery.
func (f *Feed) save(ctx context.Context, cps map[string][]byte, force bool) error {
	if !force && time.Since(f.last) < f.cfg.CheckpointEvery {
		return nil
	}
	if err := f.cfg.Sink.SaveCheckpoint(ctx, cps); err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	f.last = time.Now()
	return nil
}
