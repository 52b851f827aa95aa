package contract

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/fabmarket/fabmarket/chaincode/exchange/book"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// bookState is the record bk~SYM: the counters of the symbol's book.
type bookState struct {
	Seq       uint64 `json:"seq"`
	TradeSeq  uint64 `json:"tradeSeq"`
	LastPrice int64  `json:"lastPrice"`
	// Version is the content hash of the symbol's lv~ range ([liveBook.hash]), written by
	// every Match that changes it; empty before the first such Match.
	Version string `json:"version,omitempty"`
}

// Trade is one fill, at the maker's price, as stored (tr~SYM~SEQ) and published. Cash is
// price × quantity × the instrument's cash per lot-tick, in minor units of its currency.
type Trade struct {
	TradeID     string    `json:"tradeId"`
	Symbol      string    `json:"symbol"`
	Price       int64     `json:"price"`
	Quantity    int64     `json:"quantity"`
	Cash        int64     `json:"cash"`
	Currency    string    `json:"currency"`
	BuyOrderID  string    `json:"buyOrderId"`
	SellOrderID string    `json:"sellOrderId"`
	BuyAccount  string    `json:"buyAccount"`
	SellAccount string    `json:"sellAccount"`
	TakerSide   string    `json:"takerSide"`
	Time        time.Time `json:"time"`
	TxID        string    `json:"txId"`
}

// tradeID names trade seq of symbol; ListTrades parses it back.
func tradeID(symbol string, seq uint64) string { return fmt.Sprintf("%s-%d", symbol, seq) }

// OrderUpdate is the state of an order after a Match changed it.
type OrderUpdate struct {
	OrderID           string `json:"orderId"`
	Account           string `json:"account"`
	Symbol            string `json:"symbol"`
	Side              string `json:"side"`
	Status            string `json:"status"`
	Reason            string `json:"reason,omitempty"`
	Price             int64  `json:"price"`
	Quantity          int64  `json:"quantity"`
	FilledQuantity    int64  `json:"filledQuantity"`
	RemainingQuantity int64  `json:"remainingQuantity"`
}

// Level is an aggregated price level: Quantity lots in Orders orders.
type Level struct {
	Price    int64 `json:"price"`
	Quantity int64 `json:"quantity"`
	Orders   int   `json:"orders"`
}

// BookView is the depth of a book, best levels first.
type BookView struct {
	Symbol    string  `json:"symbol"`
	Bids      []Level `json:"bids"`
	Asks      []Level `json:"asks"`
	LastPrice int64   `json:"lastPrice"`
}

// MatchResult is the result of Match and the payload of its "Match" event.
type MatchResult struct {
	Symbol       string        `json:"symbol"`
	Trades       []Trade       `json:"trades"`
	OrderUpdates []OrderUpdate `json:"orderUpdates"`
	Book         BookView      `json:"book"`
	// Processed counts the intake orders and cancel/replace requests taken.
	Processed int `json:"processed"`
	// Deferred counts requests for orders that no Match has taken yet (they wait).
	Deferred int `json:"deferred"`
	// More reports work left (a budget was reached): call Match again.
	More bool `json:"more"`
}

// matcher is the state of one Match transaction.
type matcher struct {
	t       *txn
	ins     *Instrument
	cpl     int64
	e       *book.Book
	recs    map[string]*Order
	before  map[string]*liveOrder // order id -> its lv~ entry before this Match
	version string                // bk~ Version before this Match
	touched map[string]bool
	res     MatchResult
	fills   int
	after   liveBook // the lv~ range after this Match (set by writeBack)
	hash    string   // its hash
}

func (m *matcher) fillsLeft() int { return m.t.cfg.MaxMatchFills - m.fills }

func (m *matcher) budget() book.Budget { return book.Budget{MaxFills: m.fillsLeft()} }

