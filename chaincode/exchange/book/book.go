package book

import (
	"math/bits"
	"slices"
)

// node is a live order, intrusively linked into its price level.
type node struct {
	o        Order
	seq      uint64
	filled   int64
	notional int64
	loc      Location
	lvl      *level
	prev     *node
	next     *node
}

func (n *node) rem() int64 { return n.o.Qty - n.filled }

// level is a price level: a FIFO of nodes in ascending sequence.
type level struct {
	price int64
	total int64 // Σ remaining
	count int
	head  *node
	tail  *node
}

func (l *level) pushBack(n *node) {
	n.lvl = l
	n.prev = l.tail
	n.next = nil
	if l.tail != nil {
		l.tail.next = n
	} else {
		l.head = n
	}
	l.tail = n
	l.count++
}

func (l *level) unlink(n *node) {
	if n.prev != nil {
		n.prev.next = n.next
	} else {
		l.head = n.next
	}
	if n.next != nil {
		n.next.prev = n.prev
	} else {
		l.tail = n.prev
	}
	n.prev, n.next, n.lvl = nil, nil, nil
	l.count--
}

// ladder keeps levels sorted so that the best level (the next to match, or the next stop to
// trigger) is the last element: popping the best level is O(1), and new levels usually land
// near the end.
type ladder struct {
	lv   []*level
	desc bool // true: prices descending along the slice (best = lowest at the end)
}

