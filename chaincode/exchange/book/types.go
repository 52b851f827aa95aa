package book

import (
	"errors"
	"fmt"
	"math"
)

// Side is the side of an order.
type Side uint8

// Sides. The zero value is invalid.
const (
	Buy  Side = 1
	Sell Side = 2
)

// String returns "BUY" or "SELL".
func (s Side) String() string {
	switch s {
	case Buy:
		return "BUY"
	case Sell:
		return "SELL"
	}
	return fmt.Sprintf("Side(%d)", uint8(s))
}

// Opposite returns the other side.
func (s Side) Opposite() Side {
	if s == Buy {
		return Sell
	}
	return Buy
}

// OrderType is the type of an order.
type OrderType uint8

// Order types. The zero value is invalid.
const (
	Market    OrderType = 1 // executes at once against the book, never rests
	Limit     OrderType = 2 // executes up to Price, may rest
	Stop      OrderType = 3 // stop-loss: becomes Market when the last trade reaches StopPrice
	StopLimit OrderType = 4 // becomes Limit at Price when the last trade reaches StopPrice
)

// String returns "MARKET", "LIMIT", "STOP" or "STOP_LIMIT".
func (t OrderType) String() string {
	switch t {
	case Market:
		return "MARKET"
	case Limit:
		return "LIMIT"
	case Stop:
		return "STOP"
	case StopLimit:
		return "STOP_LIMIT"
	}
	return fmt.Sprintf("OrderType(%d)", uint8(t))
}

// TimeInForce says how long an order stays active.
type TimeInForce uint8

// Times in force. The zero value is invalid.
const (
	GTC TimeInForce = 1 // good till canceled
	IOC TimeInForce = 2 // immediate or cancel: the unfilled remainder is canceled
	FOK TimeInForce = 3 // fill or kill: fills completely at once, or is canceled with no fill
	GTT TimeInForce = 4 // good till time: expires when now >= ExpireTime
)

// String returns "GTC", "IOC", "FOK" or "GTT".
func (t TimeInForce) String() string {
	switch t {
	case GTC:
		return "GTC"
	case IOC:
		return "IOC"
	case FOK:
		return "FOK"
	case GTT:
		return "GTT"
	}
	return fmt.Sprintf("TimeInForce(%d)", uint8(t))
}

// Status is the state of an order as reported in an [OrderUpdate].
type Status uint8

// Order statuses. FILLED, CANCELED, EXPIRED and REJECTED are final.
const (
	StatusNew             Status = 1 // live, nothing filled
	StatusPartiallyFilled Status = 2 // live, partly filled
	StatusFilled          Status = 3 // final: completely filled
	StatusCanceled        Status = 4 // final: canceled (by request, STP, IOC/FOK/market rules)
	StatusExpired         Status = 5 // final: GTT time reached
	StatusRejected        Status = 6 // final: never entered the book (invalid, duplicate id)
)

// String returns the status name, e.g. "PARTIALLY_FILLED".
func (s Status) String() string {
	switch s {
	case StatusNew:
		return "NEW"
	case StatusPartiallyFilled:
		return "PARTIALLY_FILLED"
	case StatusFilled:
		return "FILLED"
	case StatusCanceled:
		return "CANCELED"
	case StatusExpired:
		return "EXPIRED"
	case StatusRejected:
		return "REJECTED"
	}
	return fmt.Sprintf("Status(%d)", uint8(s))
}

// Final reports whether no further update can follow.
func (s Status) Final() bool { return s >= StatusFilled }

// Reason explains an [OrderUpdate]. It is a stable, machine-readable code.
type Reason string

