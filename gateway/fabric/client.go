// Package fabric is the gateway's ledger client: it implements api.Ledger over fabric-gateway
// against the exchange chaincode on the market channel.
//
// Writes go through one pipeline (submit.go): serialized per account (or symbol), bound to an
// idempotency key that is persisted together with the transaction it produced (or, for a key
// the chaincode itself keeps, such as an order's clientOrderId, held in memory only), committed with
// internal/fabnet.Submitter (the same signed transaction is sent again when its commit status
// is late), and re-endorsed a bounded number of times, with jitter, when the commit status is
// an MVCC or phantom read conflict. Transaction status comes from the pipeline's memory or the
// qscc system chaincode. Blocks are read for the live stream (events.go), and a scheduler runs
// Match for symbols with work (scheduler.go).
package fabric

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/fabmarket/fabmarket/gateway/api"
	"github.com/fabmarket/fabmarket/internal/fabnet"
	"github.com/fabmarket/fabmarket/internal/netconf"
	"github.com/hyperledger/fabric-gateway/pkg/client"
)

// Config configures a Client. Gateway, Store and Org are required.
type Config struct {
	Gateway   *client.Gateway
	Store     *Store
	Org       string // "org1", ... (this gateway's identity)
	Channel   string // default "market"
	Chaincode string // default "exchange"
	// PaymentsChannel is the channel of the cash legs of swaps (default "payments"; the same
	// chaincode as Channel serves it).
	PaymentsChannel string
	// NumbersChannel and NumbersChaincode locate the number-transfer chaincode (default
	// "numbers" and "numbers"; see numbers.go).
	NumbersChannel   string
	NumbersChaincode string
	Metrics          *api.Metrics
	Logger           *slog.Logger
	// Submitter resends late transactions; the zero value uses fabnet's defaults.
	Submitter fabnet.Submitter
	// MVCCRetries bounds re-endorsements after a read conflict (default 5).
	MVCCRetries int
	// CommitTimeout bounds the background wait for one transaction's commit (default 2 min).
	CommitTimeout time.Duration
}

// Client implements api.Ledger.
type Client struct {
	gw       *client.Gateway
	network  *client.Network
	contract *client.Contract
	version  *client.Contract
	numbers  *client.Contract // the numbers contract on the numbers channel
	numChan  string
	// ledgers are the channels whose qscc a transaction status is looked up on, in order.
	ledgers []ledgerQSCC
	// The settlement contract (market), the htlc contract on each channel and the exchange
	// contract on payments (accounts there), for settlements.go and swaps.go.
	settlement *client.Contract
	htlcs      map[string]*client.Contract // channel → htlc contract
	exchanges  map[string]*client.Contract // channel → exchange contract
	store      *Store
	org        string
	msp        string
	channel    string
	chaincode  string
	metrics    *api.Metrics
	log        *slog.Logger
	sub        fabnet.Submitter
	mvcc       int
	commitTO   time.Duration
	locks      *keyedLocks
	recent     *recentCommits // keys written lately, to tell peer lag from absence
	latency    latencyEWMA    // commit latency, for the scheduler's patience

	base   context.Context // background commits; canceled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	flights map[string]*flight // idempotency key → write in progress
	txs     map[string]api.TxStatus
	txOrder []string
}

var _ api.Ledger = (*Client)(nil)