// liveKey is the lv~ key of a live order: bids by descending price, asks by ascending price,
// each then by sequence.
func liveKey(o *Order) string {
	switch o.Location {
	case book.InBook.String():
		if o.Side == "BUY" {
			return key(pLive, o.Symbol, "B", pad(maxPriceKey-uint64(o.Price)), pad(o.Seq), o.OrderID)
		}
		return key(pLive, o.Symbol, "A", padI(o.Price), pad(o.Seq), o.OrderID)
	case book.InStopBook.String():
		return key(pLive, o.Symbol, "S", padI(o.StopPrice), pad(o.Seq), o.OrderID)
	}
	return key(pLive, o.Symbol, "Q", pad(0), pad(o.Seq), o.OrderID)
}

func parseLocation(s string) book.Location {
	switch s {
	case book.InBook.String():
		return book.InBook
	case book.InStopBook.String():
		return book.InStopBook
	case book.InQueue.String():
		return book.InQueue
	}
	return 0
}

// input is an intake order or a request, in (timestamp, tx id) order.
type input struct {
	key   string
	order *Order
	req   *pendingRequest
}

// Match runs the matching of one symbol (channel market; any org: every org's gateway runs it
// periodically, and a duplicate simply fails validation). It restores the book from its live
// orders, expires GTT orders, finishes paused work, then takes the intake orders and
// cancel/replace requests of the closed epochs (at least EpochLag epochs old) in (transaction
// timestamp, transaction id) order, within MaxMatchInputs inputs and MaxMatchFills trades. Every
// fill settles in the same transaction at the maker's price: cash and shares move as balance
// deltas, unused reservations are released (price improvement, kills, cancels, expiry).
// It writes only keys no Submit writes (orders it owns, deltas, trades, the book counters).
// Returns a [MatchResult] (More: call again); event "Match" with the same payload when
// anything happened.
func (e *Exchange) Match(ctx contractapi.TransactionContextInterface, symbol string) (string, error) {
	t, err := e.begin(ctx, onMarket)
	if err != nil {
		return "", err
	}
	ins, err := t.instrument("symbol", symbol)
	if err != nil {
		return "", err
	}
	m, st, err := t.loadBook(ins)
	if err != nil {
		return "", err
	}
	now := t.now.UnixNano()
	if err := m.apply(m.e.Expire(now)); err != nil {
		return "", err
	}
	for _, o := range st.Orders {
		if o.Location == book.InQueue {
			r := m.e.Process(now, nil, m.budget())
			if err := m.apply(r); err != nil {
				return "", err
			}
			m.res.More = r.Pending
			break
		}
	}
	inputs, err := t.closedInputs(symbol)
	if err != nil {
		return "", err
	}
	var consumed []string
	var deferred []input
	for _, in := range inputs {
		if m.res.More || m.res.Processed >= t.cfg.MaxMatchInputs || m.fillsLeft() <= 0 {
			m.res.More = true
			break
		}
		done, pending, err := m.take(in)
		if err != nil {
			return "", err
		}
		if done {
			consumed = append(consumed, in.key)
			m.res.Processed++
		} else {
			deferred = append(deferred, in)
		}
		m.res.More = pending
	}
	// A request can precede its order (client clocks differ): try the deferred ones once
	// more now that this Match has taken more orders.
	for _, in := range deferred {
		done := false
		if !m.res.More && m.res.Processed < t.cfg.MaxMatchInputs && m.fillsLeft() > 0 && m.recs[in.req.OrderID] != nil {
			var pending bool
			if done, pending, err = m.take(in); err != nil {
				return "", err
			}
			m.res.More = pending
		}
		if done {
			consumed = append(consumed, in.key)
			m.res.Processed++
		} else {
			m.res.Deferred++
		}
	}
	if err := m.writeBack(st); err != nil {
		return "", err
	}
	for _, k := range consumed {
		t.del(k)
	}
	m.res.Book = m.view()
	if len(m.res.Trades) > 0 || len(m.res.OrderUpdates) > 0 {
		t.event("Match", &m.res)
	}
	if err := t.flush(); err != nil {
		return "", err
	}
	t.books.put(t.channel, symbol, m.hash, m.after)
	return jsonString(&m.res)
}

