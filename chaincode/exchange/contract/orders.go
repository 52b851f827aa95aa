package contract

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/fabmarket/fabmarket/chaincode/exchange/book"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// StatusPending is the status of an order accepted by SubmitOrder that no Match has taken
// yet. The other statuses are those of the book: NEW, PARTIALLY_FILLED, FILLED, CANCELED,
// EXPIRED, REJECTED.
const StatusPending = "PENDING"

// OrderRequest is the argument of SubmitOrder (JSON; unknown fields are refused). Prices are
// ticks, quantities lots, MaxNotional minor units of the instrument's currency, ExpireTime RFC
// 3339. TimeInForce defaults to GTC (IOC for MARKET and STOP).
type OrderRequest struct {
	Account       string `json:"account"`
	Symbol        string `json:"symbol"`
	ClientOrderID string `json:"clientOrderId"`
	Side          string `json:"side"`
	Type          string `json:"type"`
	TimeInForce   string `json:"timeInForce"`
	Price         int64  `json:"price"`
	StopPrice     int64  `json:"stopPrice"`
	Quantity      int64  `json:"quantity"`
	MaxNotional   int64  `json:"maxNotional"`
	ExpireTime    string `json:"expireTime"`
}

// ReplaceRequest is the argument of ReplaceOrder: the new total quantity (filled lots
// included) and limit / stop price; a zero field keeps the order's current value.
type ReplaceRequest struct {
	Quantity  int64 `json:"quantity"`
	Price     int64 `json:"price"`
	StopPrice int64 `json:"stopPrice"`
}

// Order is an order as stored and returned: the definition as submitted (Price, StopPrice and
// Quantity as last replaced), its matching state, and its outstanding reservation (Reserved
// units of ReservedAsset, released when the order ends).
type Order struct {
	OrderID           string    `json:"orderId"`
	ClientOrderID     string    `json:"clientOrderId,omitempty"`
	Account           string    `json:"account"`
	Org               string    `json:"org"`
	Symbol            string    `json:"symbol"`
	Side              string    `json:"side"`
	Type              string    `json:"type"`
	TimeInForce       string    `json:"timeInForce"`
	Price             int64     `json:"price"`
	StopPrice         int64     `json:"stopPrice"`
	Quantity          int64     `json:"quantity"`
	MaxNotional       int64     `json:"maxNotional"`
	ExpireTime        time.Time `json:"expireTime,omitzero"`
	Status            string    `json:"status"`
	Reason            string    `json:"reason,omitempty"`
	FilledQuantity    int64     `json:"filledQuantity"`
	RemainingQuantity int64     `json:"remainingQuantity"`
	FilledNotional    int64     `json:"filledNotional"`
	FilledCash        int64     `json:"filledCash"`
	ReservedAsset     string    `json:"reservedAsset"`
	Reserved          int64     `json:"reserved"`
	Seq               uint64    `json:"seq,omitempty"`
	Location          string    `json:"location,omitempty"`
	SubmittedAt       time.Time `json:"submittedAt"`
	UpdatedAt         time.Time `json:"updatedAt"`
}

func (o *Order) final() bool {
	switch o.Status {
	case "FILLED", "CANCELED", "EXPIRED", "REJECTED":
		return true
	}
	return false
}

func parseSide(s string) (book.Side, bool) {
	switch s {
	case "BUY":
		return book.Buy, true
	case "SELL":
		return book.Sell, true
	}
	return 0, false
}

func parseType(s string) (book.OrderType, bool) {
	switch s {
	case "MARKET":
		return book.Market, true
	case "LIMIT":
		return book.Limit, true
	case "STOP":
		return book.Stop, true
	case "STOP_LIMIT":
		return book.StopLimit, true
	}
	return 0, false
}

func parseTIF(s string) (book.TimeInForce, bool) {
	switch s {
	case "GTC":
		return book.GTC, true
	case "IOC":
		return book.IOC, true
	case "FOK":
		return book.FOK, true
	case "GTT":
		return book.GTT, true
	}
	return 0, false
}

