package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/fabmarket/fabmarket/chaincode/exchange/units"
	"github.com/gin-gonic/gin"
)

// IdempotencyKeyHeader names the header that makes a write idempotent.
const IdempotencyKeyHeader = "Idempotency-Key"

// Request bodies of the REST contract. Every number is a decimal string.
type (
	instrumentBody struct {
		Symbol   string `json:"symbol"`
		Currency string `json:"currency"`
		TickSize string `json:"tickSize"`
		LotSize  string `json:"lotSize"`
		// Algorithm is FIFO (default) or PRO_RATA.
		Algorithm string `json:"algorithm,omitempty"`
	}
	accountBody struct {
		ID string `json:"id"`
	}
	movementBody struct {
		Asset  string `json:"asset"`
		Amount string `json:"amount"`
	}
	orderBody struct {
		ClientOrderID string `json:"clientOrderId"`
		Account       string `json:"account"`
		Symbol        string `json:"symbol"`
		Side          string `json:"side"`
		Type          string `json:"type"`
		TimeInForce   string `json:"timeInForce,omitempty"`
		Quantity      string `json:"quantity"`
		Price         string `json:"price,omitempty"`
		StopPrice     string `json:"stopPrice,omitempty"`
		ExpireTime    string `json:"expireTime,omitempty"`
		MaxNotional   string `json:"maxNotional,omitempty"`
	}
	replaceBody struct {
		Quantity string `json:"quantity,omitempty"`
		Price    string `json:"price,omitempty"`
	}
)

// Response bodies.
type (
	instrumentJSON struct {
		Symbol    string `json:"symbol"`
		Currency  string `json:"currency"`
		TickSize  string `json:"tickSize"`
		LotSize   string `json:"lotSize"`
		Algorithm string `json:"algorithm,omitempty"`
		TxID      string `json:"txId,omitempty"`
	}
	balanceJSON struct {
		Available string `json:"available"`
		Reserved  string `json:"reserved"`
	}
	accountJSON struct {
		ID       string                 `json:"id"`
		Org      string                 `json:"org"`
		Balances map[string]balanceJSON `json:"balances,omitempty"`
		TxID     string                 `json:"txId,omitempty"`
	}
	orderJSON struct {
		OrderID        string `json:"orderId"`
		ClientOrderID  string `json:"clientOrderId"`
		Account        string `json:"account,omitempty"`
		Symbol         string `json:"symbol,omitempty"`
		Side           string `json:"side,omitempty"`
		Type           string `json:"type,omitempty"`
		TimeInForce    string `json:"timeInForce,omitempty"`
		Quantity       string `json:"quantity,omitempty"`
		Price          string `json:"price,omitempty"`
		StopPrice      string `json:"stopPrice,omitempty"`
		ExpireTime     string `json:"expireTime,omitempty"`
		MaxNotional    string `json:"maxNotional,omitempty"`
		Status         string `json:"status"`
		FilledQuantity string `json:"filledQuantity"`
		AveragePrice   string `json:"averagePrice,omitempty"`
		CreatedTime    string `json:"createdTime,omitempty"`
		TxID           string `json:"txId,omitempty"`
	}
	levelJSON struct {
		Price    string `json:"price"`
		Quantity string `json:"quantity"`
		Orders   int    `json:"orders"`
	}
	bookJSON struct {
		Symbol string      `json:"symbol"`
		Bids   []levelJSON `json:"bids"`
		Asks   []levelJSON `json:"asks"`
	}
	tradeJSON struct {
		TradeID     string `json:"tradeId"`
		Symbol      string `json:"symbol"`
		Price       string `json:"price"`
		Quantity    string `json:"quantity"`
		BuyOrderID  string `json:"buyOrderId"`
		SellOrderID string `json:"sellOrderId"`
		Time        string `json:"time"`
		TxID        string `json:"txId"`
	}
	txJSON struct {
		TxID           string  `json:"txId"`
		Status         string  `json:"status"`
		ValidationCode string  `json:"validationCode,omitempty"`
		BlockNumber    *uint64 `json:"blockNumber,omitempty"`
		SupersededBy   string  `json:"supersededBy,omitempty"`
	}
	writeJSON struct {
		TxID   string `json:"txId"`
		Status string `json:"status"` // transaction status: PENDING or VALID
	}
)

