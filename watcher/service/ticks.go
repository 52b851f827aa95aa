package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/fabmarket/fabmarket/watcher/index"
	"github.com/fabmarket/fabmarket/watcher/notify"
	"github.com/fabmarket/fabmarket/watcher/price"
	"github.com/fabmarket/fabmarket/watcher/queue"
	"github.com/fabmarket/fabmarket/watcher/rules"
	"github.com/fabmarket/fabmarket/watcher/store"
	"github.com/fabmarket/fabmarket/watcher/window"
)

// PriceRequest is one element of the body of POST /v1/prices (and of a message on the NATS
// tick subject): a symbol, a positive decimal price, and an RFC 3339 time (the time of
// receipt when omitted).
type PriceRequest struct {
	Symbol string  `json:"symbol"`
	Price  Decimal `json:"price"`
	Time   string  `json:"time"`
}

// Tick is one validated price at the service's scale.
type Tick struct {
	Symbol string
	Price  int64
	Time   time.Time
}

// IngestResult tells what a batch of ticks did.
type IngestResult struct {
	Accepted int `json:"accepted"` // ticks that entered their window (including confirmed held ones)
	Held     int `json:"held"`     // ticks held as suspected outliers
	Dropped  int `json:"dropped"`  // earlier held ticks dropped as outliers
	Alerts   int `json:"alerts"`   // threshold crossings fired
	Messages int `json:"messages"` // fan-out messages queued
}

// ParsePrices checks the syntax of a batch: symbol shape, a positive decimal price exact at
// the service's scale, an RFC 3339 time. Errors name the element and field (INVALID_ARGUMENT).
func (s *Service) ParsePrices(reqs []PriceRequest) ([]Tick, error) {
	out := make([]Tick, 0, len(reqs))
	now := s.cfg.Now().UTC()
	for i, r := range reqs {
		if !ValidSymbol(r.Symbol) {
			return nil, errorf(CodeInvalidArgument, "[%d].symbol %q: want 1 to 32 letters, digits, '.', '_' or '-'", i, r.Symbol)
		}
		p, err := price.Parse(string(r.Price), s.cfg.Scale)
		if err != nil {
			return nil, errorf(CodeInvalidArgument, "[%d].price %q: want a plain decimal with at most %d decimals", i, string(r.Price), s.cfg.Scale)
		}
		if p <= 0 {
			return nil, errorf(CodeInvalidArgument, "[%d].price %q: must be positive", i, string(r.Price))
		}
		t := now
		if r.Time != "" {
			t, err = time.Parse(time.RFC3339Nano, r.Time)
			if err != nil {
				return nil, errorf(CodeInvalidArgument, "[%d].time %q: want RFC 3339, e.g. 2025-01-02T15:04:05Z", i, r.Time)
			}
		}
		out = append(out, Tick{Symbol: r.Symbol, Price: p, Time: t.UTC()})
	}
	return out, nil
}

// batchMsg is one fan-out message on the queue: an event and a batch of users.
type batchMsg struct {
	EventID  string         `json:"eventId"`
	Part     int            `json:"part"`
	Message  notify.Message `json:"message"`
	Users    []string       `json:"users"`
	Ingested time.Time      `json:"ingested"`
}

// FormatPrice writes a price at scale with trailing zeros trimmed down to two decimals
// ("106.00", "0.0125").
func FormatPrice(v int64, scale int) string {
	s := price.Format(v, scale)
	if scale <= 2 {
		return s
	}
	dot := strings.IndexByte(s, '.')
	end := len(s)
	for end > dot+3 && s[end-1] == '0' {
		end--
	}
	return s[:end]
}