// bookOrder converts a stored order to the matching core's form. The cash cap of a MARKET or
// STOP BUY becomes a notional cap in tick-lots, rounded down, so fills never cost more cash
// than was reserved.
func bookOrder(o *Order, cpl int64) book.Order {
	side, _ := parseSide(o.Side)
	typ, _ := parseType(o.Type)
	tif, _ := parseTIF(o.TimeInForce)
	bo := book.Order{ID: o.OrderID, Account: o.Account, Side: side, Type: typ, TIF: tif,
		Price: o.Price, StopPrice: o.StopPrice, Qty: o.Quantity}
	if o.MaxNotional > 0 && cpl > 0 {
		bo.MaxNotional = o.MaxNotional / cpl
	}
	if !o.ExpireTime.IsZero() {
		bo.ExpireTime = o.ExpireTime.UnixNano()
	}
	return bo
}

// marketBuy reports whether a BUY order is capped by MaxNotional instead of a limit price.
func (o *Order) marketBuy() bool {
	return o.Side == "BUY" && (o.Type == "MARKET" || o.Type == "STOP")
}

// required returns the reservation a live order needs for its remaining quantity: the lots
// of a SELL, limit price × remaining × cash per lot-tick for a limit BUY; a MARKET or STOP BUY
// keeps what it has (its cap).
func (o *Order) required(cpl int64) (int64, bool) {
	switch {
	case o.Side == "SELL":
		return o.RemainingQuantity, true
	case o.marketBuy():
		return o.Reserved, true
	}
	return mul3(o.Price, o.RemainingQuantity, cpl)
}

// bookFields maps the matching core's field names to the request's.
var bookFields = map[string]string{
	"ID": "orderId", "Account": "account", "Side": "side", "Type": "type", "TIF": "timeInForce",
	"Qty": "quantity", "Price": "price", "StopPrice": "stopPrice", "ExpireTime": "expireTime",
	"MaxNotional": "maxNotional",
}

func bookValidationErr(err error) error {
	var ve *book.ValidationError
	if errors.As(err, &ve) {
		f := bookFields[ve.Field]
		if f == "" {
			f = ve.Field
		}
		return invalidArg(f, "%s", ve.Reason)
	}
	return invalidArg("order", "%v", err)
}

// decodeStrict decodes one JSON object, refusing unknown fields and trailing data.
func decodeStrict(field, s string, v any) error {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return invalidArg(field, "not a valid JSON request: %v", err)
	}
	if dec.More() {
		return invalidArg(field, "trailing data after the JSON object")
	}
	return nil
}