// loadBook restores the symbol's book from bk~ and its live orders: from the book cache when
// it holds the version bk~ names, else from a scan of the lv~ range.
func (t *txn) loadBook(ins *Instrument) (*matcher, book.State, error) {
	m := &matcher{
		t: t, ins: ins, cpl: ins.CashPerLotTick, recs: map[string]*Order{}, before: map[string]*liveOrder{},
		touched: map[string]bool{},
		res:     MatchResult{Symbol: ins.Symbol, Trades: []Trade{}, OrderUpdates: []OrderUpdate{}},
	}
	b, err := book.NewBook(ins.bookConfig())
	if err != nil {
		return nil, book.State{}, internal("instrument %s: %v", ins.Symbol, err)
	}
	m.e = b
	var bs bookState
	if _, err := t.getJSON(key(pBook, ins.Symbol), &bs); err != nil {
		return nil, book.State{}, err
	}
	m.version = bs.Version
	live := t.books.get(t.channel, ins.Symbol, bs.Version)
	if len(live) >= t.cfg.QueryLimit {
		return nil, book.State{}, t.queryLimitErr(prefix(pLive, ins.Symbol)) // as the scan would: same answer, warm cache or not
	}
	if live == nil {
		if live, err = t.scanLive(ins.Symbol); err != nil {
			return nil, book.State{}, err
		}
		if bs.Version != "" && live.hash() == bs.Version {
			t.books.put(t.channel, ins.Symbol, bs.Version, live)
			live = append(liveBook(nil), live...) // the cache's entries stay as they are
		}
	}
	st := book.State{Seq: bs.Seq, TradeSeq: bs.TradeSeq, LastPrice: bs.LastPrice}
	for i := range live {
		lo := &live[i]
		o := lo.order // the matcher's own copy
		m.recs[o.OrderID] = &o
		m.before[o.OrderID] = lo
		st.Orders = append(st.Orders, book.OrderState{
			Order: bookOrder(&o, m.cpl), Seq: o.Seq, Filled: o.FilledQuantity,
			FilledNotional: o.FilledNotional, Location: parseLocation(o.Location),
		})
	}
	sort.Slice(st.Orders, func(i, j int) bool { return st.Orders[i].Seq < st.Orders[j].Seq })
	if err := b.Restore(st); err != nil {
		return nil, book.State{}, internal("restore book %s: %v", ins.Symbol, err)
	}
	return m, st, nil
}

// scanLive reads and decodes the lv~ range of symbol.
func (t *txn) scanLive(symbol string) (liveBook, error) {
	rows, err := t.scanPrefix(prefix(pLive, symbol))
	if err != nil {
		return nil, err
	}
	live := make(liveBook, len(rows))
	for i, r := range rows {
		live[i] = liveOrder{key: r.Key, raw: r.Value}
		if err := json.Unmarshal(r.Value, &live[i].order); err != nil {
			return nil, internal("decode %s: %v", r.Key, err)
		}
	}
	return live, nil
}

// closedInputs reads the intake orders and requests of the closed epochs, merged in
// (timestamp, tx id) order. The scanned ranges end before the first open epoch, so a Submit
// of the current epochs never lands in them.
func (t *txn) closedInputs(symbol string) ([]input, error) {
	ns := t.now.UnixNano()
	bound := padI(ns/t.cfg.Epoch.Nanoseconds() - t.cfg.EpochLag + 1)
	var out []input
	for _, p := range []string{pIntake, pRequest} {
		pre := prefix(p, symbol)
		// A backlog past the peer's query limit waits for later Matches: inputs are taken
		// oldest first, and the first n of each kind hold the first n of both.
		rows, err := t.scanFirst(pre, pre+bound)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			in := input{key: r.Key}
			var err error
			if p == pIntake {
				in.order = &Order{}
				err = json.Unmarshal(r.Value, in.order)
			} else {
				in.req = &pendingRequest{}
				err = json.Unmarshal(r.Value, in.req)
			}
			if err != nil {
				return nil, internal("decode %s: %v", r.Key, err)
			}
			out = append(out, in)
		}
	}
	suffix := func(k string) string { return k[strings.Index(k, sep)+1:] } // SYM~EPOCH~TS~TXID
	sort.SliceStable(out, func(i, j int) bool { return suffix(out[i].key) < suffix(out[j].key) })
	return out, nil
}