// Ingest applies a batch of ticks from source ("rest", "nats", "ledger"), queues the alerts
// they fire and saves the new symbol states together with checkpoints (may be nil). It
// validates the whole batch first — UNKNOWN_SYMBOL, INVALID_ARGUMENT (time too far in the
// future), OUT_OF_ORDER (older than the symbol's newest tick) — and then nothing changes on
// error. UNAVAILABLE means the queue refused the alerts; the symbols were restored.
func (s *Service) Ingest(ctx context.Context, source string, ticks []Tick, checkpoints map[string][]byte) (IngestResult, error) {
	var res IngestResult
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return res, errorf(CodeUnavailable, "shutting down")
	}
	now := s.cfg.Now()
	first := map[string]time.Time{}
	for i, t := range ticks {
		if !s.known[t.Symbol] {
			s.m.Ticks.WithLabelValues(source, "rejected").Add(float64(len(ticks)))
			return res, errorf(CodeUnknownSymbol, "[%d].symbol %q: not a known symbol (subscribe to it or list it with --symbols)", i, t.Symbol)
		}
		if t.Price <= 0 {
			return res, errorf(CodeInvalidArgument, "[%d].price: must be positive", i)
		}
		if t.Time.After(now.Add(s.cfg.MaxFutureSkew)) {
			s.m.Ticks.WithLabelValues(source, "rejected").Add(float64(len(ticks)))
			return res, errorf(CodeUnprocessable, "[%d].time %s: more than %v in the future", i, t.Time.Format(time.RFC3339), s.cfg.MaxFutureSkew)
		}
		if f, ok := first[t.Symbol]; !ok || t.Time.Before(f) {
			first[t.Symbol] = t.Time
		}
	}
	for sym, f := range first {
		st := s.symbols[sym]
		if st == nil {
			continue
		}
		if l, ok := st.series.Last(); ok && f.Before(l.Time) {
			s.m.Ticks.WithLabelValues(source, "rejected").Add(float64(len(ticks)))
			return res, errorf(CodeOutOfOrder, "%s: tick at %s is older than the newest tick %s", sym, f.Format(time.RFC3339Nano), l.Time.Format(time.RFC3339Nano))
		}
		if h, ok := st.series.Held(); ok && f.Before(h.Time) {
			return res, errorf(CodeOutOfOrder, "%s: tick at %s is older than the newest tick %s", sym, f.Format(time.RFC3339Nano), h.Time.Format(time.RFC3339Nano))
		}
	}
	order := make([]int, len(ticks))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return ticks[a].Time.Compare(ticks[b].Time) })

	// Snapshots to restore if the alerts cannot be queued.
	snaps := map[string]*store.SymbolState{}
	for sym := range first {
		if st := s.symbols[sym]; st != nil {
			ss, err := marshalState(st)
			if err != nil {
				return res, err
			}
			snaps[sym] = &ss
		} else {
			snaps[sym] = nil
		}
	}
	restore := func() {
		for sym, ss := range snaps {
			if ss == nil {
				delete(s.symbols, sym)
				continue
			}
			if err := s.restoreLocked(sym, *ss); err != nil {
				s.cfg.Log.Error("watcher: restore symbol state", "symbol", sym, "err", err)
			}
		}
	}

	var items []queue.Item
	var evs []rules.Event
	for _, i := range order {
		t := ticks[i]
		st, err := s.stateLocked(t.Symbol)
		if err != nil {
			restore()
			return IngestResult{}, err
		}
		r, err := st.series.Add(window.Tick{Price: t.Price, Time: t.Time})
		if err != nil {
			restore()
			if errors.Is(err, window.ErrOutOfOrder) {
				return IngestResult{}, errorf(CodeOutOfOrder, "%s: %v", t.Symbol, err)
			}
			return IngestResult{}, err
		}
		if r.Held {
			res.Held++
		}
		if r.DroppedOK {
			res.Dropped++
			s.cfg.Log.Warn("watcher: outlier dropped", "symbol", t.Symbol, "price", FormatPrice(r.Dropped.Price, s.cfg.Scale), "time", r.Dropped.Time, "source", source)
		}
		for _, a := range r.Accepted() {
			res.Accepted++
			if st.first.Price == 0 {
				st.first = a
			}
			in := rules.Input{Price: a.Price, Time: a.Time}
			for w := rules.Window(0); w < rules.NumWindows; w++ {
				if ref, ok := st.series.Reference(a.Time, w.Lookback()); ok {
					in.Reference[w] = ref
				} else if st.first.Time.Before(a.Time) {
					// The series is younger than the window: the move within it is measured
					// from the first price the service saw.
					in.Reference[w] = st.first.Price
				}
			}
			evs = s.engine.Evaluate(st.rules, in, evs[:0])
			res.Alerts += len(evs)
			if source == "ledger" && a.Time.Before(now.Add(-s.cfg.LedgerAlertAge)) {
				continue // history replayed on a first start: state only
			}
			items = append(items, s.fanoutLocked(t.Symbol, evs, now)...)
		}
	}
	if len(items) > 0 {
		if err := s.cfg.Queue.PublishBatch(ctx, items); err != nil {
			restore()
			return IngestResult{}, errorf(CodeUnavailable, "queue: %v", err)
		}
	}
	res.Messages = len(items)
	s.m.FanoutMsgs.Add(float64(len(items)))
	s.m.Ticks.WithLabelValues(source, "accepted").Add(float64(res.Accepted))
	s.m.Ticks.WithLabelValues(source, "held").Add(float64(res.Held))
	s.m.Ticks.WithLabelValues(source, "dropped").Add(float64(res.Dropped))
	p := store.Progress{Symbols: map[string]store.SymbolState{}, Checkpoints: checkpoints}
	for sym := range first {
		ss, err := marshalState(s.symbols[sym])
		if err != nil {
			return res, err
		}
		p.Symbols[sym] = ss
	}
	if err := s.cfg.Store.SaveProgress(context.WithoutCancel(ctx), p); err != nil {
		// The alerts are queued; a replay of these ticks is absorbed by the ids.
		return res, errorf(CodeUnavailable, "store: %v", err)
	}
	return res, nil
}

