// Package stream serves GET /v1/stream: trades, order updates and book updates taken from the
// exchange chaincode's events, over WebSocket (on an upgrade request) or Server-Sent Events
// (otherwise), on the same path.
//
// Resume without gaps or duplicates: every message carries the number of the block it comes
// from, and after the last message of a block the server sends {"type":"checkpoint",
// "block":N} (also every few seconds for blocks without exchange events). A client that saw the
// checkpoint of block N reconnects with ?fromBlock=N+1 and receives exactly what follows; the
// messages of a block whose checkpoint it did not see are sent again in full. SSE clients get
// the checkpoint's block as the event id, so a browser EventSource resumes by itself
// (Last-Event-ID: N means "continue with block N+1").
//
// Who sees what: trades, book updates and checkpoints are public; order updates go only to
// callers of the org that owns the order's account, and to the Regulator (see [Config.Owner]).
// Filtering happens before a block's checkpoint is sent, and a block whose owners cannot be
// resolved ends the connection before its checkpoint, so resume stays without gaps.
package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/fabmarket/fabmarket/gateway/api"
	"github.com/gorilla/websocket"
)

// Event is one chaincode event of a valid transaction.
type Event struct {
	TxID    string
	Name    string
	Payload []byte
}

// Block is a committed block with the exchange events of its valid transactions, in order.
type Block struct {
	Number uint64
	Events []Event
}

// Source delivers blocks in order from block from (nil: the next block to be committed). The
// channel closes when ctx ends or the source fails.
type Source interface {
	Blocks(ctx context.Context, from *uint64) (<-chan Block, error)
}

// InstrumentFunc returns an instrument, for the conversion of units to decimal strings.
type InstrumentFunc func(ctx context.Context, symbol string) (api.Instrument, error)

// Message is one message of the stream, as JSON.
type Message struct {
	Type  string `json:"type"` // trade, orderUpdate, book, checkpoint
	Block uint64 `json:"block"`
	TxID  string `json:"txId,omitempty"`
	Data  any    `json:"data,omitempty"`

	// account and owner (an MSP ID, when the event names it) say whose message this is;
	// both are empty for public messages.
	account string
	owner   string
}

// Message types.
const (
	TypeTrade       = "trade"
	TypeOrderUpdate = "orderUpdate"
	TypeBook        = "book"
	TypeCheckpoint  = "checkpoint"
)

// Config configures a Handler; Source and Instrument are required.
type Config struct {
	Source     Source
	Instrument InstrumentFunc
	// Owner resolves the org of an account for order updates whose event does not name it
	// (those of a Match). Nil: such updates go to the Regulator only.
	Owner   OwnerFunc
	Metrics *api.Metrics
	Logger  *slog.Logger
	// Heartbeat is the interval of keep-alives (SSE comments, WebSocket pings); default 15 s.
	Heartbeat time.Duration
	// IdleCheckpoint is how often a checkpoint is sent for blocks without events; default 5 s.
	IdleCheckpoint time.Duration
}

// Handler serves the stream.
type Handler struct {
	cfg      Config
	upgrader websocket.Upgrader
	owners   *ownerCache
}

// New returns a Handler.
func New(cfg Config) (*Handler, error) {
	if cfg.Source == nil || cfg.Instrument == nil {
		return nil, errors.New("stream: Config.Source and Config.Instrument are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 15 * time.Second
	}
	if cfg.IdleCheckpoint <= 0 {
		cfg.IdleCheckpoint = 5 * time.Second
	}
	return &Handler{cfg: cfg, owners: newOwnerCache(cfg.Owner), upgrader: websocket.Upgrader{
		ReadBufferSize: 1024, WriteBufferSize: 8192,
		// API keys, not cookies, authenticate: a cross-origin page cannot use the caller's
		// credentials, so any origin may connect.
		CheckOrigin: func(*http.Request) bool { return true },
	}}, nil
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

// params reads ?fromBlock= (or SSE's Last-Event-ID) and ?symbol=.
func params(r *http.Request) (from *uint64, symbol string, err error) {
	if v := r.URL.Query().Get("fromBlock"); v != "" {
		n, perr := strconv.ParseUint(v, 10, 64)
		if perr != nil {
			return nil, "", fmt.Errorf("parameter fromBlock: a block number")
		}
		from = &n
	} else if v := r.Header.Get("Last-Event-ID"); v != "" {
		n, perr := strconv.ParseUint(v, 10, 64)
		if perr == nil {
			n++
			from = &n
		}
	}
	return from, r.URL.Query().Get("symbol"), nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	from, symbol, err := params(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, api.CodeInvalidArgument, err.Error())
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	blocks, err := h.cfg.Source.Blocks(ctx, from)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, api.CodeUnavailable, "the peer's event service is not available")
		return
	}
	h.cfg.Metrics.StreamClients(1)
	defer h.cfg.Metrics.StreamClients(-1)
	v := viewOf(r.Context())
	if websocket.IsWebSocketUpgrade(r) {
		h.serveWS(ctx, cancel, w, r, blocks, symbol, v)
		return
	}
	h.serveSSE(ctx, w, blocks, symbol, v)
}

