package book

import (
	"math/big"
	"slices"
)

// Reference is a deliberately naive [Engine]: every live order sits in one flat slice that is
// filtered and sorted whenever a decision is needed, pro-rata uses math/big, and FOK is decided
// by a trial run on a copy. It exists to check [Book] (differential tests) and to document the
// rules in the plainest code; it is far too slow for production.
type Reference struct {
	cfg      Config
	orders   []*OrderState // live orders, any order
	seq      uint64
	tradeSeq uint64
	last     int64

	ev    []Event
	fills int
	bud   Budget

	lastTakerFilled int64 // filled quantity of the last taker run (FOK trial)
}

var _ Engine = (*Reference)(nil)

// NewReference returns an empty reference book (error wrapping ErrInvalidConfig on bad cfg).
func NewReference(cfg Config) (*Reference, error) {
	c, err := NewConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Reference{cfg: c}, nil
}

func (r *Reference) find(id string) *OrderState {
	for _, o := range r.orders {
		if o.Order.ID == id {
			return o
		}
	}
	return nil
}

func (r *Reference) drop(x *OrderState) {
	r.orders = slices.DeleteFunc(r.orders, func(o *OrderState) bool { return o == x })
}

func (r *Reference) update(o *OrderState, st Status, why Reason) {
	u := OrderUpdate{
		OrderID: o.Order.ID, Account: o.Order.Account, Side: o.Order.Side, Status: st, Reason: why,
		Seq: o.Seq, Price: o.Order.Price, Qty: o.Order.Qty, Filled: o.Filled, Remaining: o.Remaining(),
		FilledNotional: o.FilledNotional,
	}
	if st.Final() {
		u.Remaining = 0
	}
	r.ev = append(r.ev, Event{Kind: EventUpdate, Update: u})
}

func (r *Reference) final(o *OrderState, st Status, why Reason) {
	r.update(o, st, why)
	r.drop(o)
}

func live(filled int64) Status {
	if filled == 0 {
		return StatusNew
	}
	return StatusPartiallyFilled
}

// select returns the live orders at loc satisfying keep, sorted by sequence.
func (r *Reference) selectOrders(keep func(*OrderState) bool) []*OrderState {
	var out []*OrderState
	for _, o := range r.orders {
		if keep(o) {
			out = append(out, o)
		}
	}
	slices.SortFunc(out, func(a, b *OrderState) int { return cmpU64(a.Seq, b.Seq) })
	return out
}

// makers returns the resting orders of side s in priority order.
func (r *Reference) makers(s Side) []*OrderState {
	out := r.selectOrders(func(o *OrderState) bool { return o.Location == InBook && o.Order.Side == s })
	slices.SortStableFunc(out, func(a, b *OrderState) int {
		if a.Order.Price == b.Order.Price {
			return 0
		}
		better := a.Order.Price < b.Order.Price // sell: lower is better
		if s == Buy {
			better = !better
		}
		if better {
			return -1
		}
		return 1
	})
	return out
}

func (r *Reference) exhausted() bool { return r.bud.MaxFills > 0 && r.fills >= r.bud.MaxFills }

// Process implements [Engine].
func (r *Reference) Process(now int64, orders []Order, budget Budget) Result {
	r.ev, r.fills, r.bud = nil, 0, budget
	n := r.run(now, orders)
	return r.result(n)
}

func (r *Reference) result(consumed int) Result {
	pending := len(r.selectOrders(func(o *OrderState) bool { return o.Location == InQueue })) > 0
	res := Result{Events: r.ev, Consumed: consumed, Pending: pending}
	if res.Events == nil {
		res.Events = []Event{}
	}
	r.ev = nil
	return res
}