// begin prepares a write: the ?wait and Idempotency-Key parameters, the fingerprint of the
// decoded body, and a context bounded by the request or the commit timeout.
func (s *Server) begin(c *gin.Context, body any) (Write, context.Context, context.CancelFunc, error) {
	var w Write
	switch c.Query("wait") {
	case "":
	case "commit":
		w.Wait = true
	default:
		return w, nil, nil, NewError(CodeInvalidArgument, "parameter wait: only \"commit\" is supported")
	}
	if k := c.GetHeader(IdempotencyKeyHeader); k != "" {
		if len(k) > 128 || !validRequestID(k[:min(len(k), 64)]) {
			return w, nil, nil, NewError(CodeInvalidArgument, "header Idempotency-Key: 1-128 printable ASCII characters")
		}
		w.IdempotencyKey = k
	}
	canon, _ := json.Marshal(body)
	sum := sha256.Sum256([]byte(c.Request.Method + " " + c.Request.URL.Path + "\n" + string(canon)))
	w.Fingerprint = hex.EncodeToString(sum[:])
	to := s.reqTO
	if w.Wait {
		to = s.commitT
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), to)
	return w, ctx, cancel, nil
}

// writeStatus is 201 (created) or 200 once committed, 202 while pending.
func writeStatus(r Receipt, created bool) int {
	if !r.Committed {
		return http.StatusAccepted
	}
	if created {
		return http.StatusCreated
	}
	return http.StatusOK
}

func txState(r Receipt) string {
	if r.Committed {
		return TxValid
	}
	return TxPending
}

func (s *Server) canSee(ownerMSP string) bool {
	return ownerMSP == "" || ownerMSP == s.mspID || s.org == "regulator"
}

// ---- instruments

func (s *Server) createInstrument(c *gin.Context) error {
	var b instrumentBody
	if err := decodeJSON(c, &b); err != nil {
		return err
	}
	if err := checkSymbol("symbol", b.Symbol); err != nil {
		return err
	}
	if !units.IsCurrency(b.Currency) {
		return NewError(CodeInvalidArgument, "field currency: must be one of %v", units.Currencies())
	}
	for _, f := range []struct{ name, v string }{{"tickSize", b.TickSize}, {"lotSize", b.LotSize}} {
		if f.v == "" {
			return NewError(CodeInvalidArgument, "field %s: required", f.name)
		}
		if err := units.ParseUnit(f.v); err != nil {
			return NewError(CodeInvalidArgument, "field %s: must be a positive decimal string such as \"0.01\"", f.name)
		}
	}
	if _, err := units.CashPerLotTick(b.TickSize, b.LotSize, b.Currency); err != nil {
		return NewError(CodeInvalidArgument, "tickSize × lotSize must be a whole number of minor units of %s", b.Currency)
	}
	switch b.Algorithm {
	case "":
		b.Algorithm = "FIFO"
	case "FIFO", "PRO_RATA":
	default:
		return NewError(CodeInvalidArgument, "field algorithm: FIFO or PRO_RATA")
	}
	if s.org != "regulator" {
		return NewError(CodeForbidden, "only the Regulator lists instruments")
	}
	w, ctx, cancel, err := s.begin(c, b)
	if err != nil {
		return err
	}
	defer cancel()
	in, r, err := s.ledger.CreateInstrument(ctx, Instrument{Symbol: b.Symbol, Currency: b.Currency, TickSize: b.TickSize, LotSize: b.LotSize, Algorithm: b.Algorithm}, w)
	setTx(c, r.TxID)
	if err != nil {
		return err
	}
	out := instrumentOut(in)
	out.TxID = r.TxID
	c.JSON(writeStatus(r, true), out)
	return nil
}