// New checks cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	switch {
	case cfg.Gateway == nil:
		return nil, errors.New("fabric: Config.Gateway is required")
	case cfg.Store == nil:
		return nil, errors.New("fabric: Config.Store is required")
	}
	msp, err := netconf.MSPID(cfg.Org)
	if err != nil {
		return nil, fmt.Errorf("fabric: Config.Org: %w", err)
	}
	if cfg.Channel == "" {
		cfg.Channel = "market"
	}
	if cfg.Chaincode == "" {
		cfg.Chaincode = "exchange"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MVCCRetries <= 0 {
		cfg.MVCCRetries = 5
	}
	if cfg.CommitTimeout <= 0 {
		cfg.CommitTimeout = 2 * time.Minute
	}
	if cfg.NumbersChannel == "" {
		cfg.NumbersChannel = "numbers"
	}
	if cfg.NumbersChaincode == "" {
		cfg.NumbersChaincode = "numbers"
	}
	if cfg.PaymentsChannel == "" {
		cfg.PaymentsChannel = "payments"
	}
	network := cfg.Gateway.GetNetwork(cfg.Channel)
	numNet := cfg.Gateway.GetNetwork(cfg.NumbersChannel)
	payNet := cfg.Gateway.GetNetwork(cfg.PaymentsChannel)
	base, cancel := context.WithCancel(context.Background())
	return &Client{
		settlement: network.GetContractWithName(cfg.Chaincode, "settlement"),
		htlcs: map[string]*client.Contract{api.ChannelMarket: network.GetContractWithName(cfg.Chaincode, "htlc"),
			api.ChannelPayments: payNet.GetContractWithName(cfg.Chaincode, "htlc")},
		exchanges: map[string]*client.Contract{api.ChannelMarket: network.GetContractWithName(cfg.Chaincode, "exchange"),
			api.ChannelPayments: payNet.GetContractWithName(cfg.Chaincode, "exchange")},
		gw: cfg.Gateway, network: network,
		contract: network.GetContractWithName(cfg.Chaincode, "exchange"),
		version:  network.GetContractWithName(cfg.Chaincode, "version"),
		numbers:  numNet.GetContractWithName(cfg.NumbersChaincode, "numbers"),
		ledgers: []ledgerQSCC{{cfg.Channel, network.GetContract("qscc")},
			{cfg.PaymentsChannel, payNet.GetContract("qscc")}, {cfg.NumbersChannel, numNet.GetContract("qscc")}},
		store: cfg.Store, org: cfg.Org, msp: msp, channel: cfg.Channel, chaincode: cfg.Chaincode, numChan: cfg.NumbersChannel,
		metrics: cfg.Metrics, log: cfg.Logger, sub: cfg.Submitter, mvcc: cfg.MVCCRetries,
		commitTO: cfg.CommitTimeout, locks: newKeyedLocks(), recent: newRecentCommits(),
		base: base, cancel: cancel, flights: map[string]*flight{}, txs: map[string]api.TxStatus{},
	}, nil
}

// Close waits up to ctx for the commits in progress, then abandons them (their idempotency
// records stay pending: a retry after the restart asks for their commit status).
func (c *Client) Close(ctx context.Context) {
	done := make(chan struct{})
	go func() { c.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	c.cancel()
}

// Network returns the channel, for the event stream.
func (c *Client) Network() *client.Network { return c.network }

// Chaincode returns the chaincode name.
func (c *Client) Chaincode() string { return c.chaincode }

// evaluate runs a query function of the exchange contract.
func (c *Client) evaluate(ctx context.Context, fn string, args ...string) ([]byte, error) {
	p, err := c.contract.NewProposal(fn, client.WithArguments(args...))
	if err != nil {
		return nil, classify(err)
	}
	out, err := p.EvaluateWithContext(ctx)
	if err != nil {
		c.log.Debug("evaluate failed", "function", fn, "error", fabnet.Describe(err))
		return nil, classify(err)
	}
	return out, nil
}

func (c *Client) evaluateJSON(ctx context.Context, v any, fn string, args ...string) error {
	raw, err := c.evaluate(ctx, fn, args...)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return api.NewError(api.CodeInternal, "cannot read the answer of %s", fn)
	}
	return nil
}

// Ready evaluates the version contract.
func (c *Client) Ready(ctx context.Context) error {
	p, err := c.version.NewProposal("Version")
	if err != nil {
		return err
	}
	if _, err := p.EvaluateWithContext(ctx); err != nil {
		return errors.New(classify(err).Message)
	}
	return nil
}

