package contract

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/fabmarket/fabmarket/chaincode/exchange/book"
	"github.com/fabmarket/fabmarket/chaincode/exchange/units"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// Matching algorithms of an instrument.
const (
	AlgoFIFO    = "FIFO"
	AlgoProRata = "PRO_RATA"
)

// Instrument is a listed instrument. Prices are integers of TickSize, quantities integers of
// LotSize; one lot costs CashPerLotTick minor units of Currency per tick of price.
type Instrument struct {
	Symbol         string    `json:"symbol"`
	Currency       string    `json:"currency"`
	TickSize       string    `json:"tickSize"`
	LotSize        string    `json:"lotSize"`
	Algorithm      string    `json:"algorithm"`
	CashPerLotTick int64     `json:"cashPerLotTick"`
	ListedAt       time.Time `json:"listedAt"`
	ListedBy       string    `json:"listedBy"`
}

func (i *Instrument) bookConfig() book.Config {
	cfg := book.Config{Algorithm: book.FIFO}
	if i.Algorithm == AlgoProRata {
		cfg.Algorithm = book.ProRata
	}
	return cfg
}

// Account is an account opened by an org for one of its clients.
type Account struct {
	AccountID string    `json:"accountId"`
	Org       string    `json:"org"`
	OpenedAt  time.Time `json:"openedAt"`
	TxID      string    `json:"txId"`
}

// AccountView is an account with its balances per asset (currency code or symbol).
type AccountView struct {
	Account
	Balances map[string]*Balance `json:"balances"`
}

// CashMovement is the result and the event payload of Deposit and Withdraw.
type CashMovement struct {
	AccountID string    `json:"accountId"`
	Org       string    `json:"org"`
	Asset     string    `json:"asset"`
	Amount    int64     `json:"amount"`
	TxID      string    `json:"txId"`
	Time      time.Time `json:"time"`
}

// ListInstrument lists an instrument. Regulator only, channel market. tickSize and lotSize are
// exact positive decimal strings; one tick × one lot must be a whole number of minor units of
// currency (a supported ISO 4217 code). algorithm is FIFO or PRO_RATA. Returns the
// instrument; event "InstrumentListed".
func (e *Exchange) ListInstrument(ctx contractapi.TransactionContextInterface, symbol, currency, tickSize, lotSize, algorithm string) (string, error) {
	t, err := e.begin(ctx, onMarket)
	if err != nil {
		return "", err
	}
	if !t.isRegulator() {
		return "", forbidden("only %s lists instruments", t.cfg.RegulatorMSP)
	}
	if err := checkSymbol("symbol", symbol); err != nil {
		return "", err
	}
	if units.IsCurrency(symbol) {
		return "", invalidArg("symbol", "%q is a currency code", symbol)
	}
	if !units.IsCurrency(currency) {
		return "", invalidArg("currency", "%q is not a supported currency (%v)", currency, units.Currencies())
	}
	if err := units.ParseUnit(tickSize); err != nil {
		return "", invalidArg("tickSize", "%v", err)
	}
	if err := units.ParseUnit(lotSize); err != nil {
		return "", invalidArg("lotSize", "%v", err)
	}
	if algorithm != AlgoFIFO && algorithm != AlgoProRata {
		return "", invalidArg("algorithm", "must be FIFO or PRO_RATA")
	}
	cpl, err := units.CashPerLotTick(tickSize, lotSize, currency)
	if err != nil {
		return "", invalidArg("tickSize", "%v", err)
	}
	k := key(pInstrument, symbol)
	if old, err := t.get(k); err != nil {
		return "", err
	} else if old != nil {
		return "", conflict("instrument %s is already listed", symbol)
	}
	ins := &Instrument{Symbol: symbol, Currency: currency, TickSize: tickSize, LotSize: lotSize,
		Algorithm: algorithm, CashPerLotTick: cpl, ListedAt: t.now, ListedBy: t.org}
	if err := t.put(k, ins); err != nil {
		return "", err
	}
	t.event("InstrumentListed", ins)
	if err := t.flush(); err != nil {
		return "", err
	}
	return jsonString(ins)
}