func instrumentOut(in Instrument) instrumentJSON {
	return instrumentJSON{Symbol: in.Symbol, Currency: in.Currency, TickSize: in.TickSize, LotSize: in.LotSize, Algorithm: in.Algorithm}
}

func (s *Server) listInstruments(c *gin.Context) error {
	ins, err := s.ledger.Instruments(c.Request.Context())
	if err != nil {
		return err
	}
	out := make([]instrumentJSON, 0, len(ins))
	for _, in := range ins {
		out = append(out, instrumentOut(in))
	}
	c.JSON(http.StatusOK, out)
	return nil
}

func (s *Server) getInstrument(c *gin.Context) error {
	sym := c.Param("symbol")
	if err := checkSymbol("symbol", sym); err != nil {
		return NewError(CodeNotFound, "instrument %q not found", sym)
	}
	in, err := s.instr.get(c.Request.Context(), sym)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, instrumentOut(in))
	return nil
}

// ---- accounts

func (s *Server) openAccount(c *gin.Context) error {
	var b accountBody
	if err := decodeJSON(c, &b); err != nil {
		return err
	}
	if err := checkID("id", b.ID); err != nil {
		return err
	}
	w, ctx, cancel, err := s.begin(c, b)
	if err != nil {
		return err
	}
	defer cancel()
	a, r, err := s.ledger.OpenAccount(ctx, b.ID, w)
	setTx(c, r.TxID)
	if err != nil {
		return err
	}
	if a.Org == "" {
		a.Org = s.mspID
	}
	c.JSON(writeStatus(r, true), accountJSON{ID: a.ID, Org: a.Org, TxID: r.TxID})
	return nil
}

// account loads an account the caller may see: 404 when unknown, 403 when another org's.
func (s *Server) account(ctx context.Context, id string) (Account, error) {
	if err := checkID("id", id); err != nil {
		return Account{}, NewError(CodeNotFound, "account %q not found", id)
	}
	a, err := s.ledger.Account(ctx, id)
	if err != nil {
		return Account{}, err
	}
	if !s.canSee(a.Org) {
		return Account{}, NewError(CodeForbidden, "account %q belongs to another org", id)
	}
	return a, nil
}