// newOrder validates a request against the instrument and builds the order (status PENDING,
// without reservation).
func (t *txn) newOrder(req *OrderRequest, acct *Account, ins *Instrument) (*Order, error) {
	if req.ClientOrderID != "" {
		if err := checkIdent("clientOrderId", req.ClientOrderID, 64); err != nil {
			return nil, err
		}
	}
	side, ok := parseSide(req.Side)
	if !ok {
		return nil, invalidArg("side", "%q: must be BUY or SELL", req.Side)
	}
	typ, ok := parseType(req.Type)
	if !ok {
		return nil, invalidArg("type", "%q: must be MARKET, LIMIT, STOP or STOP_LIMIT", req.Type)
	}
	if req.TimeInForce == "" {
		req.TimeInForce = "GTC"
		if typ == book.Market || typ == book.Stop {
			req.TimeInForce = "IOC"
		}
	}
	tif, ok := parseTIF(req.TimeInForce)
	if !ok {
		return nil, invalidArg("timeInForce", "%q: must be GTC, IOC, FOK or GTT", req.TimeInForce)
	}
	if req.Quantity <= 0 {
		return nil, invalidArg("quantity", "must be a positive number of lots")
	}
	hasLimit := typ == book.Limit || typ == book.StopLimit
	if hasLimit && req.Price <= 0 {
		return nil, invalidArg("price", "required (a positive number of ticks) for %s", req.Type)
	}
	if !hasLimit && req.Price != 0 {
		return nil, invalidArg("price", "must be omitted for %s", req.Type)
	}
	isStop := typ == book.Stop || typ == book.StopLimit
	if isStop && req.StopPrice <= 0 {
		return nil, invalidArg("stopPrice", "required (a positive number of ticks) for %s", req.Type)
	}
	if !isStop && req.StopPrice != 0 {
		return nil, invalidArg("stopPrice", "must be omitted for %s", req.Type)
	}
	var expire time.Time
	if tif == book.GTT {
		if req.ExpireTime == "" {
			return nil, invalidArg("expireTime", "required for GTT")
		}
		ts, err := time.Parse(time.RFC3339Nano, req.ExpireTime)
		if err != nil {
			return nil, invalidArg("expireTime", "%q is not an RFC 3339 time", req.ExpireTime)
		}
		if !ts.After(t.now) {
			return nil, invalidArg("expireTime", "%s is not in the future", req.ExpireTime)
		}
		expire = ts.UTC()
	} else if req.ExpireTime != "" {
		return nil, invalidArg("expireTime", "only for timeInForce GTT")
	}
	cpl := ins.CashPerLotTick
	capped := side == book.Buy && (typ == book.Market || typ == book.Stop)
	if capped && req.MaxNotional < cpl {
		return nil, invalidArg("maxNotional", "required for a %s BUY: the cash cap in minor units of %s, at least %d (one lot at one tick)", req.Type, ins.Currency, cpl)
	}
	if !capped && req.MaxNotional != 0 {
		return nil, invalidArg("maxNotional", "only for a MARKET or STOP BUY")
	}
	o := &Order{
		OrderID: t.id, ClientOrderID: req.ClientOrderID, Account: acct.AccountID, Org: acct.Org,
		Symbol: ins.Symbol, Side: req.Side, Type: req.Type, TimeInForce: req.TimeInForce,
		Price: req.Price, StopPrice: req.StopPrice, Quantity: req.Quantity, MaxNotional: req.MaxNotional,
		ExpireTime: expire, Status: StatusPending, RemainingQuantity: req.Quantity,
		SubmittedAt: t.now, UpdatedAt: t.now,
	}
	cfg, err := book.NewConfig(ins.bookConfig())
	if err != nil {
		return nil, internal("instrument %s: %v", ins.Symbol, err)
	}
	if err := cfg.Validate(bookOrder(o, cpl)); err != nil {
		return nil, bookValidationErr(err)
	}
	o.ReservedAsset, o.Reserved = ins.Currency, req.MaxNotional
	switch {
	case side == book.Sell:
		o.ReservedAsset, o.Reserved = ins.Symbol, req.Quantity
	case !capped:
		r, ok := mul3(req.Price, req.Quantity, cpl)
		if !ok {
			return nil, invalidArg("quantity", "price × quantity in minor units of %s overflows", ins.Currency)
		}
		o.Reserved = r
	}
	return o, nil
}

// sameRequest reports whether an existing order was made by an identical request.
func sameRequest(o, n *Order) bool {
	return o.Account == n.Account && o.Symbol == n.Symbol && o.Side == n.Side && o.Type == n.Type &&
		o.TimeInForce == n.TimeInForce && o.MaxNotional == n.MaxNotional && o.ExpireTime.Equal(n.ExpireTime) &&
		o.StopPrice == n.StopPrice && o.Price == n.Price && o.Quantity == n.Quantity
}

// epochKey returns the intake/request key suffix EPOCH~TS~TXID of this transaction.
func (t *txn) epochKey() string {
	ns := t.now.UnixNano()
	return key(padI(ns/t.cfg.Epoch.Nanoseconds()), padI(ns), t.id)
}