// instrument loads a listed instrument (NOT_FOUND otherwise).
func (t *txn) instrument(field, symbol string) (*Instrument, error) {
	if err := checkSymbol(field, symbol); err != nil {
		return nil, err
	}
	ins := &Instrument{}
	ok, err := t.getJSON(key(pInstrument, symbol), ins)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound("instrument %s is not listed", symbol)
	}
	return ins, nil
}

// GetInstrument returns one instrument. Anyone, channel market.
func (e *Exchange) GetInstrument(ctx contractapi.TransactionContextInterface, symbol string) (string, error) {
	t, err := e.beginQuery(ctx, onMarket)
	if err != nil {
		return "", err
	}
	ins, err := t.instrument("symbol", symbol)
	if err != nil {
		return "", err
	}
	return jsonString(ins)
}

// ListInstruments returns every instrument, by symbol. Anyone, channel market.
func (e *Exchange) ListInstruments(ctx contractapi.TransactionContextInterface) (string, error) {
	t, err := e.beginQuery(ctx, onMarket)
	if err != nil {
		return "", err
	}
	rows, err := t.scanPrefix(prefix(pInstrument))
	if err != nil {
		return "", err
	}
	out := make([]json.RawMessage, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.Value)
	}
	return jsonString(out)
}

// OpenAccount opens an account owned by the caller's org; accountId is chosen by the org
// (1..64 characters of [A-Za-z0-9._:-]) and unique on the channel (CONFLICT otherwise). Any
// org, both channels (open the same id on both for swaps). Event "AccountOpened".
func (e *Exchange) OpenAccount(ctx contractapi.TransactionContextInterface, accountID string) (string, error) {
	t, err := e.begin(ctx, onBoth)
	if err != nil {
		return "", err
	}
	if err := checkIdent("accountId", accountID, 64); err != nil {
		return "", err
	}
	k := key(pAccount, accountID)
	if old, err := t.get(k); err != nil {
		return "", err
	} else if old != nil {
		return "", conflict("account %s already exists", accountID)
	}
	a := &Account{AccountID: accountID, Org: t.org, OpenedAt: t.now, TxID: t.id}
	if err := t.put(k, a); err != nil {
		return "", err
	}
	t.event("AccountOpened", a)
	if err := t.flush(); err != nil {
		return "", err
	}
	return jsonString(AccountView{Account: *a, Balances: map[string]*Balance{}})
}

// account loads an account (NOT_FOUND otherwise).
func (t *txn) account(field, id string) (*Account, error) {
	if err := checkIdent(field, id, 64); err != nil {
		return nil, err
	}
	a := &Account{}
	ok, err := t.getJSON(key(pAccount, id), a)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound("account %s does not exist on channel %s", id, t.channel)
	}
	return a, nil
}

// ownAccount loads an account that the caller's org owns (FORBIDDEN otherwise).
func (t *txn) ownAccount(field, id string) (*Account, error) {
	a, err := t.account(field, id)
	if err != nil {
		return nil, err
	}
	if a.Org != t.org {
		return nil, forbidden("account %s belongs to %s, not to %s", id, a.Org, t.org)
	}
	return a, nil
}

// readableAccount loads an account that the caller's org owns or that the Regulator reads.
func (t *txn) readableAccount(field, id string) (*Account, error) {
	a, err := t.account(field, id)
	if err != nil {
		return nil, err
	}
	if a.Org != t.org && !t.isRegulator() {
		return nil, forbidden("account %s belongs to %s; only it and %s may read it", id, a.Org, t.cfg.RegulatorMSP)
	}
	return a, nil
}

// GetAccount returns an account with its balances {asset: {available, reserved, escrowed}}
// (pending deltas included). The owning org and the Regulator; both channels.
func (e *Exchange) GetAccount(ctx contractapi.TransactionContextInterface, accountID string) (string, error) {
	t, err := e.beginQuery(ctx, onBoth)
	if err != nil {
		return "", err
	}
	a, err := t.readableAccount("accountId", accountID)
	if err != nil {
		return "", err
	}
	bals, err := t.balances(accountID)
	if err != nil {
		return "", err
	}
	return jsonString(AccountView{Account: *a, Balances: bals})
}