// Reasons.
const (
	ReasonNone         Reason = ""
	ReasonTriggered    Reason = "triggered"           // stop order triggered, queued for execution
	ReasonSelfTrade    Reason = "self-trade"          // taker remainder canceled by self-trade prevention
	ReasonFOKUnfilled  Reason = "fok-unfilled"        // FOK order could not fill completely: killed, no fill
	ReasonIOCRemainder Reason = "ioc-remainder"       // IOC limit remainder canceled
	ReasonNoLiquidity  Reason = "market-no-liquidity" // market remainder canceled: nothing left to take
	ReasonNotionalCap  Reason = "notional-cap"        // market buy remainder canceled: MaxNotional reached
	ReasonCanceled     Reason = "canceled"            // canceled on request (Cancel)
	ReasonReplaced     Reason = "replaced"            // changed by Replace (canceled if new qty <= filled)
	ReasonExpired      Reason = "expired"             // GTT time reached
	ReasonInvalid      Reason = "invalid"             // failed validation (see Config.Validate)
	ReasonDuplicateID  Reason = "duplicate-id"        // id of a live order
	ReasonWorkCap      Reason = "work-cap"            // paused by the Budget; resumes in the next call
	ReasonOverflow     Reason = "overflow"            // remainder canceled: a sum would overflow int64
)

// Location says where a live order is.
type Location uint8

// Locations of live orders.
const (
	InBook     Location = 1 // resting in the limit book (LIMIT, or triggered STOP_LIMIT)
	InStopBook Location = 2 // STOP / STOP_LIMIT waiting for its trigger
	InQueue    Location = 3 // in the work queue: paused taker, triggered stop, re-priced order
)

// String returns "BOOK", "STOP_BOOK" or "QUEUE".
func (l Location) String() string {
	switch l {
	case InBook:
		return "BOOK"
	case InStopBook:
		return "STOP_BOOK"
	case InQueue:
		return "QUEUE"
	}
	return fmt.Sprintf("Location(%d)", uint8(l))
}

// Algorithm is the matching algorithm of a book.
type Algorithm uint8

// Matching algorithms. The zero value means FIFO.
const (
	FIFO    Algorithm = 0 // price-time priority
	ProRata Algorithm = 1 // price, then pro-rata by resting quantity within a level
)

// Default limits used when the corresponding [Config] field is zero.
const (
	DefaultMaxPrice int64 = 1_000_000_000 // ticks
	DefaultMaxQty   int64 = 1_000_000_000 // lots
)

// Config is the per-book (per-instrument) configuration.
type Config struct {
	Algorithm Algorithm
	// MaxPrice bounds Price and StopPrice (ticks); 0 means DefaultMaxPrice.
	MaxPrice int64
	// MaxQty bounds Qty (lots); 0 means DefaultMaxQty. MaxPrice×MaxQty must fit in an int64.
	MaxQty int64
}

func (c Config) withDefaults() Config {
	if c.MaxPrice == 0 {
		c.MaxPrice = DefaultMaxPrice
	}
	if c.MaxQty == 0 {
		c.MaxQty = DefaultMaxQty
	}
	return c
}

// check validates the configuration (after defaults).
func (c Config) check() error {
	if c.Algorithm != FIFO && c.Algorithm != ProRata {
		return fmt.Errorf("%w: Algorithm %d unknown", ErrInvalidConfig, c.Algorithm)
	}
	if c.MaxPrice < 1 {
		return fmt.Errorf("%w: MaxPrice must be positive", ErrInvalidConfig)
	}
	if c.MaxQty < 1 {
		return fmt.Errorf("%w: MaxQty must be positive", ErrInvalidConfig)
	}
	if _, err := Notional(c.MaxPrice, c.MaxQty); err != nil {
		return fmt.Errorf("%w: MaxPrice×MaxQty: %w", ErrInvalidConfig, err)
	}
	return nil
}

// Order is an order as submitted. Prices are ticks, quantities lots, times Unix nanoseconds.
type Order struct {
	ID      string // unique among live orders; required
	Account string // owner, used for self-trade prevention; required
	Side    Side
	Type    OrderType
	TIF     TimeInForce
	// Price is the limit price: required for LIMIT and STOP_LIMIT, must be 0 otherwise.
	Price int64
	// StopPrice is the trigger price: required for STOP and STOP_LIMIT, must be 0 otherwise.
	StopPrice int64
	// Qty is the total quantity, 1..MaxQty.
	Qty int64
	// MaxNotional caps Σ price×qty of the fills of a MARKET or STOP BUY (required > 0 for
	// those); must be 0 for every other order.
	MaxNotional int64
	// ExpireTime is required (> 0) for GTT, must be 0 otherwise.
	ExpireTime int64
}