// SubmitOrder enters an order (request: JSON [OrderRequest]). Only the account's org; channel
// market. It validates everything (a clear error naming the field, nothing written), reserves
// what the order could spend (BUY LIMIT/STOP_LIMIT: price × quantity in cash; MARKET/STOP BUY:
// maxNotional; SELL: the lots) and writes only the new order and the account's base balance:
// it never reads the book, so submits of different accounts never conflict. The order id is
// the transaction id. A request with a clientOrderId already used by the account returns the
// existing order unchanged (CONFLICT if the request differs). Returns the order (status
// PENDING until the next Match); event "OrderAccepted".
func (e *Exchange) SubmitOrder(ctx contractapi.TransactionContextInterface, request string) (string, error) {
	t, err := e.begin(ctx, onMarket)
	if err != nil {
		return "", err
	}
	var req OrderRequest
	if err := decodeStrict("request", request, &req); err != nil {
		return "", err
	}
	acct, err := t.ownAccount("account", req.Account)
	if err != nil {
		return "", err
	}
	ins, err := t.instrument("symbol", req.Symbol)
	if err != nil {
		return "", err
	}
	o, err := t.newOrder(&req, acct, ins)
	if err != nil {
		return "", err
	}
	if o.ClientOrderID != "" {
		ck := key(pClientID, o.Account, o.ClientOrderID)
		id, err := t.get(ck)
		if err != nil {
			return "", err
		}
		if id != nil {
			old, err := t.order(string(id))
			if err != nil {
				return "", err
			}
			if !sameRequest(old, o) {
				return "", conflict("clientOrderId %s of account %s is already used by order %s with other terms", o.ClientOrderID, o.Account, old.OrderID)
			}
			return jsonString(old) // idempotent retry: nothing written
		}
		t.pending[ck] = []byte(o.OrderID)
	}
	if err := t.reserve(o.Account, o.ReservedAsset, o.Reserved); err != nil {
		return "", err
	}
	if err := t.put(key(pOrder, o.OrderID), o); err != nil {
		return "", err
	}
	if err := t.put(key(pIntake, o.Symbol, t.epochKey()), o); err != nil {
		return "", err
	}
	t.pending[key(pAcctOrder, o.Account, padI(t.now.UnixNano()), o.OrderID)] = []byte(o.Symbol)
	t.event("OrderAccepted", o)
	if err := t.flush(); err != nil {
		return "", err
	}
	return jsonString(o)
}

// order returns the current state of an order: the Match-owned state if there is one, else
// the order as submitted (PENDING).
func (t *txn) order(id string) (*Order, error) {
	if err := checkIdent("orderId", id, 128); err != nil {
		return nil, err
	}
	o := &Order{}
	ok, err := t.getJSON(key(pOrderState, id), o)
	if err != nil {
		return nil, err
	}
	if ok {
		return o, nil
	}
	ok, err = t.getJSON(key(pOrder, id), o)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound("order %s does not exist", id)
	}
	return o, nil
}

// submitted returns the immutable submitted order (never a key Match writes).
func (t *txn) submitted(id string) (*Order, error) {
	if err := checkIdent("orderId", id, 128); err != nil {
		return nil, err
	}
	o := &Order{}
	ok, err := t.getJSON(key(pOrder, id), o)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound("order %s does not exist", id)
	}
	return o, nil
}

// Request kinds.
const (
	reqCancel  = "CANCEL"
	reqReplace = "REPLACE"
)

// pendingRequest is a cancel or replace request waiting for Match.
type pendingRequest struct {
	RequestID string    `json:"requestId"`
	Kind      string    `json:"kind"`
	OrderID   string    `json:"orderId"`
	Account   string    `json:"account"`
	Symbol    string    `json:"symbol"`
	Quantity  int64     `json:"quantity,omitempty"`
	Price     int64     `json:"price,omitempty"`
	StopPrice int64     `json:"stopPrice,omitempty"`
	Asset     string    `json:"asset,omitempty"`
	Extra     int64     `json:"extra,omitempty"` // additional reservation taken by ReplaceOrder
	Time      time.Time `json:"time"`
}