// SaveCheckpoint stores feed checkpoints without ticks (a block without trades).
func (s *Service) SaveCheckpoint(ctx context.Context, checkpoints map[string][]byte) error {
	return s.cfg.Store.SaveProgress(ctx, store.Progress{Checkpoints: checkpoints})
}

// Checkpoint returns a stored feed checkpoint; ok is false when there is none.
func (s *Service) Checkpoint(ctx context.Context, name string) ([]byte, bool, error) {
	v, err := s.cfg.Store.GetCheckpoint(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, nil
	}
	return v, err == nil, err
}

func marshalState(st *symState) (store.SymbolState, error) {
	w, err := st.series.MarshalBinary()
	if err != nil {
		return store.SymbolState{}, err
	}
	r, err := st.rules.MarshalBinary()
	if err != nil {
		return store.SymbolState{}, err
	}
	md, err := json.Marshal(meta{FirstPrice: st.first.Price, FirstTime: st.first.Time})
	if err != nil {
		return store.SymbolState{}, err
	}
	return store.SymbolState{Window: w, Rules: r, Meta: md}, nil
}

func (s *Service) restoreLocked(sym string, ss store.SymbolState) error {
	st := s.symbols[sym]
	if err := st.series.UnmarshalBinary(ss.Window); err != nil {
		return err
	}
	rs, err := s.engine.DecodeState(ss.Rules)
	if err != nil {
		return err
	}
	st.rules = rs
	var md meta
	if err := json.Unmarshal(ss.Meta, &md); err != nil {
		return err
	}
	st.first = window.Tick{Price: md.FirstPrice, Time: md.FirstTime}
	s.syncThresholdsLocked(sym)
	return nil
}