// sink writes messages to one client.
type sink interface {
	send(m Message) error
	heartbeat() error
}

// pump forwards the messages of blocks that v may see to the sink until ctx ends, the source
// closes, a write fails or the owner of an account cannot be resolved (the connection then
// ends before the block's checkpoint: the client resumes with that block in full).
func (h *Handler) pump(ctx context.Context, blocks <-chan Block, symbol string, v view, s sink) {
	hb := time.NewTicker(h.cfg.Heartbeat)
	defer hb.Stop()
	var lastCheckpoint time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-hb.C:
			if s.heartbeat() != nil {
				return
			}
		case b, ok := <-blocks:
			if !ok {
				return
			}
			h.owners.learn(b)
			all := Translate(ctx, b, h.cfg.Instrument, symbol)
			msgs, err := h.visible(ctx, v, all)
			if err != nil {
				h.cfg.Logger.Warn("stream: cannot tell who may see an order update; closing the stream", "block", b.Number, "error", err)
				return
			}
			for _, m := range msgs {
				if s.send(m) != nil {
					return
				}
			}
			// Checkpoints do not depend on the caller: a block whose messages were all
			// filtered out is checkpointed like any block with messages.
			if len(all) > 0 || time.Since(lastCheckpoint) >= h.cfg.IdleCheckpoint {
				if s.send(Message{Type: TypeCheckpoint, Block: b.Number}) != nil {
					return
				}
				lastCheckpoint = time.Now()
			}
		}
	}
}

type sseSink struct {
	w http.ResponseWriter
	f http.Flusher
}

func (s sseSink) send(m Message) error {
	raw, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if m.Type == TypeCheckpoint {
		_, err = fmt.Fprintf(s.w, "id: %d\nevent: %s\ndata: %s\n\n", m.Block, m.Type, raw)
	} else {
		_, err = fmt.Fprintf(s.w, "event: %s\ndata: %s\n\n", m.Type, raw)
	}
	if err == nil {
		s.f.Flush()
	}
	return err
}

func (s sseSink) heartbeat() error {
	_, err := fmt.Fprint(s.w, ": keep-alive\n\n")
	if err == nil {
		s.f.Flush()
	}
	return err
}

func (h *Handler) serveSSE(ctx context.Context, w http.ResponseWriter, blocks <-chan Block, symbol string, v view) {
	f, ok := w.(http.Flusher)
	if !ok {
		writeError(w, http.StatusInternalServerError, api.CodeInternal, "streaming not supported")
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	_, _ = fmt.Fprint(w, "retry: 2000\n\n")
	f.Flush()
	h.pump(ctx, blocks, symbol, v, sseSink{w: w, f: f})
}

type wsSink struct {
	c *websocket.Conn
}

func (s wsSink) send(m Message) error {
	_ = s.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return s.c.WriteJSON(m)
}

func (s wsSink) heartbeat() error {
	return s.c.WriteControl(websocket.PingMessage, nil, time.Now().Add(5*time.Second))
}

func (h *Handler) serveWS(ctx context.Context, cancel context.CancelFunc, w http.ResponseWriter, r *http.Request, blocks <-chan Block, symbol string, v view) {
	conn, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader answered the client
	}
	defer conn.Close()
	// The reader notices a close or a dead peer and stops the pump.
	go func() {
		defer cancel()
		conn.SetReadLimit(4096)
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
		}
	}()
	h.pump(ctx, blocks, symbol, v, wsSink{c: conn})
	_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, ""), time.Now().Add(time.Second))
}

// Chaincode event payloads (chaincode/exchange/contract).
type (
	ccTrade struct {
		TradeID     string    `json:"tradeId"`
		Symbol      string    `json:"symbol"`
		Price       int64     `json:"price"`
		Quantity    int64     `json:"quantity"`
		BuyOrderID  string    `json:"buyOrderId"`
		SellOrderID string    `json:"sellOrderId"`
		TakerSide   string    `json:"takerSide"`
		Time        time.Time `json:"time"`
		TxID        string    `json:"txId"`
	}
	ccUpdate struct {
		OrderID           string `json:"orderId"`
		ClientOrderID     string `json:"clientOrderId"`
		Account           string `json:"account"`
		Org               string `json:"org"` // MSP ID; in OrderAccepted (an Order), not in Match updates
		Symbol            string `json:"symbol"`
		Side              string `json:"side"`
		Status            string `json:"status"`
		Reason            string `json:"reason"`
		Price             int64  `json:"price"`
		Quantity          int64  `json:"quantity"`
		FilledQuantity    int64  `json:"filledQuantity"`
		RemainingQuantity int64  `json:"remainingQuantity"`
	}
	ccLevel struct {
		Price    int64 `json:"price"`
		Quantity int64 `json:"quantity"`
		Orders   int   `json:"orders"`
	}
	ccMatch struct {
		Symbol       string     `json:"symbol"`
		Trades       []ccTrade  `json:"trades"`
		OrderUpdates []ccUpdate `json:"orderUpdates"`
		Book         struct {
			Bids      []ccLevel `json:"bids"`
			Asks      []ccLevel `json:"asks"`
			LastPrice int64     `json:"lastPrice"`
		} `json:"book"`
	}
)