// CancelOrder asks the next Match to cancel an order (also one still PENDING in intake); the
// reservation is released when Match cancels it, and a request for an order that has ended
// meanwhile does nothing. Only the order's account org; channel market. It reads only the
// immutable submitted order, so it never conflicts with Match. Returns {requestId, kind,
// orderId, ...}; event "CancelRequested".
func (e *Exchange) CancelOrder(ctx contractapi.TransactionContextInterface, orderID string) (string, error) {
	t, err := e.begin(ctx, onMarket)
	if err != nil {
		return "", err
	}
	o, err := t.submitted(orderID)
	if err != nil {
		return "", err
	}
	if o.Org != t.org {
		return "", forbidden("order %s belongs to account %s of %s", orderID, o.Account, o.Org)
	}
	r := &pendingRequest{RequestID: t.id, Kind: reqCancel, OrderID: o.OrderID, Account: o.Account, Symbol: o.Symbol, Time: t.now}
	if err := t.put(key(pRequest, o.Symbol, t.epochKey()), r); err != nil {
		return "", err
	}
	t.event("CancelRequested", r)
	if err := t.flush(); err != nil {
		return "", err
	}
	return jsonString(r)
}

// ReplaceOrder asks the next Match to amend an order (request: JSON [ReplaceRequest]): a lower
// quantity at the same prices keeps the time priority, a new price re-queues it, a quantity
// at or below the filled lots cancels it. MARKET orders cannot be replaced. When the new terms
// could need more than the order holds (a higher price or quantity), the full reservation of
// the new terms is taken now from the available balance (INSUFFICIENT_FUNDS otherwise) and
// Match releases what the amended order does not need, or all of it if the replace cannot
// apply. Only the order's account org; channel market. Event "ReplaceRequested".
func (e *Exchange) ReplaceOrder(ctx contractapi.TransactionContextInterface, orderID, request string) (string, error) {
	t, err := e.begin(ctx, onMarket)
	if err != nil {
		return "", err
	}
	var req ReplaceRequest
	if err := decodeStrict("request", request, &req); err != nil {
		return "", err
	}
	sub, err := t.submitted(orderID)
	if err != nil {
		return "", err
	}
	if sub.Org != t.org {
		return "", forbidden("order %s belongs to account %s of %s", orderID, sub.Account, sub.Org)
	}
	if sub.Type == "MARKET" {
		return "", invalidArg("orderId", "MARKET orders cannot be replaced")
	}
	// The current terms (Match's state if any; reading it may make this request conflict
	// with a Match, never the other way round).
	cur, err := t.order(orderID)
	if err != nil {
		return "", err
	}
	if cur.final() {
		return "", conflict("order %s is %s", orderID, cur.Status)
	}
	for _, f := range []struct {
		name string
		v    int64
	}{{"quantity", req.Quantity}, {"price", req.Price}, {"stopPrice", req.StopPrice}} {
		if f.v < 0 {
			return "", invalidArg(f.name, "must not be negative")
		}
	}
	if req.Quantity == 0 && req.Price == 0 && req.StopPrice == 0 {
		return "", invalidArg("request", "give a new quantity, price or stopPrice")
	}
	n := *cur
	if req.Quantity != 0 {
		n.Quantity = req.Quantity
	}
	if req.Price != 0 {
		if n.Type != "LIMIT" && n.Type != "STOP_LIMIT" {
			return "", invalidArg("price", "a %s order has no limit price", n.Type)
		}
		n.Price = req.Price
	}
	if req.StopPrice != 0 {
		if n.Type != "STOP" && n.Type != "STOP_LIMIT" {
			return "", invalidArg("stopPrice", "a %s order has no stop price", n.Type)
		}
		n.StopPrice = req.StopPrice
	}
	ins, err := t.instrument("symbol", sub.Symbol)
	if err != nil {
		return "", err
	}
	cfg, err := book.NewConfig(ins.bookConfig())
	if err != nil {
		return "", internal("instrument %s: %v", ins.Symbol, err)
	}
	if err := cfg.Validate(bookOrder(&n, ins.CashPerLotTick)); err != nil {
		return "", bookValidationErr(err)
	}
	r := &pendingRequest{RequestID: t.id, Kind: reqReplace, OrderID: sub.OrderID, Account: sub.Account, Symbol: sub.Symbol,
		Quantity: n.Quantity, Price: n.Price, StopPrice: n.StopPrice, Asset: sub.ReservedAsset, Time: t.now}
	// Extra reservation: none when the new terms cannot need more than the order holds.
	switch {
	case n.marketBuy(): // its reservation is the cash cap, which a replace does not change
	case n.Side == "SELL":
		if n.Quantity > cur.Quantity {
			r.Extra = n.Quantity
		}
	default:
		if n.Quantity > cur.Quantity || n.Price > cur.Price {
			x, ok := mul3(n.Price, n.Quantity, ins.CashPerLotTick)
			if !ok {
				return "", invalidArg("quantity", "price × quantity in minor units overflows")
			}
			r.Extra = x
		}
	}
	if r.Extra > 0 {
		if err := t.reserve(sub.Account, r.Asset, r.Extra); err != nil {
			return "", err
		}
	}
	if err := t.put(key(pRequest, sub.Symbol, t.epochKey()), r); err != nil {
		return "", err
	}
	t.event("ReplaceRequested", r)
	if err := t.flush(); err != nil {
		return "", err
	}
	return jsonString(r)
}