// ListAccounts returns the accounts of the caller's org (every account for the Regulator),
// by id, without balances. Both channels.
func (e *Exchange) ListAccounts(ctx contractapi.TransactionContextInterface) (string, error) {
	t, err := e.beginQuery(ctx, onBoth)
	if err != nil {
		return "", err
	}
	rows, err := t.scanPrefix(prefix(pAccount))
	if err != nil {
		return "", err
	}
	out := []Account{}
	for _, r := range rows {
		var a Account
		if err := json.Unmarshal(r.Value, &a); err != nil {
			return "", internal("decode %s: %v", r.Key, err)
		}
		if a.Org == t.org || t.isRegulator() {
			out = append(out, a)
		}
	}
	return jsonString(out)
}

// checkAsset accepts a supported currency on both channels and a listed symbol on market.
func (t *txn) checkAsset(field, asset string) error {
	if units.IsCurrency(asset) {
		return nil
	}
	if !t.onMarket() {
		return invalidArg(field, "%q is not a supported currency (%v); channel %s holds cash only", asset, units.Currencies(), t.channel)
	}
	if _, err := t.instrument(field, asset); err != nil {
		if CodeOf(err) == CodeNotFound {
			return invalidArg(field, "%q is neither a supported currency nor a listed instrument", asset)
		}
		return err
	}
	return nil
}

// parseAmount parses a positive integer amount (minor units or lots).
func parseAmount(field, s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || s[0] == '+' {
		return 0, invalidArg(field, "%q is not a positive integer (minor units or lots)", s)
	}
	return n, nil
}

// Deposit credits amount (a positive integer: minor units of a currency, or lots of a listed
// symbol on market) to the available balance of an account. Only the account's org; both
// channels (cash only on payments). Event "Deposit".
func (e *Exchange) Deposit(ctx contractapi.TransactionContextInterface, accountID, asset, amount string) (string, error) {
	return e.move(ctx, accountID, asset, amount, true)
}

// Withdraw debits amount from the available balance of an account (INSUFFICIENT_FUNDS if it
// is not there). Only the account's org; both channels. Event "Withdrawal".
func (e *Exchange) Withdraw(ctx contractapi.TransactionContextInterface, accountID, asset, amount string) (string, error) {
	return e.move(ctx, accountID, asset, amount, false)
}

func (e *Exchange) move(ctx contractapi.TransactionContextInterface, accountID, asset, amount string, deposit bool) (string, error) {
	t, err := e.begin(ctx, onBoth)
	if err != nil {
		return "", err
	}
	if _, err := t.ownAccount("accountId", accountID); err != nil {
		return "", err
	}
	if err := t.checkAsset("asset", asset); err != nil {
		return "", err
	}
	n, err := parseAmount("amount", amount)
	if err != nil {
		return "", err
	}
	var b *baseBalance
	name := "Deposit"
	if deposit {
		if b, err = t.base(accountID, asset); err != nil {
			return "", err
		}
		av, ok1 := addI(b.Available, n)
		dep, ok2 := addI(b.Deposited, n)
		if !ok1 || !ok2 {
			return "", invalidArg("amount", "balance would overflow")
		}
		b.Available, b.Deposited = av, dep
	} else {
		name = "Withdrawal"
		if b, err = t.debit(accountID, asset, n); err != nil {
			return "", err
		}
		w, ok := addI(b.Withdrawn, n)
		if !ok {
			return "", invalidArg("amount", "withdrawn total would overflow")
		}
		b.Withdrawn = w
	}
	m := &CashMovement{AccountID: accountID, Org: t.org, Asset: asset, Amount: n, TxID: t.id, Time: t.now}
	t.event(name, m)
	if err := t.flush(); err != nil {
		return "", err
	}
	return jsonString(m)
}
