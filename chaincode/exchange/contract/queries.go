package contract

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// Book depth limits of GetBook.
const (
	DefaultDepth = 10
	MaxDepth     = 1000
)

// each calls fn for the committed keys in [start, end) in order until fn returns false.
func (t *txn) each(start, end string, fn func(kv) (bool, error)) error {
	it, err := t.stub.GetStateByRange(start, end)
	if err != nil {
		return internal("scan %s: %v", start, err)
	}
	defer it.Close()
	for it.HasNext() {
		r, err := it.Next()
		if err != nil {
			return internal("scan %s: %v", start, err)
		}
		more, err := fn(kv{Key: r.Key, Value: r.Value})
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// GetBook returns the aggregated depth of a symbol's book, best levels first: up to depth
// levels per side ("" = 10, at most 1000). Orders still in intake are not in the book until
// the next Match; expired GTT orders count until the next Match removes them. Anyone, channel
// market.
func (e *Exchange) GetBook(ctx contractapi.TransactionContextInterface, symbol, depth string) (string, error) {
	t, err := e.begin(ctx, onMarket)
	if err != nil {
		return "", err
	}
	if _, err := t.instrument("symbol", symbol); err != nil {
		return "", err
	}
	n := DefaultDepth
	if depth != "" {
		if n, err = strconv.Atoi(depth); err != nil || n < 1 || n > MaxDepth {
			return "", invalidArg("depth", "%q: must be an integer in [1, %d]", depth, MaxDepth)
		}
	}
	v := BookView{Symbol: symbol, Bids: []Level{}, Asks: []Level{}}
	var bs bookState
	if _, err := t.getJSON(key(pBook, symbol), &bs); err != nil {
		return "", err
	}
	v.LastPrice = bs.LastPrice
	for _, side := range []string{"B", "A"} {
		levels := &v.Bids
		if side == "A" {
			levels = &v.Asks
		}
		p := prefix(pLive, symbol, side)
		err := t.each(p, prefixEnd(p), func(r kv) (bool, error) {
			var o Order
			if err := json.Unmarshal(r.Value, &o); err != nil {
				return false, internal("decode %s: %v", r.Key, err)
			}
			ls := *levels
			if k := len(ls); k > 0 && ls[k-1].Price == o.Price {
				ls[k-1].Quantity += o.RemainingQuantity
				ls[k-1].Orders++
				return true, nil
			}
			if len(ls) == n {
				return false, nil
			}
			*levels = append(ls, Level{Price: o.Price, Quantity: o.RemainingQuantity, Orders: 1})
			return true, nil
		})
		if err != nil {
			return "", err
		}
	}
	return jsonString(v)
}

// TradePage is a page of ListTrades; Next is the tradeId to pass as after for the following
// page ("" at the end).
type TradePage struct {
	Trades []json.RawMessage `json:"trades"`
	Next   string            `json:"next"`
}

// ListTrades returns the trades of a symbol in execution order, after the trade after
// ("" = from the first), at most limit ("" = 100, at most 1000). Anyone, channel market.
func (e *Exchange) ListTrades(ctx contractapi.TransactionContextInterface, symbol, after, limit string) (string, error) {
	t, err := e.begin(ctx, onMarket)
	if err != nil {
		return "", err
	}
	if _, err := t.instrument("symbol", symbol); err != nil {
		return "", err
	}
	n, err := parseLimit(limit)
	if err != nil {
		return "", err
	}
	p := prefix(pTrade, symbol)
	start := p
	if after != "" {
		seq, err := strconv.ParseUint(strings.TrimPrefix(after, symbol+"-"), 10, 64)
		if err != nil || !strings.HasPrefix(after, symbol+"-") {
			return "", invalidArg("after", "%q is not a trade id of %s", after, symbol)
		}
		start = key(pTrade, symbol, pad(seq)) + "\x00"
	}
	page := TradePage{Trades: []json.RawMessage{}}
	more := false
	var last string
	err = t.each(start, prefixEnd(p), func(r kv) (bool, error) {
		if len(page.Trades) == n {
			more = true
			return false, nil
		}
		page.Trades = append(page.Trades, r.Value)
		last = r.Key
		return true, nil
	})
	if err != nil {
		return "", err
	}
	if more {
		seq, _ := strconv.ParseUint(lastPart(last), 10, 64)
		page.Next = tradeID(symbol, seq)
	}
	return jsonString(page)
}

// AssetAudit is the conservation check of one asset: what came in minus what went out must
// equal what is held (available + reserved, pending deltas included, + escrowed in
// agreements + locked in HTLCs).
type AssetAudit struct {
	Deposited int64 `json:"deposited"`
	Withdrawn int64 `json:"withdrawn"`
	Available int64 `json:"available"`
	Reserved  int64 `json:"reserved"`
	Escrowed  int64 `json:"escrowed"`
	Locked    int64 `json:"locked"`
	Held      int64 `json:"held"`
	OK        bool  `json:"ok"`
}

// Audit checks conservation on this channel: per asset, deposited − withdrawn against the sum
// of all balances, escrows and locked HTLCs. Any negative total balance also fails the check.
// Regulator only; both channels. Returns {asset: AssetAudit}.
func (e *Exchange) Audit(ctx contractapi.TransactionContextInterface) (string, error) {
	t, err := e.begin(ctx, onBoth)
	if err != nil {
		return "", err
	}
	if !t.isRegulator() {
		return "", forbidden("only %s audits", t.cfg.RegulatorMSP)
	}
	out, err := t.assetAudit(nil, nil)
	if err != nil {
		return "", err
	}
	return jsonString(out)
}
