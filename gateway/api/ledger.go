package api

import (
	"context"
	"time"
)

// Ledger is what the handlers need from the exchange chaincode. Values are in the chaincode's
// integer units (price ticks, quantity lots, cash minor units); the handlers convert them from
// and to the decimal strings of the REST contract. gateway/fabric implements it over
// fabric-gateway; tests use a fake.
//
// Errors: a *Error (for example the coded error of a chaincode rejection, or ErrUnavailable
// wrapped in one) is answered as is; any other error is answered 500.
type Ledger interface {
	// Ready reports whether the peer answers.
	Ready(ctx context.Context) error

	// Instruments lists the listed instruments, by symbol.
	Instruments(ctx context.Context) ([]Instrument, error)
	// Instrument returns one instrument or a NOT_FOUND *Error.
	Instrument(ctx context.Context, symbol string) (Instrument, error)
	// Account returns an account with its balances or a NOT_FOUND *Error.
	Account(ctx context.Context, id string) (Account, error)
	// Order returns an order or a NOT_FOUND *Error.
	Order(ctx context.Context, id string) (Order, error)
	// Orders lists orders matching the filter.
	Orders(ctx context.Context, f OrderFilter) ([]Order, error)
	// OrderBook returns up to depth aggregated levels per side, best first.
	OrderBook(ctx context.Context, symbol string, depth int) (Book, error)
	// Trades lists trades of symbol after the trade id after (exclusive; "" from the start),
	// oldest first, at most limit.
	Trades(ctx context.Context, symbol, after string, limit int) ([]Trade, error)
	// Transaction reports the commit status of a transaction.
	Transaction(ctx context.Context, txID string) (TxStatus, error)

	// CreateInstrument lists an instrument (Regulator only).
	CreateInstrument(ctx context.Context, in Instrument, w Write) (Instrument, Receipt, error)
	// OpenAccount opens an account for the caller's org.
	OpenAccount(ctx context.Context, id string, w Write) (Account, Receipt, error)
	// Deposit credits amount units of asset to an account.
	Deposit(ctx context.Context, m Movement, w Write) (Receipt, error)
	// Withdraw debits amount units of asset from an account.
	Withdraw(ctx context.Context, m Movement, w Write) (Receipt, error)
	// PlaceOrder enters an order; the returned order is what the chaincode accepted.
	PlaceOrder(ctx context.Context, o OrderRequest, w Write) (Order, Receipt, error)
	// CancelOrder asks the next match to cancel a live order (o as returned by Order).
	CancelOrder(ctx context.Context, o Order, w Write) (Receipt, error)
	// ReplaceOrder asks the next match to change quantity and/or price of a live order
	// (0 = unchanged).
	ReplaceOrder(ctx context.Context, o Order, quantity, price int64, w Write) (Receipt, error)
	// Match runs one match transaction for symbol.
	Match(ctx context.Context, symbol string, w Write) (MatchResult, Receipt, error)

	// NumbersLedger serves the number-transfer routes (channel numbers).
	NumbersLedger
	// SettlementsLedger serves the escrow routes (settlement contract, channel market).
	SettlementsLedger
	// HTLCLedger serves the HTLC routes (htlc contract, channels market and payments).
	HTLCLedger
}

// Write carries what every write needs besides its arguments.
type Write struct {
	// Wait asks to return only after the commit status (or when ctx ends).
	Wait bool
	// IdempotencyKey, when not empty, binds the request to the transaction it produces.
	IdempotencyKey string
	// KeyInLedger says that the chaincode itself refuses a second transaction for this key
	// (an order's clientOrderId): the gateway then keeps the binding in memory only, where
	// concurrent and recent repeats join the first request, and lets the chaincode answer
	// later repeats, instead of persisting a record for every order.
	KeyInLedger bool
	// Fingerprint identifies the request (method, path and canonical body): the same key with
	// another fingerprint is a conflict.
	Fingerprint string
}

// Receipt is the outcome of a write as far as it is known when the handler answers.
type Receipt struct {
	TxID      string
	Committed bool   // the commit status arrived and the transaction is VALID
	Block     uint64 // block number, when committed
	Replayed  bool   // answered from an earlier request with the same idempotency key
}

// Instrument is a listed instrument. TickSize and LotSize are decimal strings.
type Instrument struct {
	Symbol    string
	Currency  string
	TickSize  string
	LotSize   string
	Algorithm string // FIFO (default) or PRO_RATA
}

// Price renders a price in ticks as a decimal string.
func (in Instrument) Price(ticks int64) string { return fmtUnits(ticks, in.TickSize) }

// Qty renders a quantity in lots as a decimal string.
func (in Instrument) Qty(lots int64) string { return fmtUnits(lots, in.LotSize) }

// Balance is one asset of an account, in units (cash: minor units; shares: lots).
type Balance struct {
	Available int64
	Reserved  int64
}

// Account is an account and its balances by asset.
type Account struct {
	ID       string
	Org      string // owning org ("org1", ..., "regulator")
	Balances map[string]Balance
}

// Movement is a deposit or a withdrawal.
type Movement struct {
	Account string
	Asset   string
	Amount  int64
}

// OrderRequest is a new order in chaincode units. Zero means absent for Price, StopPrice and
// MaxNotional (cash minor units); ExpireTime is zero unless GTT.
type OrderRequest struct {
	ClientOrderID string
	Account       string
	Symbol        string
	Side          string
	Type          string
	TimeInForce   string
	Quantity      int64
	Price         int64
	StopPrice     int64
	MaxNotional   int64
	ExpireTime    time.Time
}

// Order is an order as the ledger knows it.
type Order struct {
	OrderRequest
	OrderID        string
	Org            string // MSP ID of the account's org
	Status         string
	FilledQuantity int64
	FilledNotional int64 // Σ price×quantity of the fills, in tick-lots
	CreatedTime    time.Time
	TxID           string
}

// OrderFilter selects orders; empty fields match everything.
type OrderFilter struct {
	Account string
	Symbol  string
	Status  string
}

// Level is an aggregated price level.
type Level struct {
	Price    int64
	Quantity int64
	Orders   int
}

// Book is an aggregated order book, best levels first.
type Book struct {
	Symbol string
	Bids   []Level
	Asks   []Level
}

// Trade is an executed trade.
type Trade struct {
	TradeID     string
	Symbol      string
	Price       int64
	Quantity    int64
	BuyOrderID  string
	SellOrderID string
	Time        time.Time
	TxID        string
}

// MatchResult summarizes a match transaction.
type MatchResult struct {
	Symbol string
	Trades int
}

// TxStatus is the commit status of a transaction.
type TxStatus struct {
	TxID           string
	Status         string // PENDING, VALID or INVALID
	ValidationCode string // VALID, MVCC_READ_CONFLICT, ...; empty while PENDING
	BlockNumber    uint64
	SupersededBy   string // the transaction that replaced it after an MVCC conflict, if any
}

// Transaction statuses.
const (
	TxPending = "PENDING"
	TxValid   = "VALID"
	TxInvalid = "INVALID"
)