func (r *Reference) run(now int64, orders []Order) int {
	consumed := 0
	for {
		queue := r.selectOrders(func(o *OrderState) bool { return o.Location == InQueue })
		if len(queue) > 0 {
			if !r.take(queue[0], now, false) {
				return consumed
			}
			continue
		}
		if consumed == len(orders) || (r.bud.MaxOrders > 0 && consumed >= r.bud.MaxOrders) || r.exhausted() {
			return consumed
		}
		o := orders[consumed]
		consumed++
		switch {
		case r.cfg.Validate(o) != nil:
			r.ev = append(r.ev, Event{Kind: EventUpdate, Update: OrderUpdate{OrderID: o.ID, Account: o.Account,
				Side: o.Side, Status: StatusRejected, Reason: ReasonInvalid, Price: o.Price, Qty: o.Qty}})
		case r.find(o.ID) != nil:
			r.ev = append(r.ev, Event{Kind: EventUpdate, Update: OrderUpdate{OrderID: o.ID, Account: o.Account,
				Side: o.Side, Status: StatusRejected, Reason: ReasonDuplicateID, Price: o.Price, Qty: o.Qty}})
		default:
			r.enter(o, now)
		}
	}
}

func (r *Reference) enter(o Order, now int64) {
	if o.TIF == GTT && now >= o.ExpireTime {
		r.ev = append(r.ev, Event{Kind: EventUpdate, Update: OrderUpdate{OrderID: o.ID, Account: o.Account,
			Side: o.Side, Status: StatusExpired, Reason: ReasonExpired, Price: o.Price, Qty: o.Qty}})
		return
	}
	r.seq++
	st := &OrderState{Order: o, Seq: r.seq, Location: InQueue}
	r.orders = append(r.orders, st)
	if o.Type == Stop || o.Type == StopLimit {
		st.Location = InStopBook
		r.update(st, StatusNew, ReasonNone)
		r.trigger(r.last)
	}
}

// trigger moves every waiting stop satisfied by price p to the queue, in sequence order.
func (r *Reference) trigger(p int64) {
	if p == 0 {
		return
	}
	hit := r.selectOrders(func(o *OrderState) bool {
		if o.Location != InStopBook {
			return false
		}
		if o.Order.Side == Buy {
			return p >= o.Order.StopPrice
		}
		return p <= o.Order.StopPrice
	})
	for _, o := range hit {
		r.seq++
		o.Seq = r.seq
		o.Location = InQueue
		r.update(o, StatusNew, ReasonTriggered)
	}
}

// canAfford returns how many lots at price p taker t may still buy under its cap.
func canAfford(t *OrderState, p int64) int64 {
	if t.Order.MaxNotional == 0 {
		return 1 << 62
	}
	return (t.Order.MaxNotional - t.FilledNotional) / p
}

func expiredAt(o *OrderState, now int64) bool {
	return o.Order.TIF == GTT && now >= o.Order.ExpireTime
}