// take processes one input. done: the input is consumed; pending: the book paused on the
// budget.
func (m *matcher) take(in input) (done, pending bool, err error) {
	now := m.t.now.UnixNano()
	if o := in.order; o != nil {
		if _, dup := m.recs[o.OrderID]; dup {
			return true, false, nil // cannot happen (order ids are tx ids); drop the copy
		}
		m.recs[o.OrderID] = o
		m.touched[o.OrderID] = true
		r := m.e.Process(now, []book.Order{bookOrder(o, m.cpl)}, m.budget())
		if r.Consumed != 1 {
			return false, false, internal("order %s not taken by the book", o.OrderID)
		}
		return true, r.Pending, m.apply(r)
	}
	return m.request(in.req)
}

// request applies a cancel or replace request.
func (m *matcher) request(q *pendingRequest) (done, pending bool, err error) {
	rec := m.recs[q.OrderID]
	if rec == nil {
		st := &Order{}
		ok, err := m.t.getJSON(key(pOrderState, q.OrderID), st)
		if err != nil {
			return false, false, err
		}
		if !ok {
			return false, false, nil // the order is still in intake: wait for it
		}
		if !st.final() {
			return false, false, internal("order %s is %s but not in the book", q.OrderID, st.Status)
		}
		return true, false, m.releaseExtra(q)
	}
	if rec.final() {
		return true, false, m.releaseExtra(q)
	}
	now := m.t.now.UnixNano()
	if q.Kind == reqCancel {
		r, err := m.e.Cancel(q.OrderID)
		if err != nil {
			return false, false, internal("cancel %s: %v", q.OrderID, err)
		}
		return true, false, m.apply(r)
	}
	os, ok := m.e.Get(q.OrderID)
	if !ok {
		return false, false, internal("order %s is live but not in the book", q.OrderID)
	}
	n := *rec
	n.Quantity, n.Price, n.StopPrice = q.Quantity, q.Price, q.StopPrice
	n.FilledQuantity, n.RemainingQuantity = os.Filled, max(0, q.Quantity-os.Filled)
	need, ok := n.required(m.cpl)
	pool, ok2 := addI(rec.Reserved, q.Extra)
	if !ok || !ok2 {
		return true, false, m.rejectReplace(rec, q, "reservation overflows")
	}
	if need > pool {
		return true, false, m.rejectReplace(rec, q, "the reservation does not cover the new terms; submit the replace again")
	}
	rec.Reserved = pool
	r, err := m.e.Replace(now, q.OrderID, book.Amend{Price: q.Price, StopPrice: q.StopPrice, Qty: q.Quantity}, m.budget())
	if err != nil {
		rec.Reserved -= q.Extra
		return true, false, m.rejectReplace(rec, q, err.Error())
	}
	return true, r.Pending, m.apply(r)
}

func (m *matcher) releaseExtra(q *pendingRequest) error {
	if q.Kind != reqReplace || q.Extra == 0 {
		return nil
	}
	return m.t.credit(q.Account, q.Asset, q.Extra, -q.Extra)
}

func (m *matcher) rejectReplace(rec *Order, q *pendingRequest, why string) error {
	m.res.OrderUpdates = append(m.res.OrderUpdates, updateOf(rec, "replace-rejected: "+why))
	return m.releaseExtra(q)
}