// Stream payloads, in the decimal strings of the REST API.
type (
	// TradeData is the data of a trade message.
	TradeData struct {
		TradeID     string `json:"tradeId"`
		Symbol      string `json:"symbol"`
		Price       string `json:"price"`
		Quantity    string `json:"quantity"`
		BuyOrderID  string `json:"buyOrderId"`
		SellOrderID string `json:"sellOrderId"`
		TakerSide   string `json:"takerSide,omitempty"`
		Time        string `json:"time"`
		TxID        string `json:"txId"`
	}
	// OrderUpdateData is the data of an orderUpdate message.
	OrderUpdateData struct {
		OrderID           string `json:"orderId"`
		ClientOrderID     string `json:"clientOrderId,omitempty"`
		Account           string `json:"account"`
		Symbol            string `json:"symbol"`
		Side              string `json:"side"`
		Status            string `json:"status"`
		Reason            string `json:"reason,omitempty"`
		Price             string `json:"price,omitempty"`
		Quantity          string `json:"quantity"`
		FilledQuantity    string `json:"filledQuantity"`
		RemainingQuantity string `json:"remainingQuantity"`
	}
	// LevelData is one level of a book message.
	LevelData struct {
		Price    string `json:"price"`
		Quantity string `json:"quantity"`
		Orders   int    `json:"orders"`
	}
	// BookData is the data of a book message: the top of the book after a match.
	BookData struct {
		Symbol    string      `json:"symbol"`
		Bids      []LevelData `json:"bids"`
		Asks      []LevelData `json:"asks"`
		LastPrice string      `json:"lastPrice,omitempty"`
	}
)

// Translate turns the events of a block into stream messages: a Match event becomes its trades,
// its order updates and one book update; OrderAccepted becomes an order update (NEW). Other
// events are not part of the stream. symbol, when not empty, keeps only that symbol. Every
// caller may see the result only after the filter of [Handler] (order updates are private).
func Translate(ctx context.Context, b Block, instrument InstrumentFunc, symbol string) []Message {
	var out []Message
	for _, ev := range b.Events {
		switch ev.Name {
		case "Match":
			var m ccMatch
			if json.Unmarshal(ev.Payload, &m) != nil || (symbol != "" && m.Symbol != symbol) {
				continue
			}
			in, err := instrument(ctx, m.Symbol)
			if err != nil {
				continue
			}
			for _, t := range m.Trades {
				out = append(out, Message{Type: TypeTrade, Block: b.Number, TxID: ev.TxID, Data: TradeData{
					TradeID: t.TradeID, Symbol: t.Symbol, Price: in.Price(t.Price), Quantity: in.Qty(t.Quantity),
					BuyOrderID: t.BuyOrderID, SellOrderID: t.SellOrderID, TakerSide: t.TakerSide,
					Time: t.Time.UTC().Format(time.RFC3339Nano), TxID: ev.TxID}})
			}
			for _, u := range m.OrderUpdates {
				out = append(out, Message{Type: TypeOrderUpdate, Block: b.Number, TxID: ev.TxID, Data: update(u, in),
					account: u.Account, owner: u.Org})
			}
			bk := BookData{Symbol: m.Symbol, Bids: levels(m.Book.Bids, in), Asks: levels(m.Book.Asks, in)}
			if m.Book.LastPrice > 0 {
				bk.LastPrice = in.Price(m.Book.LastPrice)
			}
			out = append(out, Message{Type: TypeBook, Block: b.Number, TxID: ev.TxID, Data: bk})
		case "OrderAccepted":
			var u ccUpdate
			if json.Unmarshal(ev.Payload, &u) != nil || (symbol != "" && u.Symbol != symbol) {
				continue
			}
			in, err := instrument(ctx, u.Symbol)
			if err != nil {
				continue
			}
			if u.Status == "PENDING" {
				u.Status = "NEW"
			}
			out = append(out, Message{Type: TypeOrderUpdate, Block: b.Number, TxID: ev.TxID, Data: update(u, in),
				account: u.Account, owner: u.Org})
		}
	}
	return out
}

func update(u ccUpdate, in api.Instrument) OrderUpdateData {
	d := OrderUpdateData{OrderID: u.OrderID, ClientOrderID: u.ClientOrderID, Account: u.Account, Symbol: u.Symbol,
		Side: u.Side, Status: u.Status, Reason: u.Reason, Quantity: in.Qty(u.Quantity),
		FilledQuantity: in.Qty(u.FilledQuantity), RemainingQuantity: in.Qty(u.RemainingQuantity)}
	if u.Price > 0 {
		d.Price = in.Price(u.Price)
	}
	if strings.TrimSpace(d.Status) == "" {
		d.Status = "NEW"
	}
	return d
}

func levels(ls []ccLevel, in api.Instrument) []LevelData {
	out := make([]LevelData, 0, len(ls))
	for _, l := range ls {
		out = append(out, LevelData{Price: in.Price(l.Price), Quantity: in.Qty(l.Quantity), Orders: l.Orders})
	}
	return out
}