// take runs taker t (the queue head). It returns false when paused by the budget. With trial
// set it ignores FOK (used to decide FOK on a copy).
func (r *Reference) take(t *OrderState, now int64, trial bool) bool {
	if expiredAt(t, now) {
		r.final(t, StatusExpired, ReasonExpired)
		return true
	}
	fok := t.Order.TIF == FOK
	if fok && !trial {
		c := r.clone()
		c.take(c.find(t.Order.ID), now, true)
		if c.lastTakerFilled != t.Order.Qty {
			r.final(t, StatusCanceled, ReasonFOKUnfilled)
			return true
		}
	}
	isMarket := t.Order.Type == Market || t.Order.Type == Stop
	var why Reason
	for t.Remaining() > 0 {
		mk := r.makers(t.Order.Side.Opposite())
		if len(mk) == 0 {
			break
		}
		p := mk[0].Order.Price
		if !isMarket && ((t.Order.Side == Buy && p > t.Order.Price) || (t.Order.Side == Sell && p < t.Order.Price)) {
			break
		}
		if r.cfg.Algorithm == ProRata {
			var lvl []*OrderState
			for _, m := range mk {
				if m.Order.Price == p {
					lvl = append(lvl, m)
				}
			}
			var alive []*OrderState
			for _, m := range lvl {
				if expiredAt(m, now) {
					r.final(m, StatusExpired, ReasonExpired)
				} else {
					alive = append(alive, m)
				}
			}
			if len(alive) == 0 {
				continue
			}
			if slices.ContainsFunc(alive, func(m *OrderState) bool { return m.Order.Account == t.Order.Account }) {
				why = ReasonSelfTrade
				break
			}
			if !fok && r.exhausted() {
				r.update(t, live(t.Filled), ReasonWorkCap)
				return false
			}
			var total int64
			for _, m := range alive {
				total += m.Remaining()
			}
			q := min(t.Remaining(), total, canAfford(t, p))
			if q <= 0 {
				why = ReasonNotionalCap
				break
			}
			alloc := make([]int64, len(alive))
			if q == total {
				for i, m := range alive {
					alloc[i] = m.Remaining()
				}
			} else {
				var given int64
				for i, m := range alive {
					x := new(big.Int).Mul(big.NewInt(q), big.NewInt(m.Remaining()))
					x.Quo(x, big.NewInt(total))
					alloc[i] = x.Int64()
					given += alloc[i]
				}
				for i := range alive {
					if given == q {
						break
					}
					if alloc[i] < alive[i].Remaining() {
						alloc[i]++
						given++
					}
				}
			}
			for i, m := range alive {
				if alloc[i] > 0 {
					r.trade(t, m, p, alloc[i])
				}
			}
			continue
		}
		m := mk[0]
		if expiredAt(m, now) {
			r.final(m, StatusExpired, ReasonExpired)
			continue
		}
		if m.Order.Account == t.Order.Account {
			why = ReasonSelfTrade
			break
		}
		if !fok && r.exhausted() {
			r.update(t, live(t.Filled), ReasonWorkCap)
			return false
		}
		q := min(t.Remaining(), m.Remaining(), canAfford(t, p))
		if q <= 0 {
			why = ReasonNotionalCap
			break
		}
		r.trade(t, m, p, q)
	}
	r.lastTakerFilled = t.Filled
	switch {
	case t.Remaining() == 0:
		r.final(t, StatusFilled, ReasonNone)
	case why != ReasonNone:
		r.final(t, StatusCanceled, why)
	case isMarket:
		r.final(t, StatusCanceled, ReasonNoLiquidity)
	case t.Order.TIF == IOC || fok:
		r.final(t, StatusCanceled, ReasonIOCRemainder)
	default:
		var total int64 = t.Remaining()
		for _, o := range r.orders {
			if o.Location == InBook && o.Order.Side == t.Order.Side && o.Order.Price == t.Order.Price {
				var ok bool
				if total, ok = addNonNeg(total, o.Remaining()); !ok {
					r.final(t, StatusCanceled, ReasonOverflow)
					return true
				}
			}
		}
		t.Location = InBook
		r.update(t, live(t.Filled), ReasonNone)
	}
	return true
}

func (r *Reference) trade(t, m *OrderState, p, q int64) {
	n := p * q // fits: p <= MaxPrice, q <= MaxQty
	r.tradeSeq++
	r.last = p
	r.fills++
	t.Filled += q
	t.FilledNotional += n
	m.Filled += q
	m.FilledNotional += n
	r.ev = append(r.ev, Event{Kind: EventTrade, Trade: Trade{Seq: r.tradeSeq, Price: p, Qty: q, TakerSide: t.Order.Side,
		MakerOrderID: m.Order.ID, MakerAccount: m.Order.Account, TakerOrderID: t.Order.ID, TakerAccount: t.Order.Account}})
	if m.Remaining() == 0 {
		r.final(m, StatusFilled, ReasonNone)
	} else {
		r.update(m, StatusPartiallyFilled, ReasonNone)
	}
	r.trigger(p)
}

func (r *Reference) clone() *Reference {
	c := *r
	c.orders = make([]*OrderState, len(r.orders))
	for i, o := range r.orders {
		x := *o
		c.orders[i] = &x
	}
	c.ev = nil
	return &c
}

