package contract

import (
	"errors"
	"time"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// Contract names (the "Name:" prefix of a function; "exchange" is the default contract).
const (
	ExchangeName   = "exchange"
	SettlementName = "settlement"
	HTLCName       = "htlc"
)

// Config holds the deployment choices of the contracts. [DefaultConfig] matches
// ARCHITECTURE.md.
type Config struct {
	// MarketChannel holds instruments, accounts, orders, matching, agreements and share HTLCs.
	MarketChannel string
	// PaymentsChannel holds cash balances and cash HTLCs for cross-channel swaps.
	PaymentsChannel string
	// RegulatorMSP lists instruments, audits and reads everything.
	RegulatorMSP string
	// Epoch is the length of an intake epoch.
	Epoch time.Duration
	// EpochLag: Match takes the intake of epochs at most current−EpochLag, so that a Submit
	// endorsed just before a Match but committed after it never lands in a range Match read.
	EpochLag int64
	// MaxMatchInputs bounds the intake orders plus cancel/replace requests one Match takes.
	MaxMatchInputs int
	// MaxMatchFills bounds the trades of one Match (soft for FOK orders and pro-rata levels).
	MaxMatchFills int
	// BookLevels is the number of levels per side in the Match event.
	BookLevels int
	// QueryLimit is the peer's ledger.state.totalQueryLimit: a range scan stops there without
	// an error. A read-only function pages through larger ranges; a scan of a transaction
	// that writes and reaches the limit fails instead of working on a truncated range.
	QueryLimit int
	// PageSize is the page of a read-only function's range scans (below QueryLimit).
	PageSize int
}

// DefaultConfig returns the configuration of the consortium network.
func DefaultConfig() Config {
	return Config{
		MarketChannel:   "market",
		PaymentsChannel: "payments",
		RegulatorMSP:    "RegulatorMSP",
		Epoch:           time.Second,
		EpochLag:        2,
		MaxMatchInputs:  200,
		MaxMatchFills:   400,
		BookLevels:      10,
		QueryLimit:      100_000,
		PageSize:        10_000,
	}
}

func (c Config) check() error {
	switch {
	case c.MarketChannel == "" || c.PaymentsChannel == "" || c.MarketChannel == c.PaymentsChannel:
		return errors.New("contract: market and payments channels must be set and differ")
	case c.RegulatorMSP == "":
		return errors.New("contract: RegulatorMSP must be set")
	case c.Epoch <= 0 || c.EpochLag < 1:
		return errors.New("contract: Epoch must be positive and EpochLag at least 1")
	case c.MaxMatchInputs < 1 || c.MaxMatchFills < 1 || c.BookLevels < 1:
		return errors.New("contract: Match budgets and BookLevels must be positive")
	case c.PageSize < 1 || c.QueryLimit <= c.PageSize:
		return errors.New("contract: PageSize must be positive and below QueryLimit")
	}
	return nil
}

// core is what the three contracts share.
type core struct {
	cfg   Config
	books *bookCache // books recently seen by Match, by content hash
}

// Exchange is the contract "exchange": instruments, accounts, deposits and withdrawals,
// orders, matching, queries and the Regulator's audit.
type Exchange struct {
	contractapi.Contract
	*core
}

// Settlement is the contract "settlement": bilateral DvP escrow agreements (issue 5).
type Settlement struct {
	contractapi.Contract
	*core
}

// HTLCs is the contract "htlc": hash-time-locked contracts on shares (market) and cash
// (payments).
type HTLCs struct {
	contractapi.Contract
	*core
}

// New returns the contracts of the exchange chaincode with [DefaultConfig], the exchange
// contract first (the default one).
func New() []contractapi.ContractInterface {
	e, s, h, _ := NewContracts(DefaultConfig()) // the default configuration is valid (tested)
	return []contractapi.ContractInterface{e, s, h}
}

// NewContracts returns the three contracts for cfg, or an error if cfg is not valid.
func NewContracts(cfg Config) (*Exchange, *Settlement, *HTLCs, error) {
	if err := cfg.check(); err != nil {
		return nil, nil, nil, err
	}
	c := &core{cfg: cfg, books: newBookCache(defaultBookCacheBytes)}
	e := &Exchange{core: c}
	e.Name = ExchangeName
	e.Info.Title = "Exchange"
	e.Info.Description = "Instruments, accounts, order book with periodic matching and settlement at match"
	s := &Settlement{core: c}
	s.Name = SettlementName
	s.Info.Title = "Settlement"
	s.Info.Description = "Bilateral delivery-versus-payment escrow agreements"
	h := &HTLCs{core: c}
	h.Name = HTLCName
	h.Info.Title = "HTLC"
	h.Info.Description = "Hash-time-locked contracts for cross-channel swaps"
	return e, s, h, nil
}

// GetEvaluateTransactions lists the read-only functions of the exchange contract.
func (e *Exchange) GetEvaluateTransactions() []string {
	return []string{"GetInstrument", "ListInstruments", "GetAccount", "ListAccounts", "GetOrder",
		"ListOrders", "GetBook", "ListTrades", "Audit", "AuditLedger"}
}

// GetEvaluateTransactions lists the read-only functions of the settlement contract.
func (s *Settlement) GetEvaluateTransactions() []string {
	return []string{"Get", "List"}
}

// GetEvaluateTransactions lists the read-only functions of the htlc contract.
func (h *HTLCs) GetEvaluateTransactions() []string {
	return []string{"Get"}
}

// channelSet says on which channels a function runs.
type channelSet uint8

const (
	onMarket   channelSet = 1
	onPayments channelSet = 2
	onBoth                = onMarket | onPayments
)