// Trade is one fill between a taker (incoming) and a maker (resting) order.
type Trade struct {
	Seq          uint64 // trade sequence of the book, 1, 2, ...
	Price        int64  // the maker's price
	Qty          int64
	TakerSide    Side // the aggressor side
	MakerOrderID string
	MakerAccount string
	TakerOrderID string
	TakerAccount string
}

// BuyOrderID returns the id of the buying order.
func (t Trade) BuyOrderID() string {
	if t.TakerSide == Buy {
		return t.TakerOrderID
	}
	return t.MakerOrderID
}

// SellOrderID returns the id of the selling order.
func (t Trade) SellOrderID() string {
	if t.TakerSide == Sell {
		return t.TakerOrderID
	}
	return t.MakerOrderID
}

// BuyAccount returns the buyer's account.
func (t Trade) BuyAccount() string {
	if t.TakerSide == Buy {
		return t.TakerAccount
	}
	return t.MakerAccount
}

// SellAccount returns the seller's account.
func (t Trade) SellAccount() string {
	if t.TakerSide == Sell {
		return t.TakerAccount
	}
	return t.MakerAccount
}

// OrderUpdate is the state of one order after something happened to it.
type OrderUpdate struct {
	OrderID   string
	Account   string
	Side      Side
	Status    Status
	Reason    Reason
	Seq       uint64 // current sequence number; 0 if the order was never accepted
	Price     int64  // current limit price (changes on Replace); 0 for market/stop
	Qty       int64  // current total quantity (changes on Replace)
	Filled    int64  // cumulative filled lots
	Remaining int64  // open lots; 0 once the status is final
	// FilledNotional is the cumulative Σ price×qty of the order's fills.
	FilledNotional int64
}

// EventKind tells which field of an [Event] is set.
type EventKind uint8

// Event kinds.
const (
	EventTrade  EventKind = 1
	EventUpdate EventKind = 2
)

// Event is a trade or an order update.
type Event struct {
	Kind   EventKind
	Trade  Trade       // set when Kind == EventTrade
	Update OrderUpdate // set when Kind == EventUpdate
}

// Result is the output of one operation.
type Result struct {
	// Events are the trades and order updates in the order they happened.
	Events []Event
	// Consumed is how many of the input orders were taken (accepted, rejected or expired);
	// the caller must pass the rest again in the next call.
	Consumed int
	// Pending reports work left in the queue (a paused taker or triggered stops): call
	// Process again (new input is taken only after the queue is empty).
	Pending bool
}

// Trades returns the trades of r in order.
func (r Result) Trades() []Trade {
	var out []Trade
	for i := range r.Events {
		if r.Events[i].Kind == EventTrade {
			out = append(out, r.Events[i].Trade)
		}
	}
	return out
}

// Updates returns the order updates of r in order.
func (r Result) Updates() []OrderUpdate {
	var out []OrderUpdate
	for i := range r.Events {
		if r.Events[i].Kind == EventUpdate {
			out = append(out, r.Events[i].Update)
		}
	}
	return out
}

// Budget bounds the work of one call. A field <= 0 means unlimited.
type Budget struct {
	MaxOrders int // input orders taken
	MaxFills  int // trades (soft for FOK orders and pro-rata levels, see the package doc)
}

// Unlimited is a Budget without bounds.
var Unlimited = Budget{}

// Amend is the new definition of an order in [Engine.Replace]. Every field is the new value
// (not a delta, not "0 = unchanged").
type Amend struct {
	Price     int64 // new limit price (LIMIT, STOP_LIMIT); must be 0 for STOP
	StopPrice int64 // new stop price (waiting STOP, STOP_LIMIT); unchanged once triggered
	Qty       int64 // new TOTAL quantity (filled lots included), as FIX OrderQty
}

// Level is one aggregated price level.
type Level struct {
	Price  int64
	Qty    int64 // total remaining lots
	Orders int
}