// Chaincode JSON shapes (chaincode/exchange/contract).
type (
	ccInstrument struct {
		Symbol    string `json:"symbol"`
		Currency  string `json:"currency"`
		TickSize  string `json:"tickSize"`
		LotSize   string `json:"lotSize"`
		Algorithm string `json:"algorithm"`
	}
	ccBalance struct {
		Available int64 `json:"available"`
		Reserved  int64 `json:"reserved"`
		Escrowed  int64 `json:"escrowed"`
	}
	ccAccount struct {
		AccountID string               `json:"accountId"`
		Org       string               `json:"org"`
		Balances  map[string]ccBalance `json:"balances"`
	}
	ccOrderRequest struct {
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
	ccOrder struct {
		OrderID        string    `json:"orderId"`
		ClientOrderID  string    `json:"clientOrderId"`
		Account        string    `json:"account"`
		Org            string    `json:"org"`
		Symbol         string    `json:"symbol"`
		Side           string    `json:"side"`
		Type           string    `json:"type"`
		TimeInForce    string    `json:"timeInForce"`
		Price          int64     `json:"price"`
		StopPrice      int64     `json:"stopPrice"`
		Quantity       int64     `json:"quantity"`
		MaxNotional    int64     `json:"maxNotional"`
		ExpireTime     time.Time `json:"expireTime"`
		Status         string    `json:"status"`
		FilledQuantity int64     `json:"filledQuantity"`
		FilledNotional int64     `json:"filledNotional"`
		SubmittedAt    time.Time `json:"submittedAt"`
	}
	ccTrade struct {
		TradeID     string    `json:"tradeId"`
		Symbol      string    `json:"symbol"`
		Price       int64     `json:"price"`
		Quantity    int64     `json:"quantity"`
		BuyOrderID  string    `json:"buyOrderId"`
		SellOrderID string    `json:"sellOrderId"`
		Time        time.Time `json:"time"`
		TxID        string    `json:"txId"`
	}
	ccLevel struct {
		Price    int64 `json:"price"`
		Quantity int64 `json:"quantity"`
		Orders   int   `json:"orders"`
	}
	ccBook struct {
		Symbol string    `json:"symbol"`
		Bids   []ccLevel `json:"bids"`
		Asks   []ccLevel `json:"asks"`
	}
	ccMatch struct {
		Symbol       string            `json:"symbol"`
		Trades       []json.RawMessage `json:"trades"`
		OrderUpdates []json.RawMessage `json:"orderUpdates"`
		Processed    int               `json:"processed"`
		More         bool              `json:"more"`
	}
)

// restStatus maps the chaincode's PENDING (accepted, waiting in intake for the next Match) to
// the REST status NEW: the order is live and nothing is filled.
func restStatus(s string) string {
	if s == "PENDING" {
		return "NEW"
	}
	return s
}

func (i ccInstrument) api() api.Instrument {
	return api.Instrument{Symbol: i.Symbol, Currency: i.Currency, TickSize: i.TickSize, LotSize: i.LotSize, Algorithm: i.Algorithm}
}

func (o ccOrder) api() api.Order {
	return api.Order{
		OrderRequest: api.OrderRequest{ClientOrderID: o.ClientOrderID, Account: o.Account, Symbol: o.Symbol,
			Side: o.Side, Type: o.Type, TimeInForce: o.TimeInForce, Quantity: o.Quantity, Price: o.Price,
			StopPrice: o.StopPrice, MaxNotional: o.MaxNotional, ExpireTime: o.ExpireTime},
		OrderID: o.OrderID, Org: o.Org, Status: restStatus(o.Status), FilledQuantity: o.FilledQuantity,
		FilledNotional: o.FilledNotional, CreatedTime: o.SubmittedAt, TxID: o.OrderID,
	}
}

// Instruments implements api.Ledger.
func (c *Client) Instruments(ctx context.Context) ([]api.Instrument, error) {
	var ins []ccInstrument
	if err := c.evaluateJSON(ctx, &ins, "ListInstruments"); err != nil {
		return nil, err
	}
	out := make([]api.Instrument, 0, len(ins))
	for _, i := range ins {
		out = append(out, i.api())
	}
	return out, nil
}

// Instrument implements api.Ledger.
func (c *Client) Instrument(ctx context.Context, symbol string) (api.Instrument, error) {
	var i ccInstrument
	if err := c.evaluateJSON(ctx, &i, "GetInstrument", symbol); err != nil {
		return api.Instrument{}, err
	}
	return i.api(), nil
}

// Account implements api.Ledger.
func (c *Client) Account(ctx context.Context, id string) (api.Account, error) {
	var a ccAccount
	if err := c.evaluateJSON(ctx, &a, "GetAccount", id); err != nil {
		return api.Account{}, err
	}
	out := api.Account{ID: a.AccountID, Org: a.Org, Balances: map[string]api.Balance{}}
	for asset, b := range a.Balances {
		out.Balances[asset] = api.Balance{Available: b.Available, Reserved: b.Reserved + b.Escrowed}
	}
	return out, nil
}

// Order implements api.Ledger.
func (c *Client) Order(ctx context.Context, id string) (api.Order, error) {
	var o ccOrder
	if err := c.evaluateJSON(ctx, &o, "GetOrder", id); err != nil {
		return api.Order{}, err
	}
	return o.api(), nil
}

// Orders implements api.Ledger: every page of ListOrders (NEW includes PENDING).
func (c *Client) Orders(ctx context.Context, f api.OrderFilter) ([]api.Order, error) {
	status := f.Status
	if status == "NEW" {
		status = ""
	}
	out := []api.Order{}
	after := ""
	for page := 0; page < 100; page++ {
		var p struct {
			Orders []ccOrder `json:"orders"`
			Next   string    `json:"next"`
		}
		if err := c.evaluateJSON(ctx, &p, "ListOrders", f.Account, f.Symbol, status, after, "1000"); err != nil {
			return nil, err
		}
		for _, o := range p.Orders {
			a := o.api()
			if f.Status == "" || a.Status == f.Status {
				out = append(out, a)
			}
		}
		if p.Next == "" {
			break
		}
		after = p.Next
	}
	return out, nil
}

// OrderBook implements api.Ledger.
func (c *Client) OrderBook(ctx context.Context, symbol string, depth int) (api.Book, error) {
	var b ccBook
	if err := c.evaluateJSON(ctx, &b, "GetBook", symbol, strconv.Itoa(depth)); err != nil {
		return api.Book{}, err
	}
	conv := func(ls []ccLevel) []api.Level {
		out := make([]api.Level, 0, len(ls))
		for _, l := range ls {
			out = append(out, api.Level{Price: l.Price, Quantity: l.Quantity, Orders: l.Orders})
		}
		return out
	}
	return api.Book{Symbol: symbol, Bids: conv(b.Bids), Asks: conv(b.Asks)}, nil
}

// Trades implements api.Ledger.
func (c *Client) Trades(ctx context.Context, symbol, after string, limit int) ([]api.Trade, error) {
	var p struct {
		Trades []ccTrade `json:"trades"`
	}
	if err := c.evaluateJSON(ctx, &p, "ListTrades", symbol, after, strconv.Itoa(limit)); err != nil {
		return nil, err
	}
	out := make([]api.Trade, 0, len(p.Trades))
	for _, t := range p.Trades {
		out = append(out, api.Trade{TradeID: t.TradeID, Symbol: t.Symbol, Price: t.Price, Quantity: t.Quantity,
			BuyOrderID: t.BuyOrderID, SellOrderID: t.SellOrderID, Time: t.Time, TxID: t.TxID})
	}
	return out, nil
}

// CreateInstrument implements api.Ledger.
func (c *Client) CreateInstrument(ctx context.Context, in api.Instrument, w api.Write) (api.Instrument, api.Receipt, error) {
	algo := in.Algorithm
	if algo == "" {
		algo = "FIFO"
	}
	res, r, err := c.submit(ctx, call{fn: "ListInstrument", args: []string{in.Symbol, in.Currency, in.TickSize, in.LotSize, algo},
		lock: "instrument/" + in.Symbol, w: w})
	if err != nil {
		return api.Instrument{}, r, err
	}
	var i ccInstrument
	if json.Unmarshal(res, &i) != nil {
		return in, r, nil
	}
	return i.api(), r, nil
}

// OpenAccount implements api.Ledger.
func (c *Client) OpenAccount(ctx context.Context, id string, w api.Write) (api.Account, api.Receipt, error) {
	res, r, err := c.submit(ctx, call{fn: "OpenAccount", args: []string{id}, lock: "account/" + id, w: w})
	if err != nil {
		return api.Account{}, r, err
	}
	var a ccAccount
	_ = json.Unmarshal(res, &a)
	if a.AccountID == "" {
		a.AccountID, a.Org = id, c.msp
	}
	return api.Account{ID: a.AccountID, Org: a.Org}, r, nil
}

// Deposit implements api.Ledger.
func (c *Client) Deposit(ctx context.Context, m api.Movement, w api.Write) (api.Receipt, error) {
	_, r, err := c.submit(ctx, call{fn: "Deposit", args: []string{m.Account, m.Asset, strconv.FormatInt(m.Amount, 10)},
		lock: "account/" + m.Account, w: w})
	return r, err
}

// Withdraw implements api.Ledger.
func (c *Client) Withdraw(ctx context.Context, m api.Movement, w api.Write) (api.Receipt, error) {
	_, r, err := c.submit(ctx, call{fn: "Withdraw", args: []string{m.Account, m.Asset, strconv.FormatInt(m.Amount, 10)},
		lock: "account/" + m.Account, w: w})
	return r, err
}

// PlaceOrder implements api.Ledger.
func (c *Client) PlaceOrder(ctx context.Context, o api.OrderRequest, w api.Write) (api.Order, api.Receipt, error) {
	req := ccOrderRequest{Account: o.Account, Symbol: o.Symbol, ClientOrderID: o.ClientOrderID, Side: o.Side,
		Type: o.Type, TimeInForce: o.TimeInForce, Price: o.Price, StopPrice: o.StopPrice, Quantity: o.Quantity,
		MaxNotional: o.MaxNotional}
	if !o.ExpireTime.IsZero() {
		req.ExpireTime = o.ExpireTime.UTC().Format(time.RFC3339Nano)
	}
	body, _ := json.Marshal(req)
	// An order id is the id of the transaction that entered the order: a different one in the
	// endorsed result is an order the ledger already holds under this clientOrderId (the
	// chaincode returned it unchanged), answered without submitting anything.
	res, r, err := c.submit(ctx, call{fn: "SubmitOrder", args: []string{string(body)}, lock: "account/" + o.Account, w: w,
		worthIt: func(res []byte, txID string) bool { return resultOrderID(res) == txID }})
	if errors.Is(err, errNotWorthIt) {
		r, err = api.Receipt{TxID: resultOrderID(res), Committed: true, Replayed: true}, nil
	}
	if err != nil {
		return api.Order{}, r, err
	}
	var out ccOrder
	if err := json.Unmarshal(res, &out); err != nil || out.OrderID == "" {
		return api.Order{}, r, api.NewError(api.CodeInternal, "cannot read the order the chaincode returned")
	}
	return out.api(), r, nil
}

// resultOrderID returns the orderId of a SubmitOrder result ("" if it has none).
func resultOrderID(res []byte) string {
	var o struct {
		OrderID string `json:"orderId"`
	}
	_ = json.Unmarshal(res, &o)
	return o.OrderID
}

// CancelOrder implements api.Ledger.
func (c *Client) CancelOrder(ctx context.Context, o api.Order, w api.Write) (api.Receipt, error) {
	_, r, err := c.submit(ctx, call{fn: "CancelOrder", args: []string{o.OrderID}, lock: "account/" + o.Account, w: w})
	return r, err
}

// ReplaceOrder implements api.Ledger.
func (c *Client) ReplaceOrder(ctx context.Context, o api.Order, quantity, price int64, w api.Write) (api.Receipt, error) {
	body, _ := json.Marshal(map[string]int64{"quantity": quantity, "price": price})
	_, r, err := c.submit(ctx, call{fn: "ReplaceOrder", args: []string{o.OrderID, string(body)}, lock: "account/" + o.Account, w: w})
	return r, err
}

// Match implements api.Ledger.
func (c *Client) Match(ctx context.Context, symbol string, w api.Write) (api.MatchResult, api.Receipt, error) {
	res, r, err := c.submit(ctx, call{fn: "Match", args: []string{symbol}, lock: "match/" + symbol, w: w})
	if err != nil {
		return api.MatchResult{}, r, err
	}
	var m ccMatch
	_ = json.Unmarshal(res, &m)
	return api.MatchResult{Symbol: symbol, Trades: len(m.Trades)}, r, nil
}

// jitter returns d scaled by a random factor in [0.5, 1.5).
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.5 + rand.Float64()))
}