func updateOf(o *Order, reason string) OrderUpdate {
	return OrderUpdate{OrderID: o.OrderID, Account: o.Account, Symbol: o.Symbol, Side: o.Side,
		Status: o.Status, Reason: reason, Price: o.Price, Quantity: o.Quantity,
		FilledQuantity: o.FilledQuantity, RemainingQuantity: o.RemainingQuantity}
}

// apply settles the trades and records the order updates of a book result, in order.
func (m *matcher) apply(r book.Result) error {
	for i := range r.Events {
		ev := &r.Events[i]
		var err error
		switch ev.Kind {
		case book.EventTrade:
			err = m.trade(ev.Trade)
		case book.EventUpdate:
			err = m.update(ev.Update)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// trade settles one fill: the buyer's reservation pays price × quantity (the excess of its
// limit over the maker's price is released), the seller's reserved lots are delivered.
func (m *matcher) trade(tr book.Trade) error {
	buy, sell := m.recs[tr.BuyOrderID()], m.recs[tr.SellOrderID()]
	if buy == nil || sell == nil {
		return internal("trade %d of %s: unknown order", tr.Seq, m.ins.Symbol)
	}
	cash, ok := mul3(tr.Price, tr.Qty, m.cpl)
	if !ok {
		return internal("trade %d of %s: cash overflows", tr.Seq, m.ins.Symbol)
	}
	consume := cash
	if !buy.marketBuy() {
		if consume, ok = mul3(buy.Price, tr.Qty, m.cpl); !ok || consume < cash {
			return internal("trade %d of %s: buy limit below the trade price", tr.Seq, m.ins.Symbol)
		}
	}
	if buy.Reserved < consume || sell.Reserved < tr.Qty {
		return internal("trade %d of %s: reservation exhausted", tr.Seq, m.ins.Symbol)
	}
	buy.Reserved -= consume
	sell.Reserved -= tr.Qty
	cur, sym := m.ins.Currency, m.ins.Symbol
	for _, err := range []error{
		m.t.credit(buy.Account, cur, consume-cash, -consume),
		m.t.credit(buy.Account, sym, tr.Qty, 0),
		m.t.credit(sell.Account, sym, 0, -tr.Qty),
		m.t.credit(sell.Account, cur, cash, 0),
	} {
		if err != nil {
			return err
		}
	}
	var ok1, ok2 bool
	buy.FilledCash, ok1 = addI(buy.FilledCash, cash)
	sell.FilledCash, ok2 = addI(sell.FilledCash, cash)
	if !ok1 || !ok2 {
		return internal("trade %d of %s: filled cash overflows", tr.Seq, m.ins.Symbol)
	}
	m.touched[buy.OrderID], m.touched[sell.OrderID] = true, true
	t := Trade{
		TradeID: tradeID(sym, tr.Seq), Symbol: sym, Price: tr.Price, Quantity: tr.Qty, Cash: cash, Currency: cur,
		BuyOrderID: buy.OrderID, SellOrderID: sell.OrderID, BuyAccount: buy.Account, SellAccount: sell.Account,
		TakerSide: tr.TakerSide.String(), Time: m.t.now, TxID: m.t.id,
	}
	m.fills++
	m.res.Trades = append(m.res.Trades, t)
	return m.t.put(key(pTrade, sym, pad(tr.Seq)), &t)
}

// update records an order update and releases what the order no longer needs.
func (m *matcher) update(u book.OrderUpdate) error {
	o := m.recs[u.OrderID]
	if o == nil {
		return internal("update of unknown order %s", u.OrderID)
	}
	o.Status, o.Reason = u.Status.String(), string(u.Reason)
	if u.Seq > 0 {
		o.Seq = u.Seq
	}
	o.Price, o.Quantity = u.Price, u.Qty
	o.FilledQuantity, o.RemainingQuantity, o.FilledNotional = u.Filled, u.Remaining, u.FilledNotional
	o.UpdatedAt = m.t.now
	m.touched[o.OrderID] = true
	release := int64(0)
	switch {
	case u.Status.Final():
		release, o.Reserved, o.Location = o.Reserved, 0, ""
	case u.Reason == book.ReasonReplaced:
		need, ok := o.required(m.cpl)
		if !ok || need > o.Reserved {
			return internal("order %s: replaced terms exceed its reservation", o.OrderID)
		}
		release, o.Reserved = o.Reserved-need, need
	}
	if release > 0 {
		if err := m.t.credit(o.Account, o.ReservedAsset, release, -release); err != nil {
			return err
		}
	}
	m.res.OrderUpdates = append(m.res.OrderUpdates, updateOf(o, o.Reason))
	return nil
}

// writeBack stores every order this Match changed (ost~ and its lv~ key) and bk~: the
// counters and the hash of the lv~ range after this Match, whenever either changed.
func (m *matcher) writeBack(before book.State) error {
	snap := m.e.Snapshot()
	live := make(map[string]book.OrderState, len(snap.Orders))
	for _, os := range snap.Orders {
		live[os.Order.ID] = os
		o := m.recs[os.Order.ID]
		if o == nil {
			return internal("book holds unknown order %s", os.Order.ID)
		}
		if o.Seq != os.Seq || o.Location != os.Location.String() || o.FilledQuantity != os.Filled {
			m.touched[o.OrderID] = true
		}
	}
	for _, id := range sortedKeys(m.touched) {
		o := m.recs[id]
		var old string
		if lo := m.before[id]; lo != nil {
			old = lo.key
		}
		if os, ok := live[id]; ok {
			o.Seq, o.Location = os.Seq, os.Location.String()
			o.Price, o.StopPrice, o.Quantity = os.Order.Price, os.Order.StopPrice, os.Order.Qty
			o.FilledQuantity, o.FilledNotional = os.Filled, os.FilledNotional
			o.RemainingQuantity = os.Remaining()
			if o.Status == StatusPending {
				o.Status = book.StatusNew.String()
			}
			k := liveKey(o)
			if old != "" && old != k {
				m.t.del(old)
			}
			if err := m.t.put(k, o); err != nil {
				return err
			}
		} else {
			if !o.final() {
				return internal("order %s left the book without a final status", id)
			}
			if old != "" {
				m.t.del(old)
			}
		}
		if err := m.t.put(key(pOrderState, id), o); err != nil {
			return err
		}
	}
	m.after = make(liveBook, 0, len(snap.Orders))
	for _, os := range snap.Orders {
		id := os.Order.ID
		if !m.touched[id] {
			lo := m.before[id]
			if lo == nil {
				return internal("order %s is in the book but was neither loaded nor changed", id)
			}
			m.after = append(m.after, *lo)
			continue
		}
		o := m.recs[id]
		k := liveKey(o)
		m.after = append(m.after, liveOrder{key: k, raw: m.t.pending[k], order: *o})
	}
	m.after.sortByKey()
	m.hash = m.after.hash()
	if snap.Seq != before.Seq || snap.TradeSeq != before.TradeSeq || snap.LastPrice != before.LastPrice || m.hash != m.version {
		return m.t.put(key(pBook, m.ins.Symbol), &bookState{Seq: snap.Seq, TradeSeq: snap.TradeSeq, LastPrice: snap.LastPrice, Version: m.hash})
	}
	return nil
}

// view returns the top levels of the book.
func (m *matcher) view() BookView {
	conv := func(ls []book.Level) []Level {
		out := make([]Level, 0, len(ls))
		for _, l := range ls {
			out = append(out, Level{Price: l.Price, Quantity: l.Qty, Orders: l.Orders})
		}
		return out
	}
	n := m.t.cfg.BookLevels
	return BookView{Symbol: m.ins.Symbol, Bids: conv(m.e.Depth(book.Buy, n)), Asks: conv(m.e.Depth(book.Sell, n)), LastPrice: m.e.LastPrice()}
}