// search returns the index of the level with price p or where it would be inserted.
func (l *ladder) search(p int64) int {
	lo, hi := 0, len(l.lv)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		x := l.lv[m].price
		if (!l.desc && x < p) || (l.desc && x > p) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

func (l *ladder) best() *level {
	if len(l.lv) == 0 {
		return nil
	}
	return l.lv[len(l.lv)-1]
}

func (l *ladder) remove(lvl *level) {
	i := len(l.lv) - 1
	if l.lv[i] != lvl {
		i = l.search(lvl.price)
	}
	copy(l.lv[i:], l.lv[i+1:])
	l.lv[len(l.lv)-1] = nil
	l.lv = l.lv[:len(l.lv)-1]
}

// Book is the fast matching engine. It is not safe for concurrent use.
type Book struct {
	cfg       Config
	bids      ladder // ascending: best (highest) last
	asks      ladder // descending: best (lowest) last
	buyStops  ladder // descending: lowest stop (first to trigger on a rise) last
	sellStops ladder // ascending: highest stop (first to trigger on a fall) last
	index     map[string]*node
	queue     []*node
	seq       uint64
	tradeSeq  uint64
	last      int64

	freeNodes  []*node
	freeLevels []*level
	scratch    []*node // makers of a pro-rata level, expiring orders
	trig       []*node // triggered stops
	allocs     []int64

	// per call
	ev    []Event
	fills int
	bud   Budget

	reuse bool    // see SetReuseEvents
	evBuf []Event // reused event buffer
}

var _ Engine = (*Book)(nil)

// NewBook returns an empty book. It fails with an error wrapping ErrInvalidConfig.
func NewBook(cfg Config) (*Book, error) {
	c, err := NewConfig(cfg)
	if err != nil {
		return nil, err
	}
	b := &Book{cfg: c}
	b.reset()
	return b, nil
}

func (b *Book) reset() {
	b.bids = ladder{}
	b.asks = ladder{desc: true}
	b.buyStops = ladder{desc: true}
	b.sellStops = ladder{}
	b.index = make(map[string]*node)
	b.queue = nil
	b.seq, b.tradeSeq, b.last = 0, 0, 0
}

// Config returns the configuration with defaults filled in.
func (b *Book) Config() Config { return b.cfg }

// Validate checks o against the book's configuration (see Config.Validate).
func (b *Book) Validate(o Order) error { return b.cfg.Validate(o) }

// LastPrice returns the last trade price (0 before the first trade).
func (b *Book) LastPrice() int64 { return b.last }

// Len returns the number of live orders (book, stop book and queue).
func (b *Book) Len() int { return len(b.index) }

// --- allocation of nodes and levels -------------------------------------------------------

func (b *Book) newNode() *node {
	if k := len(b.freeNodes); k > 0 {
		n := b.freeNodes[k-1]
		b.freeNodes = b.freeNodes[:k-1]
		return n
	}
	return new(node)
}

func (b *Book) freeNode(n *node) {
	*n = node{}
	b.freeNodes = append(b.freeNodes, n)
}

// levelAt returns the level of price p in l, creating it if needed.
func (b *Book) levelAt(l *ladder, p int64) *level {
	i := l.search(p)
	if i < len(l.lv) && l.lv[i].price == p {
		return l.lv[i]
	}
	var lvl *level
	if k := len(b.freeLevels); k > 0 {
		lvl = b.freeLevels[k-1]
		b.freeLevels = b.freeLevels[:k-1]
	} else {
		lvl = new(level)
	}
	lvl.price = p
	l.lv = append(l.lv, nil)
	copy(l.lv[i+1:], l.lv[i:])
	l.lv[i] = lvl
	return lvl
}

func (b *Book) dropLevelIfEmpty(l *ladder, lvl *level) {
	if lvl.count > 0 {
		return
	}
	l.remove(lvl)
	*lvl = level{}
	b.freeLevels = append(b.freeLevels, lvl)
}

func (b *Book) sideLadder(s Side) *ladder {
	if s == Buy {
		return &b.bids
	}
	return &b.asks
}

func (b *Book) stopLadder(s Side) *ladder {
	if s == Buy {
		return &b.buyStops
	}
	return &b.sellStops
}

// --- events ---------------------------------------------------------------------------------

// SetReuseEvents chooses who owns Result.Events. By default (false) every call returns a freshly
// allocated slice that the caller owns. With reuse set, the book recycles one buffer: the Events
// of a Result are only valid until the next call on the book, and a call then allocates nothing
// in the common case. Use it only when the events are consumed before the next call.
func (b *Book) SetReuseEvents(reuse bool) {
	b.reuse = reuse
	b.evBuf = nil
}

// begin starts a call: events are collected in the recycled buffer.
func (b *Book) begin(bud Budget) {
	b.ev = b.evBuf[:0]
	b.fills = 0
	b.bud = bud
}

// end finishes a call. Without reuse the events are copied to a slice of exactly the right size
// (one allocation, as small as possible: allocation volume drives the GC cost here).
func (b *Book) end(consumed int) Result {
	evs := b.ev
	b.evBuf = b.ev[:0]
	b.ev = nil
	if !b.reuse {
		evs = append(make([]Event, 0, len(evs)), evs...)
		clear(b.evBuf[:cap(b.evBuf)]) // drop references to order strings
		if cap(b.evBuf) > 1024 {
			b.evBuf = nil // do not keep a huge buffer after a large call
		}
	}
	return Result{Events: evs, Consumed: consumed, Pending: len(b.queue) > 0}
}

func (b *Book) emit(n *node, st Status, r Reason) {
	rem := n.rem()
	if st.Final() {
		rem = 0
	}
	b.ev = append(b.ev, Event{Kind: EventUpdate, Update: OrderUpdate{
		OrderID: n.o.ID, Account: n.o.Account, Side: n.o.Side, Status: st, Reason: r,
		Seq: n.seq, Price: n.o.Price, Qty: n.o.Qty, Filled: n.filled, Remaining: rem,
		FilledNotional: n.notional,
	}})
}

// finalize reports a final status and forgets the (already unlinked) node.
func (b *Book) finalize(n *node, st Status, r Reason) {
	b.emit(n, st, r)
	delete(b.index, n.o.ID)
	b.freeNode(n)
}

func (b *Book) fillsExhausted() bool { return b.bud.MaxFills > 0 && b.fills >= b.bud.MaxFills }

// --- public operations ----------------------------------------------------------------------

// Process takes the input orders in arrival order and matches them, within budget. Queued work
// (a taker paused by a previous call, triggered stops) is finished first. Result.Consumed says
// how many input orders were taken; the caller passes the others again later. Invalid input is
// not an error: such an order gets a REJECTED update (ReasonInvalid or ReasonDuplicateID), and a
// GTT order whose time has come gets EXPIRED; neither receives a sequence number.
func (b *Book) Process(now int64, orders []Order, budget Budget) Result {
	b.begin(budget)
	return b.end(b.run(now, orders))
}

func (b *Book) run(now int64, orders []Order) int {
	consumed := 0
	for {
		if len(b.queue) > 0 {
			if !b.runTaker(b.queue[0], now) {
				return consumed
			}
			continue
		}
		if consumed >= len(orders) || (b.bud.MaxOrders > 0 && consumed >= b.bud.MaxOrders) || b.fillsExhausted() {
			return consumed
		}
		b.accept(&orders[consumed], now)
		consumed++
	}
}

// Submit validates o and processes it with an unlimited budget (after any queued work). It
// returns a *ValidationError or ErrDuplicateOrder without changing anything if o cannot enter.
func (b *Book) Submit(now int64, o Order) (Result, error) {
	if err := b.cfg.Validate(o); err != nil {
		return Result{}, err
	}
	if _, dup := b.index[o.ID]; dup {
		return Result{}, ErrDuplicateOrder
	}
	b.begin(Unlimited)
	b.acceptValid(&o, now)
	b.run(now, nil)
	return b.end(1), nil
}

// Cancel cancels the live order id wherever it is (book, stop book, queue): one CANCELED update
// with ReasonCanceled. ErrUnknownOrder if no live order has that id.
func (b *Book) Cancel(id string) (Result, error) {
	n := b.index[id]
	if n == nil {
		return Result{}, ErrUnknownOrder
	}
	b.begin(Unlimited)
	b.unlink(n)
	b.finalize(n, StatusCanceled, ReasonCanceled)
	return b.end(0), nil
}

// Replace amends a live order resting in the book or waiting in the stop book (ErrNotAmendable
// for an order in the work queue). a holds the new Price, StopPrice and total Qty; the amended
// order must pass Config.Validate (else a *ValidationError, nothing changes), and a triggered
// STOP_LIMIT keeps its StopPrice.
//
//   - a.Qty <= filled: the order is CANCELED (ReasonReplaced); the update carries the order's
//     previous Price/Qty.
//   - same prices, a.Qty <= Qty: quantity reduced in place, time priority and sequence kept;
//     one update (ReasonReplaced).
//   - otherwise (price or stop changed, or quantity increased): the order loses its priority.
//     It gets a new sequence number and an update (ReasonReplaced); a stop order goes back to
//     the stop book (and triggers at once if the last price already satisfies it); a resting
//     order goes through the work queue like a new taker — it may trade — within budget.
func (b *Book) Replace(now int64, id string, a Amend, budget Budget) (Result, error) {
	n := b.index[id]
	if n == nil {
		return Result{}, ErrUnknownOrder
	}
	if n.loc == InQueue {
		return Result{}, ErrNotAmendable
	}
	if n.loc == InBook && n.o.Type == StopLimit && a.StopPrice != n.o.StopPrice {
		return Result{}, invalid("StopPrice", "cannot change after the stop has triggered")
	}
	cand := n.o
	cand.Price, cand.StopPrice, cand.Qty = a.Price, a.StopPrice, a.Qty
	if err := b.cfg.Validate(cand); err != nil {
		return Result{}, err
	}
	b.begin(budget)
	if a.Qty <= n.filled {
		b.unlink(n) // the order keeps its last definition; the replace only cancels it
		b.finalize(n, StatusCanceled, ReasonReplaced)
		return b.end(0), nil
	}
	if cand.Price == n.o.Price && cand.StopPrice == n.o.StopPrice && cand.Qty <= n.o.Qty {
		if n.loc == InBook {
			n.lvl.total -= n.o.Qty - cand.Qty
		}
		n.o = cand
		b.emit(n, statusOf(n.filled), ReasonReplaced)
		return b.end(0), nil
	}
	wasStop := n.loc == InStopBook
	b.unlink(n)
	n.o = cand
	b.seq++
	n.seq = b.seq
	if wasStop {
		b.addStop(n)
		b.emit(n, StatusNew, ReasonReplaced)
		b.checkStops(b.last)
	} else {
		n.loc = InQueue
		b.queue = append(b.queue, n)
		b.emit(n, statusOf(n.filled), ReasonReplaced)
	}
	b.run(now, nil)
	return b.end(0), nil
}

// Expire expires every live GTT order (resting, waiting or queued) with now >= ExpireTime, in
// ascending sequence order: one EXPIRED update each. Matching also expires, lazily, any GTT
// maker it meets and any queued taker it starts whose time has come.
func (b *Book) Expire(now int64) Result {
	b.begin(Unlimited)
	exp := b.scratch[:0]
	for _, n := range b.index {
		if n.o.TIF == GTT && now >= n.o.ExpireTime {
			exp = append(exp, n)
		}
	}
	slices.SortFunc(exp, func(x, y *node) int { return cmpU64(x.seq, y.seq) })
	for _, n := range exp {
		b.unlink(n)
		b.finalize(n, StatusExpired, ReasonExpired)
	}
	clear(exp)
	b.scratch = exp[:0]
	return b.end(0)
}

// Get returns the live order id.
func (b *Book) Get(id string) (OrderState, bool) {
	n := b.index[id]
	if n == nil {
		return OrderState{}, false
	}
	return n.state(), true
}

func (n *node) state() OrderState {
	return OrderState{Order: n.o, Seq: n.seq, Filled: n.filled, FilledNotional: n.notional, Location: n.loc}
}

// Snapshot returns the complete state: counters, last price and every live order in ascending
// sequence. Restore(Snapshot()) gives an equivalent book.
func (b *Book) Snapshot() State {
	s := State{Seq: b.seq, TradeSeq: b.tradeSeq, LastPrice: b.last, Orders: make([]OrderState, 0, len(b.index))}
	for _, n := range b.index {
		s.Orders = append(s.Orders, n.state())
	}
	slices.SortFunc(s.Orders, func(x, y OrderState) int { return cmpU64(x.Seq, y.Seq) })
	return s
}

// Restore replaces the book's content with s. It fails (book unchanged) with an error wrapping
// ErrInvalidState if s is inconsistent: an invalid order, duplicate id or sequence, a sequence
// above s.Seq, Filled outside [0, Qty), an order in a location it cannot be in, a crossed book,
// or a level total overflowing int64. Stops are not re-checked against LastPrice.
func (b *Book) Restore(s State) error {
	orders, err := checkState(b.cfg, s)
	if err != nil {
		return err
	}
	b.reset()
	b.seq, b.tradeSeq, b.last = s.Seq, s.TradeSeq, s.LastPrice
	for i := range orders {
		os := &orders[i]
		n := b.newNode()
		n.o, n.seq, n.filled, n.notional = os.Order, os.Seq, os.Filled, os.FilledNotional
		b.index[n.o.ID] = n
		switch os.Location {
		case InBook:
			lvl := b.levelAt(b.sideLadder(n.o.Side), n.o.Price)
			lvl.total += n.rem() // checked in checkState
			lvl.pushBack(n)
			n.loc = InBook
		case InStopBook:
			b.addStop(n)
		case InQueue:
			n.loc = InQueue
			b.queue = append(b.queue, n)
		}
	}
	return nil
}

// Depth returns up to n aggregated levels of side, best first (n <= 0: all levels). GTT orders
// whose time has passed are counted until they are expired (call Expire first).
func (b *Book) Depth(side Side, n int) []Level {
	l := b.sideLadder(side)
	k := len(l.lv)
	if n > 0 && n < k {
		k = n
	}
	out := make([]Level, 0, k)
	for i := len(l.lv) - 1; i >= 0 && len(out) < k; i-- {
		lv := l.lv[i]
		out = append(out, Level{Price: lv.price, Qty: lv.total, Orders: lv.count})
	}
	return out
}

// --- internals ------------------------------------------------------------------------------

// accept takes one input order.
func (b *Book) accept(o *Order, now int64) {
	if err := b.cfg.Validate(*o); err != nil {
		b.reject(o, StatusRejected, ReasonInvalid)
		return
	}
	if _, dup := b.index[o.ID]; dup {
		b.reject(o, StatusRejected, ReasonDuplicateID)
		return
	}
	b.acceptValid(o, now)
}

// acceptValid takes a valid input order with a fresh id.
func (b *Book) acceptValid(o *Order, now int64) {
	if o.TIF == GTT && now >= o.ExpireTime {
		b.reject(o, StatusExpired, ReasonExpired)
		return
	}
	n := b.newNode()
	n.o = *o
	b.seq++
	n.seq = b.seq
	b.index[o.ID] = n
	if o.isStop() {
		b.addStop(n)
		b.emit(n, StatusNew, ReasonNone)
		b.checkStops(b.last)
		return
	}
	n.loc = InQueue
	b.queue = append(b.queue, n)
}

func (b *Book) reject(o *Order, st Status, r Reason) {
	b.ev = append(b.ev, Event{Kind: EventUpdate, Update: OrderUpdate{
		OrderID: o.ID, Account: o.Account, Side: o.Side, Status: st, Reason: r, Price: o.Price, Qty: o.Qty,
	}})
}

func (b *Book) addStop(n *node) {
	lvl := b.levelAt(b.stopLadder(n.o.Side), n.o.StopPrice)
	lvl.pushBack(n)
	n.loc = InStopBook
}

// unlink removes a live node from wherever it is, keeping it in the index.
func (b *Book) unlink(n *node) {
	switch n.loc {
	case InBook:
		lvl := n.lvl
		lvl.total -= n.rem()
		lvl.unlink(n)
		b.dropLevelIfEmpty(b.sideLadder(n.o.Side), lvl)
	case InStopBook:
		lvl := n.lvl
		lvl.unlink(n)
		b.dropLevelIfEmpty(b.stopLadder(n.o.Side), lvl)
	case InQueue:
		if i := slices.Index(b.queue, n); i >= 0 {
			b.queue = slices.Delete(b.queue, i, i+1)
		}
	}
	n.loc = 0
}

func (b *Book) popQueue() {
	copy(b.queue, b.queue[1:])
	b.queue[len(b.queue)-1] = nil
	b.queue = b.queue[:len(b.queue)-1]
}

// checkStops triggers every waiting stop that last trade price p satisfies.
func (b *Book) checkStops(p int64) {
	if p <= 0 {
		return
	}
	got := b.trig[:0]
	for {
		lvl := b.buyStops.best()
		if lvl == nil || lvl.price > p {
			break
		}
		for n := lvl.head; n != nil; n = n.next {
			got = append(got, n)
		}
		b.detachLevel(&b.buyStops, lvl)
	}
	for {
		lvl := b.sellStops.best()
		if lvl == nil || lvl.price < p {
			break
		}
		for n := lvl.head; n != nil; n = n.next {
			got = append(got, n)
		}
		b.detachLevel(&b.sellStops, lvl)
	}
	if len(got) == 0 {
		return
	}
	if len(got) > 1 {
		slices.SortFunc(got, func(x, y *node) int { return cmpU64(x.seq, y.seq) })
	}
	for _, n := range got {
		n.prev, n.next, n.lvl = nil, nil, nil
		b.seq++
		n.seq = b.seq
		n.loc = InQueue
		b.queue = append(b.queue, n)
		b.emit(n, StatusNew, ReasonTriggered)
	}
	clear(got)
	b.trig = got[:0]
}

// detachLevel removes a whole (best) level from a stop ladder without touching its nodes' links.
func (b *Book) detachLevel(l *ladder, lvl *level) {
	l.remove(lvl)
	*lvl = level{}
	b.freeLevels = append(b.freeLevels, lvl)
}

// runTaker works on the queue head t. It returns false if t paused on the budget (t stays at the
// head of the queue), true when t is done (rested or final) and removed from the queue.
func (b *Book) runTaker(t *node, now int64) bool {
	if t.o.TIF == GTT && now >= t.o.ExpireTime {
		b.popQueue()
		t.loc = 0
		b.finalize(t, StatusExpired, ReasonExpired)
		return true
	}
	fok := t.o.TIF == FOK
	if fok && !b.fokCanFill(t, now) {
		b.popQueue()
		t.loc = 0
		b.finalize(t, StatusCanceled, ReasonFOKUnfilled)
		return true
	}
	opp := b.sideLadder(t.o.Side.Opposite())
	proRata := b.cfg.Algorithm == ProRata
	var why Reason
	for t.rem() > 0 {
		lvl := opp.best()
		if lvl == nil || !t.o.crosses(lvl.price) {
			break
		}
		if proRata {
			if b.expireLevel(opp, lvl, now) {
				continue // level emptied and removed
			}
			if ownAtLevel(lvl, t.o.Account) {
				why = ReasonSelfTrade
				break
			}
			if !fok && b.fillsExhausted() {
				b.emit(t, statusOf(t.filled), ReasonWorkCap)
				return false
			}
			take := min(t.rem(), lvl.total, affordable(&t.o, t.notional, lvl.price))
			if take <= 0 {
				why = ReasonNotionalCap
				break
			}
			if !b.proRataFill(t, opp, lvl, take) {
				why = ReasonOverflow
				break
			}
			continue
		}
		m := lvl.head
		if m.o.TIF == GTT && now >= m.o.ExpireTime {
			b.unlink(m)
			b.finalize(m, StatusExpired, ReasonExpired)
			continue
		}
		if m.o.Account == t.o.Account {
			why = ReasonSelfTrade
			break
		}
		if !fok && b.fillsExhausted() {
			b.emit(t, statusOf(t.filled), ReasonWorkCap)
			return false
		}
		q := min(t.rem(), m.rem(), affordable(&t.o, t.notional, lvl.price))
		if q <= 0 {
			why = ReasonNotionalCap
			break
		}
		if !b.fill(t, m, opp, lvl, q) {
			why = ReasonOverflow
			break
		}
	}
	b.popQueue()
	t.loc = 0
	switch {
	case t.rem() == 0:
		b.finalize(t, StatusFilled, ReasonNone)
	case why != ReasonNone:
		b.finalize(t, StatusCanceled, why)
	case t.o.isMarket():
		b.finalize(t, StatusCanceled, ReasonNoLiquidity)
	case t.o.TIF == IOC:
		b.finalize(t, StatusCanceled, ReasonIOCRemainder)
	case fok:
		b.finalize(t, StatusCanceled, ReasonFOKUnfilled) // unreachable: checked up front
	default:
		lvl := b.levelAt(b.sideLadder(t.o.Side), t.o.Price)
		total, ok := addNonNeg(lvl.total, t.rem())
		if !ok {
			b.dropLevelIfEmpty(b.sideLadder(t.o.Side), lvl)
			b.finalize(t, StatusCanceled, ReasonOverflow)
			break
		}
		lvl.total = total
		lvl.pushBack(t)
		t.loc = InBook
		b.emit(t, statusOf(t.filled), ReasonNone)
	}
	return true
}

// fill trades q lots between taker t and maker m (at the head of, or inside, lvl in ladder l)
// at lvl.price. It reports false, changing nothing, if a notional would overflow.
func (b *Book) fill(t, m *node, l *ladder, lvl *level, q int64) bool {
	p := lvl.price
	nt, ok := mulNonNeg(p, q)
	if !ok {
		return false
	}
	tn, ok1 := addNonNeg(t.notional, nt)
	mn, ok2 := addNonNeg(m.notional, nt)
	if !ok1 || !ok2 {
		return false
	}
	t.filled += q
	t.notional = tn
	m.filled += q
	m.notional = mn
	lvl.total -= q
	b.tradeSeq++
	b.last = p
	b.fills++
	b.ev = append(b.ev, Event{Kind: EventTrade, Trade: Trade{
		Seq: b.tradeSeq, Price: p, Qty: q, TakerSide: t.o.Side,
		MakerOrderID: m.o.ID, MakerAccount: m.o.Account, TakerOrderID: t.o.ID, TakerAccount: t.o.Account,
	}})
	if m.rem() == 0 {
		lvl.unlink(m)
		b.dropLevelIfEmpty(l, lvl)
		m.loc = 0
		b.finalize(m, StatusFilled, ReasonNone)
	} else {
		b.emit(m, StatusPartiallyFilled, ReasonNone)
	}
	b.checkStops(p)
	return true
}

// expireLevel expires the GTT orders of lvl whose time has come, in sequence order. It reports
// whether the level became empty (and was removed).
func (b *Book) expireLevel(l *ladder, lvl *level, now int64) bool {
	for n := lvl.head; n != nil; {
		next := n.next
		if n.o.TIF == GTT && now >= n.o.ExpireTime {
			empty := lvl.count == 1
			b.unlink(n) // may free lvl when it was the last order
			b.finalize(n, StatusExpired, ReasonExpired)
			if empty {
				return true
			}
		}
		n = next
	}
	return false
}

func ownAtLevel(lvl *level, account string) bool {
	for n := lvl.head; n != nil; n = n.next {
		if n.o.Account == account {
			return true
		}
	}
	return false
}

// proRataFill allocates take (< or = lvl.total) lots of level lvl to taker t; see the package
// doc for the rule.
func (b *Book) proRataFill(t *node, l *ladder, lvl *level, take int64) bool {
	makers := b.scratch[:0]
	for n := lvl.head; n != nil; n = n.next {
		makers = append(makers, n)
	}
	alloc := b.allocs[:0]
	if take == lvl.total {
		for _, m := range makers {
			alloc = append(alloc, m.rem())
		}
	} else {
		total := uint64(lvl.total)
		var sum int64
		for _, m := range makers {
			hi, lo := bits.Mul64(uint64(take), uint64(m.rem()))
			q, _ := bits.Div64(hi, lo, total) // hi < total since take, rem <= total
			alloc = append(alloc, int64(q))
			sum += int64(q)
		}
		for i := 0; sum < take && i < len(makers); i++ {
			if alloc[i] < makers[i].rem() {
				alloc[i]++
				sum++
			}
		}
	}
	ok := true
	for i, m := range makers {
		if alloc[i] == 0 {
			continue
		}
		if !b.fill(t, m, l, lvl, alloc[i]) {
			ok = false
			break
		}
	}
	clear(makers)
	b.scratch = makers[:0]
	b.allocs = alloc[:0]
	return ok
}

// fokCanFill reports whether FOK taker t would fill completely now, simulating the matching
// loop without changing anything.
func (b *Book) fokCanFill(t *node, now int64) bool {
	need := t.rem()
	used := t.notional
	opp := b.sideLadder(t.o.Side.Opposite())
	proRata := b.cfg.Algorithm == ProRata
	for i := len(opp.lv) - 1; i >= 0 && need > 0; i-- {
		lvl := opp.lv[i]
		p := lvl.price
		if !t.o.crosses(p) {
			break
		}
		if proRata {
			var avail int64
			for n := lvl.head; n != nil; n = n.next {
				if n.o.TIF == GTT && now >= n.o.ExpireTime {
					continue
				}
				if n.o.Account == t.o.Account {
					return false
				}
				avail += n.rem()
			}
			q := min(need, avail)
			if affordable(&t.o, used, p) < q {
				return false // the notional cap stops the taker at this level
			}
			need -= q
			nt, _ := mulNonNeg(p, q)
			used += nt
			continue
		}
		for n := lvl.head; n != nil && need > 0; n = n.next {
			if n.o.TIF == GTT && now >= n.o.ExpireTime {
				continue
			}
			if n.o.Account == t.o.Account {
				return false
			}
			q := min(need, n.rem())
			if affordable(&t.o, used, p) < q {
				return false // the notional cap stops the taker at this maker
			}
			need -= q
			nt, _ := mulNonNeg(p, q)
			used += nt
		}
	}
	return need <= 0
}