func (s *Server) getAccount(c *gin.Context) error {
	ctx := c.Request.Context()
	a, err := s.account(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	out := accountJSON{ID: a.ID, Org: a.Org, Balances: map[string]balanceJSON{}}
	for asset, bal := range a.Balances {
		if units.IsCurrency(asset) {
			out.Balances[asset] = balanceJSON{fmtCash(bal.Available, asset), fmtCash(bal.Reserved, asset)}
			continue
		}
		in, err := s.instr.get(ctx, asset)
		if err != nil {
			return err
		}
		out.Balances[asset] = balanceJSON{fmtUnits(bal.Available, in.LotSize), fmtUnits(bal.Reserved, in.LotSize)}
	}
	c.JSON(http.StatusOK, out)
	return nil
}

func (s *Server) deposit(c *gin.Context) error  { return s.move(c, true) }
func (s *Server) withdraw(c *gin.Context) error { return s.move(c, false) }

// move converts {"asset","amount"}: a currency in minor units, an instrument in lots.
func (s *Server) move(c *gin.Context, deposit bool) error {
	var b movementBody
	if err := decodeJSON(c, &b); err != nil {
		return err
	}
	m := Movement{Account: c.Param("id"), Asset: b.Asset}
	var err error
	switch {
	case b.Asset == "":
		err = NewError(CodeInvalidArgument, "field asset: required")
	case units.IsCurrency(b.Asset):
		m.Amount, err = cash("amount", b.Amount, b.Asset)
	case symbolRE.MatchString(b.Asset):
		var in Instrument
		if in, err = s.instr.get(c.Request.Context(), b.Asset); err == nil {
			m.Amount, err = positive("amount", b.Amount, in.LotSize, "lot")
		}
	default:
		err = NewError(CodeInvalidArgument, "field asset: a currency (%v) or an instrument symbol", units.Currencies())
	}
	if err != nil {
		return err
	}
	if _, err := s.account(c.Request.Context(), m.Account); err != nil {
		return err
	}
	w, ctx, cancel, err := s.begin(c, b)
	if err != nil {
		return err
	}
	defer cancel()
	var r Receipt
	if deposit {
		r, err = s.ledger.Deposit(ctx, m, w)
	} else {
		r, err = s.ledger.Withdraw(ctx, m, w)
	}
	setTx(c, r.TxID)
	if err != nil {
		return err
	}
	c.JSON(writeStatus(r, false), gin.H{"account": m.Account, "asset": b.Asset, "amount": b.Amount, "txId": r.TxID, "status": txState(r)})
	return nil
}

// ---- orders

var (
	sides = map[string]bool{"BUY": true, "SELL": true}
	types = map[string]bool{"MARKET": true, "LIMIT": true, "STOP": true, "STOP_LIMIT": true}
	tifs  = map[string]bool{"GTC": true, "IOC": true, "FOK": true, "GTT": true}
)

// orderRequest validates b and converts it with the instrument's tick and lot sizes.
func orderRequest(b orderBody, in Instrument, now time.Time) (OrderRequest, error) {
	o := OrderRequest{ClientOrderID: b.ClientOrderID, Account: b.Account, Symbol: b.Symbol,
		Side: b.Side, Type: b.Type, TimeInForce: b.TimeInForce}
	if !sides[b.Side] {
		return o, NewError(CodeInvalidArgument, "field side: BUY or SELL")
	}
	if !types[b.Type] {
		return o, NewError(CodeInvalidArgument, "field type: MARKET, LIMIT, STOP or STOP_LIMIT")
	}
	if o.TimeInForce == "" {
		o.TimeInForce = "GTC"
		if b.Type == "MARKET" || b.Type == "STOP" {
			o.TimeInForce = "IOC"
		}
	}
	if !tifs[o.TimeInForce] {
		return o, NewError(CodeInvalidArgument, "field timeInForce: GTC, IOC, FOK or GTT")
	}
	var err error
	if o.Quantity, err = positive("quantity", b.Quantity, in.LotSize, "lot"); err != nil {
		return o, err
	}
	limit := b.Type == "LIMIT" || b.Type == "STOP_LIMIT"
	switch {
	case limit:
		if o.Price, err = positive("price", b.Price, in.TickSize, "tick"); err != nil {
			return o, err
		}
	case b.Price != "":
		return o, NewError(CodeInvalidArgument, "field price: not allowed for %s orders", b.Type)
	}
	stop := b.Type == "STOP" || b.Type == "STOP_LIMIT"
	switch {
	case stop:
		if o.StopPrice, err = positive("stopPrice", b.StopPrice, in.TickSize, "tick"); err != nil {
			return o, err
		}
	case b.StopPrice != "":
		return o, NewError(CodeInvalidArgument, "field stopPrice: only for STOP and STOP_LIMIT orders")
	}
	if !limit && (o.TimeInForce == "GTC" || o.TimeInForce == "GTT") && b.Type == "MARKET" {
		return o, NewError(CodeInvalidArgument, "field timeInForce: MARKET orders are IOC or FOK")
	}
	switch {
	case o.TimeInForce == "GTT":
		if b.ExpireTime == "" {
			return o, NewError(CodeInvalidArgument, "field expireTime: required for GTT")
		}
		if o.ExpireTime, err = rfc3339("expireTime", b.ExpireTime); err != nil {
			return o, err
		}
		if !o.ExpireTime.After(now) {
			return o, NewError(CodeInvalidArgument, "field expireTime: must be in the future")
		}
	case b.ExpireTime != "":
		return o, NewError(CodeInvalidArgument, "field expireTime: only for GTT orders")
	}
	needCap := !limit && b.Side == "BUY"
	switch {
	case b.MaxNotional != "":
		if o.MaxNotional, err = cash("maxNotional", b.MaxNotional, in.Currency); err != nil {
			return o, err
		}
	case needCap:
		return o, NewError(CodeInvalidArgument, "field maxNotional: required for %s BUY orders", b.Type)
	}
	return o, nil
}

func (s *Server) placeOrder(c *gin.Context) error {
	var b orderBody
	if err := decodeJSON(c, &b); err != nil {
		return err
	}
	for _, f := range []struct{ name, v string }{{"clientOrderId", b.ClientOrderID}, {"account", b.Account}} {
		if err := checkID(f.name, f.v); err != nil {
			return err
		}
	}
	if err := checkSymbol("symbol", b.Symbol); err != nil {
		return err
	}
	in, err := s.instr.get(c.Request.Context(), b.Symbol)
	if err != nil {
		return err
	}
	o, err := orderRequest(b, in, time.Now())
	if err != nil {
		return err
	}
	w, ctx, cancel, err := s.begin(c, b)
	if err != nil {
		return err
	}
	defer cancel()
	implicit := w.IdempotencyKey == ""
	if implicit {
		// The client order id is the natural idempotency key of an order, and the chaincode
		// keeps it: one order per account and clientOrderId.
		w.IdempotencyKey = "order/" + b.Account + "/" + b.ClientOrderID
		w.KeyInLedger = true
	}
	ord, r, err := s.ledger.PlaceOrder(ctx, o, w)
	setTx(c, r.TxID)
	if err != nil {
		if e := asError(err); implicit && e.Code == CodeIdempotencyReuse {
			err = NewError(CodeConflict, "clientOrderId %s of account %s is already used by an order with other terms", b.ClientOrderID, b.Account)
		}
		return err
	}
	if ord.TxID == "" {
		ord.TxID = r.TxID
	}
	out := orderOut(ord, in)
	out.TxID = r.TxID
	c.JSON(writeStatus(r, true), out)
	return nil
}

func orderOut(o Order, in Instrument) orderJSON {
	out := orderJSON{
		OrderID: o.OrderID, ClientOrderID: o.ClientOrderID, Account: o.Account, Symbol: o.Symbol,
		Side: o.Side, Type: o.Type, TimeInForce: o.TimeInForce, Status: o.Status, TxID: o.TxID,
		Quantity:       fmtUnits(o.Quantity, in.LotSize),
		FilledQuantity: fmtUnits(o.FilledQuantity, in.LotSize),
		AveragePrice:   averagePrice(o.FilledNotional, o.FilledQuantity, in.TickSize),
	}
	if o.Price > 0 {
		out.Price = fmtUnits(o.Price, in.TickSize)
	}
	if o.StopPrice > 0 {
		out.StopPrice = fmtUnits(o.StopPrice, in.TickSize)
	}
	if o.MaxNotional > 0 {
		out.MaxNotional = fmtCash(o.MaxNotional, in.Currency)
	}
	if !o.ExpireTime.IsZero() {
		out.ExpireTime = o.ExpireTime.UTC().Format(time.RFC3339Nano)
	}
	if !o.CreatedTime.IsZero() {
		out.CreatedTime = o.CreatedTime.UTC().Format(time.RFC3339Nano)
	}
	return out
}

// order loads an order the caller may see.
func (s *Server) order(ctx context.Context, id string) (Order, Instrument, error) {
	if err := checkID("orderId", id); err != nil {
		return Order{}, Instrument{}, NewError(CodeNotFound, "order %q not found", id)
	}
	o, err := s.ledger.Order(ctx, id)
	if err != nil {
		return Order{}, Instrument{}, err
	}
	if !s.canSee(o.Org) {
		return Order{}, Instrument{}, NewError(CodeForbidden, "order %q belongs to another org", id)
	}
	in, err := s.instr.get(ctx, o.Symbol)
	return o, in, err
}

func (s *Server) getOrder(c *gin.Context) error {
	o, in, err := s.order(c.Request.Context(), c.Param("orderId"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, orderOut(o, in))
	return nil
}

var statuses = map[string]bool{"NEW": true, "PARTIALLY_FILLED": true, "FILLED": true, "CANCELED": true, "EXPIRED": true, "REJECTED": true}

func (s *Server) listOrders(c *gin.Context) error {
	ctx := c.Request.Context()
	f := OrderFilter{Account: c.Query("account"), Symbol: c.Query("symbol"), Status: c.Query("status")}
	if f.Account == "" {
		return NewError(CodeInvalidArgument, "parameter account: required")
	}
	if f.Status != "" && !statuses[f.Status] {
		return NewError(CodeInvalidArgument, "parameter status: one of NEW, PARTIALLY_FILLED, FILLED, CANCELED, EXPIRED, REJECTED")
	}
	if f.Symbol != "" {
		if err := checkSymbol("symbol", f.Symbol); err != nil {
			return err
		}
		if _, err := s.instr.get(ctx, f.Symbol); err != nil {
			return err
		}
	}
	if f.Account != "" {
		if _, err := s.account(ctx, f.Account); err != nil {
			return err
		}
	}
	os, err := s.ledger.Orders(ctx, f)
	if err != nil {
		return err
	}
	out := make([]orderJSON, 0, len(os))
	for _, o := range os {
		in, err := s.instr.get(ctx, o.Symbol)
		if err != nil {
			return err
		}
		out = append(out, orderOut(o, in))
	}
	c.JSON(http.StatusOK, out)
	return nil
}

func (s *Server) cancelOrder(c *gin.Context) error {
	id := c.Param("orderId")
	o, _, err := s.order(c.Request.Context(), id)
	if err != nil {
		return err
	}
	w, ctx, cancel, err := s.begin(c, nil)
	if err != nil {
		return err
	}
	defer cancel()
	r, err := s.ledger.CancelOrder(ctx, o, w)
	setTx(c, r.TxID)
	if err != nil {
		return err
	}
	c.JSON(writeStatus(r, false), gin.H{"orderId": id, "request": "CANCEL", "txId": r.TxID, "status": txState(r)})
	return nil
}

func (s *Server) replaceOrder(c *gin.Context) error {
	var b replaceBody
	if err := decodeJSON(c, &b); err != nil {
		return err
	}
	if b.Quantity == "" && b.Price == "" {
		return NewError(CodeInvalidArgument, "quantity or price: at least one is required")
	}
	id := c.Param("orderId")
	o, in, err := s.order(c.Request.Context(), id)
	if err != nil {
		return err
	}
	var qty, price int64
	if b.Quantity != "" {
		if qty, err = positive("quantity", b.Quantity, in.LotSize, "lot"); err != nil {
			return err
		}
	}
	if b.Price != "" {
		if price, err = positive("price", b.Price, in.TickSize, "tick"); err != nil {
			return err
		}
	}
	w, ctx, cancel, err := s.begin(c, b)
	if err != nil {
		return err
	}
	defer cancel()
	r, err := s.ledger.ReplaceOrder(ctx, o, qty, price, w)
	setTx(c, r.TxID)
	if err != nil {
		return err
	}
	c.JSON(writeStatus(r, false), gin.H{"orderId": id, "request": "REPLACE", "txId": r.TxID, "status": txState(r)})
	return nil
}

// ---- market data

// intParam parses an optional integer query parameter in [lo, hi].
func intParam(c *gin.Context, name string, def, lo, hi int) (int, error) {
	v := c.Query(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, NewError(CodeInvalidArgument, "parameter %s: an integer from %d to %d", name, lo, hi)
	}
	return n, nil
}

func (s *Server) orderBook(c *gin.Context) error {
	ctx := c.Request.Context()
	sym := c.Param("symbol")
	depth, err := intParam(c, "depth", 10, 1, 1000)
	if err != nil {
		return err
	}
	if checkSymbol("symbol", sym) != nil {
		return NewError(CodeNotFound, "instrument %q not found", sym)
	}
	in, err := s.instr.get(ctx, sym)
	if err != nil {
		return err
	}
	b, err := s.ledger.OrderBook(ctx, sym, depth)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, bookOut(sym, b, in, depth))
	return nil
}

func bookOut(sym string, b Book, in Instrument, depth int) bookJSON {
	conv := func(ls []Level) []levelJSON {
		out := make([]levelJSON, 0, len(ls))
		for i, l := range ls {
			if i >= depth {
				break
			}
			out = append(out, levelJSON{Price: fmtUnits(l.Price, in.TickSize), Quantity: fmtUnits(l.Quantity, in.LotSize), Orders: l.Orders})
		}
		return out
	}
	return bookJSON{Symbol: sym, Bids: conv(b.Bids), Asks: conv(b.Asks)}
}

func (s *Server) trades(c *gin.Context) error {
	ctx := c.Request.Context()
	sym := c.Query("symbol")
	if err := checkSymbol("symbol", sym); err != nil {
		return NewError(CodeInvalidArgument, "parameter symbol: %s", asError(err).Message)
	}
	limit, err := intParam(c, "limit", 100, 1, 1000)
	if err != nil {
		return err
	}
	after := c.Query("after")
	if after != "" && checkID("after", after) != nil {
		return NewError(CodeInvalidArgument, "parameter after: a trade id")
	}
	in, err := s.instr.get(ctx, sym)
	if err != nil {
		return err
	}
	ts, err := s.ledger.Trades(ctx, sym, after, limit)
	if err != nil {
		return err
	}
	out := make([]tradeJSON, 0, len(ts))
	for _, t := range ts {
		out = append(out, tradeOut(t, in))
	}
	c.JSON(http.StatusOK, out)
	return nil
}

func tradeOut(t Trade, in Instrument) tradeJSON {
	return tradeJSON{TradeID: t.TradeID, Symbol: t.Symbol, Price: fmtUnits(t.Price, in.TickSize),
		Quantity: fmtUnits(t.Quantity, in.LotSize), BuyOrderID: t.BuyOrderID, SellOrderID: t.SellOrderID,
		Time: t.Time.UTC().Format(time.RFC3339Nano), TxID: t.TxID}
}

// ---- transactions and admin

func (s *Server) transaction(c *gin.Context) error {
	id := c.Param("txId")
	if !txIDRE.MatchString(id) {
		return NewError(CodeInvalidArgument, "txId: 64 lower-case hex digits")
	}
	st, err := s.ledger.Transaction(c.Request.Context(), id)
	if err != nil {
		return err
	}
	out := txJSON{TxID: id, Status: st.Status, ValidationCode: st.ValidationCode, SupersededBy: st.SupersededBy}
	if st.Status != TxPending {
		n := st.BlockNumber
		out.BlockNumber = &n
	}
	c.JSON(http.StatusOK, out)
	return nil
}

func (s *Server) match(c *gin.Context) error {
	sym := c.Param("symbol")
	if checkSymbol("symbol", sym) != nil {
		return NewError(CodeNotFound, "instrument %q not found", sym)
	}
	if _, err := s.instr.get(c.Request.Context(), sym); err != nil {
		return err
	}
	w, ctx, cancel, err := s.begin(c, nil)
	if err != nil {
		return err
	}
	defer cancel()
	m, r, err := s.ledger.Match(ctx, sym, w)
	setTx(c, r.TxID)
	if err != nil {
		return err
	}
	c.JSON(writeStatus(r, false), gin.H{"symbol": sym, "trades": m.Trades, "txId": r.TxID, "status": txState(r)})
	return nil
}