// OrderState is a live order with everything needed to restore it.
type OrderState struct {
	Order          Order // as submitted, with Price/StopPrice/Qty as last replaced
	Seq            uint64
	Filled         int64
	FilledNotional int64
	Location       Location
}

// Remaining returns the open quantity.
func (o OrderState) Remaining() int64 { return o.Order.Qty - o.Filled }

// State is the complete restorable state of a book.
type State struct {
	Seq       uint64 // last order sequence number assigned (0: none yet)
	TradeSeq  uint64 // last trade sequence number assigned
	LastPrice int64  // last trade price (0: no trade yet)
	// Orders are all live orders, in ascending Seq.
	Orders []OrderState
}

// Engine is the matching API implemented by [Book] (fast) and [Reference] (naive).
type Engine interface {
	// Process takes input orders in arrival order, after finishing queued work, within the
	// budget. Invalid orders are REJECTED (see Config.Validate), duplicates REJECTED.
	Process(now int64, orders []Order, budget Budget) Result
	// Submit validates o (returning a *ValidationError or ErrDuplicateOrder and changing
	// nothing), then processes it with an unlimited budget.
	Submit(now int64, o Order) (Result, error)
	// Cancel cancels a live order (ErrUnknownOrder if there is none with that id).
	Cancel(id string) (Result, error)
	// Replace amends a live order in the book or the stop book; see Book.Replace.
	Replace(now int64, id string, a Amend, budget Budget) (Result, error)
	// Expire expires every live GTT order with ExpireTime <= now, in sequence order.
	Expire(now int64) Result
	// Snapshot returns the state, orders in ascending sequence.
	Snapshot() State
	// Restore replaces the state (ErrInvalidState wrapped with details on bad input).
	Restore(s State) error
	// Depth returns up to n aggregated levels of a side, best first (n <= 0: all).
	Depth(side Side, n int) []Level
	// Get returns the live order with that id.
	Get(id string) (OrderState, bool)
}

// Errors. Use errors.Is; detailed errors wrap them.
var (
	ErrInvalidOrder   = errors.New("book: invalid order")
	ErrInvalidConfig  = errors.New("book: invalid config")
	ErrInvalidState   = errors.New("book: invalid state")
	ErrDuplicateOrder = errors.New("book: duplicate order id")
	ErrUnknownOrder   = errors.New("book: unknown order id")
	ErrNotAmendable   = errors.New("book: order cannot be amended where it is")
	ErrOverflow       = errors.New("book: int64 overflow")
	ErrNegative       = errors.New("book: negative operand")
)

// ValidationError names the offending field of an order. It matches ErrInvalidOrder.
type ValidationError struct {
	Field  string // e.g. "Price"
	Reason string // what is wrong
}

// Error implements error.
func (e *ValidationError) Error() string {
	return "book: invalid order: " + e.Field + ": " + e.Reason
}

// Is makes errors.Is(err, ErrInvalidOrder) true.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalidOrder }

func invalid(field, reason string) error { return &ValidationError{Field: field, Reason: reason} }

// Notional returns price×qty for non-negative operands, or ErrOverflow / ErrNegative.
func Notional(price, qty int64) (int64, error) {
	if price < 0 || qty < 0 {
		return 0, ErrNegative
	}
	p, ok := mulNonNeg(price, qty)
	if !ok {
		return 0, ErrOverflow
	}
	return p, nil
}

// mulNonNeg multiplies non-negative a and b, reporting overflow.
func mulNonNeg(a, b int64) (int64, bool) {
	if a == 0 || b == 0 {
		return 0, true
	}
	if a > math.MaxInt64/b {
		return 0, false
	}
	return a * b, true
}

// addNonNeg adds non-negative a and b, reporting overflow.
func addNonNeg(a, b int64) (int64, bool) {
	if a > math.MaxInt64-b {
		return 0, false
	}
	return a + b, true
}