// fanoutLocked turns the events of one evaluation into queue messages. A user gets at most
// one notification per direction for one tick: when several thresholds or both windows fire
// together, the user's highest threshold wins, the shorter window on a tie
// (index.Exclusive over the events in that order).
func (s *Service) fanoutLocked(sym string, evs []rules.Event, ingested time.Time) []queue.Item {
	if len(evs) == 0 {
		return nil
	}
	var items []queue.Item
	byDir := map[rules.Direction][]rules.Event{}
	for _, e := range evs {
		s.m.Alerts.WithLabelValues(e.Window.String(), e.Direction.String()).Inc()
		byDir[e.Direction] = append(byDir[e.Direction], e)
	}
	for _, d := range []rules.Direction{rules.Up, rules.Down} {
		list := byDir[d]
		if len(list) == 0 {
			continue
		}
		slices.SortStableFunc(list, func(a, b rules.Event) int {
			if a.ThresholdBp != b.ThresholdBp {
				return int(b.ThresholdBp) - int(a.ThresholdBp)
			}
			return int(a.Window) - int(b.Window)
		})
		ts := make([]index.Trigger, len(list))
		for i, e := range list {
			ts[i] = index.Trigger{Window: e.Window, ThresholdBp: e.ThresholdBp, Direction: e.Direction}
		}
		audiences := s.ix.Exclusive(sym, ts)
		for i, e := range list {
			if audiences[i].IsEmpty() {
				continue
			}
			eventID := hashID("pc_", sym, e.Window.String(), fmt.Sprint(e.ThresholdBp), e.Direction.String(), fmt.Sprint(e.Time.UnixNano()), fmt.Sprint(e.Price))
			msg := notify.Message{Type: queue.PriceChange, Symbol: sym, Window: e.Window.String(), Threshold: e.Threshold(),
				ChangePercent: e.ChangePercent(), Price: FormatPrice(e.Price, s.cfg.Scale), ReferencePrice: FormatPrice(e.ReferencePrice, s.cfg.Scale), Time: e.Time.UTC()}
			buf := make([]uint32, s.cfg.BatchUsers)
			part := 0
			index.Batches(audiences[i], buf, func(ids []uint32) error {
				names := make([]string, 0, len(ids))
				for _, id := range ids {
					if n, ok := s.users.Name(id); ok {
						names = append(names, n)
					}
				}
				b, _ := json.Marshal(batchMsg{EventID: eventID, Part: part, Message: msg, Users: names, Ingested: ingested})
				items = append(items, queue.Item{Subject: queue.FanoutPrefix + queue.PriceChange, MsgID: fmt.Sprintf("%s/%d", eventID, part), Data: b})
				part++
				return nil
			})
		}
	}
	return items
}

// handleTickMsg ingests a message of the NATS tick subject. Malformed or rejected batches are
// logged and acknowledged (they will not get better); an unavailable queue retries.
func (s *Service) handleTickMsg(ctx context.Context, m queue.Msg) error {
	var reqs []PriceRequest
	if err := json.Unmarshal(m.Data, &reqs); err != nil {
		var one PriceRequest
		if err2 := json.Unmarshal(m.Data, &one); err2 != nil {
			s.cfg.Log.Warn("watcher: malformed tick message", "subject", m.Subject, "err", err)
			s.m.Ticks.WithLabelValues("nats", "rejected").Inc()
			return nil
		}
		reqs = []PriceRequest{one}
	}
	ticks, err := s.ParsePrices(reqs)
	if err != nil {
		s.cfg.Log.Warn("watcher: rejected tick message", "subject", m.Subject, "err", err)
		s.m.Ticks.WithLabelValues("nats", "rejected").Add(float64(len(reqs)))
		return nil
	}
	_, err = s.Ingest(ctx, "nats", ticks, nil)
	if CodeOf(err) == CodeUnavailable || (err != nil && CodeOf(err) == "") {
		return err
	}
	if err != nil {
		s.cfg.Log.Warn("watcher: rejected tick message", "subject", m.Subject, "err", err)
	}
	return nil
}