// GetOrder returns an order by id. The account's org and the Regulator; channel market.
func (e *Exchange) GetOrder(ctx contractapi.TransactionContextInterface, orderID string) (string, error) {
	t, err := e.beginQuery(ctx, onMarket)
	if err != nil {
		return "", err
	}
	o, err := t.order(orderID)
	if err != nil {
		return "", err
	}
	if o.Org != t.org && !t.isRegulator() {
		return "", forbidden("order %s belongs to %s", orderID, o.Org)
	}
	return jsonString(o)
}

// OrderPage is a page of ListOrders; Next is the cursor of the following page ("" at the end).
type OrderPage struct {
	Orders []*Order `json:"orders"`
	Next   string   `json:"next"`
}

// Page sizes of the list queries.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

func parseLimit(s string) (int, error) {
	if s == "" {
		return DefaultPageSize, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > MaxPageSize {
		return 0, invalidArg("limit", "%q: must be an integer in [1, %d]", s, MaxPageSize)
	}
	return n, nil
}

// ListOrders returns the orders of an account in submission order, optionally only those of
// one symbol and/or status ("" = any), after the cursor after ("" = from the start), at most
// limit ("" = 100, at most 1000). The account's org and the Regulator; channel market.
func (e *Exchange) ListOrders(ctx contractapi.TransactionContextInterface, accountID, symbol, status, after, limit string) (string, error) {
	t, err := e.beginQuery(ctx, onMarket)
	if err != nil {
		return "", err
	}
	if _, err := t.readableAccount("accountId", accountID); err != nil {
		return "", err
	}
	n, err := parseLimit(limit)
	if err != nil {
		return "", err
	}
	if symbol != "" {
		if err := checkSymbol("symbol", symbol); err != nil {
			return "", err
		}
	}
	switch status {
	case "", StatusPending, "NEW", "PARTIALLY_FILLED", "FILLED", "CANCELED", "EXPIRED", "REJECTED":
	default:
		return "", invalidArg("status", "%q is not an order status", status)
	}
	p := prefix(pAcctOrder, accountID)
	start := p
	if after != "" {
		ts, id, ok := strings.Cut(after, sep)
		if !ok || len(ts) != 20 || checkIdent("after", id, 128) != nil {
			return "", invalidArg("after", "%q is not a cursor returned by ListOrders", after)
		}
		start = p + after + "\x00"
	}
	page := OrderPage{Orders: []*Order{}}
	more := false
	// Stops at the first order past the page: a long history is not read to the end.
	err = t.each(start, prefixEnd(p), func(r kv) (bool, error) {
		if symbol != "" && string(r.Value) != symbol {
			return true, nil
		}
		o, err := t.order(lastPart(r.Key))
		if err != nil {
			return false, err
		}
		if status != "" && o.Status != status {
			return true, nil
		}
		if len(page.Orders) == n {
			more = true
			return false, nil
		}
		page.Orders = append(page.Orders, o)
		page.Next = strings.TrimPrefix(r.Key, p)
		return true, nil
	})
	if err != nil {
		return "", err
	}
	if !more {
		page.Next = ""
	}
	return jsonString(page)
}