// NewConfig returns cfg with defaults filled in, or an error wrapping ErrInvalidConfig.
func NewConfig(cfg Config) (Config, error) {
	cfg = cfg.withDefaults()
	if err := cfg.check(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// Validate checks an order against the configuration (defaults applied to zero limits) and
// returns a *ValidationError naming the first offending field, or nil. It does not look at the
// clock: a GTT order whose ExpireTime has passed is valid here and EXPIRED when processed.
func (c Config) Validate(o Order) error {
	c = c.withDefaults()
	if o.ID == "" {
		return invalid("ID", "required")
	}
	if o.Account == "" {
		return invalid("Account", "required")
	}
	if o.Side != Buy && o.Side != Sell {
		return invalid("Side", "must be BUY or SELL")
	}
	if o.Type < Market || o.Type > StopLimit {
		return invalid("Type", "must be MARKET, LIMIT, STOP or STOP_LIMIT")
	}
	if o.TIF < GTC || o.TIF > GTT {
		return invalid("TIF", "must be GTC, IOC, FOK or GTT")
	}
	if o.Qty < 1 || o.Qty > c.MaxQty {
		return invalid("Qty", fmt.Sprintf("must be in [1, %d]", c.MaxQty))
	}
	hasLimit := o.Type == Limit || o.Type == StopLimit
	if hasLimit {
		if o.Price < 1 || o.Price > c.MaxPrice {
			return invalid("Price", fmt.Sprintf("must be in [1, %d]", c.MaxPrice))
		}
	} else if o.Price != 0 {
		return invalid("Price", "must be 0 for "+o.Type.String())
	}
	if o.Type == Stop || o.Type == StopLimit {
		if o.StopPrice < 1 || o.StopPrice > c.MaxPrice {
			return invalid("StopPrice", fmt.Sprintf("must be in [1, %d]", c.MaxPrice))
		}
	} else if o.StopPrice != 0 {
		return invalid("StopPrice", "must be 0 for "+o.Type.String())
	}
	if o.Type == Market && o.TIF != IOC && o.TIF != FOK {
		return invalid("TIF", "MARKET orders must be IOC or FOK")
	}
	if o.TIF == GTT {
		if o.ExpireTime <= 0 {
			return invalid("ExpireTime", "required for GTT")
		}
	} else if o.ExpireTime != 0 {
		return invalid("ExpireTime", "must be 0 unless TIF is GTT")
	}
	needsCap := o.Side == Buy && (o.Type == Market || o.Type == Stop)
	if needsCap {
		if o.MaxNotional < 1 {
			return invalid("MaxNotional", "required (> 0) for a MARKET or STOP BUY")
		}
	} else if o.MaxNotional != 0 {
		return invalid("MaxNotional", "only for a MARKET or STOP BUY")
	}
	if hasLimit {
		if _, err := Notional(o.Price, o.Qty); err != nil {
			return invalid("Qty", "Price×Qty overflows int64")
		}
	}
	return nil
}

// isMarket reports whether the order executes without a limit price once active.
func (o *Order) isMarket() bool { return o.Type == Market || o.Type == Stop }

// isStop reports whether the order waits for a trigger.
func (o *Order) isStop() bool { return o.Type == Stop || o.Type == StopLimit }

// crosses reports whether an active order with limit (if any) can trade at price p.
func (o *Order) crosses(p int64) bool {
	if o.isMarket() {
		return true
	}
	if o.Side == Buy {
		return p <= o.Price
	}
	return p >= o.Price
}

// stopTriggered reports whether a waiting stop triggers at last trade price p (p > 0).
func (o *Order) stopTriggered(p int64) bool {
	if p <= 0 {
		return false
	}
	if o.Side == Buy {
		return p >= o.StopPrice
	}
	return p <= o.StopPrice
}

// statusOf returns the live status for a filled quantity.
func statusOf(filled int64) Status {
	if filled > 0 {
		return StatusPartiallyFilled
	}
	return StatusNew
}

// affordable returns how many lots at price p a market buy with cap and used notional may
// still take (MaxInt64 when the order has no cap).
func affordable(o *Order, used, p int64) int64 {
	if o.MaxNotional == 0 || o.Side != Buy {
		return math.MaxInt64
	}
	return (o.MaxNotional - used) / p
}