// Submit implements [Engine].
func (r *Reference) Submit(now int64, o Order) (Result, error) {
	if err := r.cfg.Validate(o); err != nil {
		return Result{}, err
	}
	if r.find(o.ID) != nil {
		return Result{}, ErrDuplicateOrder
	}
	return r.Process(now, []Order{o}, Unlimited), nil
}

// Cancel implements [Engine].
func (r *Reference) Cancel(id string) (Result, error) {
	o := r.find(id)
	if o == nil {
		return Result{}, ErrUnknownOrder
	}
	r.ev = nil
	r.final(o, StatusCanceled, ReasonCanceled)
	return r.result(0), nil
}

// Replace implements [Engine] with the rules of [Book.Replace].
func (r *Reference) Replace(now int64, id string, a Amend, budget Budget) (Result, error) {
	o := r.find(id)
	if o == nil {
		return Result{}, ErrUnknownOrder
	}
	if o.Location == InQueue {
		return Result{}, ErrNotAmendable
	}
	if o.Location == InBook && o.Order.Type == StopLimit && a.StopPrice != o.Order.StopPrice {
		return Result{}, invalid("StopPrice", "cannot change after the stop has triggered")
	}
	nw := o.Order
	nw.Price, nw.StopPrice, nw.Qty = a.Price, a.StopPrice, a.Qty
	if err := r.cfg.Validate(nw); err != nil {
		return Result{}, err
	}
	r.ev, r.fills, r.bud = nil, 0, budget
	keep := nw.Price == o.Order.Price && nw.StopPrice == o.Order.StopPrice && nw.Qty <= o.Order.Qty
	if nw.Qty <= o.Filled {
		r.final(o, StatusCanceled, ReasonReplaced)
		return r.result(0), nil
	}
	o.Order = nw
	switch {
	case keep:
		r.update(o, live(o.Filled), ReasonReplaced)
	default:
		r.seq++
		o.Seq = r.seq
		if o.Location == InStopBook {
			r.update(o, StatusNew, ReasonReplaced)
			r.trigger(r.last)
		} else {
			o.Location = InQueue
			r.update(o, live(o.Filled), ReasonReplaced)
		}
		r.run(now, nil)
	}
	return r.result(0), nil
}

// Expire implements [Engine].
func (r *Reference) Expire(now int64) Result {
	r.ev = nil
	for _, o := range r.selectOrders(func(o *OrderState) bool { return expiredAt(o, now) }) {
		r.final(o, StatusExpired, ReasonExpired)
	}
	return r.result(0)
}

// Snapshot implements [Engine].
func (r *Reference) Snapshot() State {
	s := State{Seq: r.seq, TradeSeq: r.tradeSeq, LastPrice: r.last, Orders: []OrderState{}}
	for _, o := range r.selectOrders(func(*OrderState) bool { return true }) {
		s.Orders = append(s.Orders, *o)
	}
	return s
}

// Restore implements [Engine].
func (r *Reference) Restore(s State) error {
	orders, err := checkState(r.cfg, s)
	if err != nil {
		return err
	}
	r.orders = nil
	for _, o := range orders {
		x := o
		r.orders = append(r.orders, &x)
	}
	r.seq, r.tradeSeq, r.last = s.Seq, s.TradeSeq, s.LastPrice
	return nil
}

// Depth implements [Engine].
func (r *Reference) Depth(side Side, n int) []Level {
	out := []Level{}
	for _, m := range r.makers(side) {
		if k := len(out); k > 0 && out[k-1].Price == m.Order.Price {
			out[k-1].Qty += m.Remaining()
			out[k-1].Orders++
			continue
		}
		out = append(out, Level{Price: m.Order.Price, Qty: m.Remaining(), Orders: 1})
	}
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out
}

// Get implements [Engine].
func (r *Reference) Get(id string) (OrderState, bool) {
	o := r.find(id)
	if o == nil {
		return OrderState{}, false
	}
	return *o, true
}
