package contract

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// Book depth limits of GetBook.
const (
	DefaultDepth = 10
	MaxDepth     = 1000
)

// each calls fn for the committed keys in [start, end) in order until fn returns false.
// A read-only function reads the range page by page, however long it is; any other
// transaction reads it in one scan, which fails rather than stopping silently at the peer's
// QueryLimit.
func (t *txn) each(start, end string, fn func(kv) (bool, error)) error {
	if !t.readOnly {
		n := 0
		it, err := t.stub.GetStateByRange(start, end)
		if err != nil {
			return internal("scan %s: %v", start, err)
		}
		_, err = drain(start, it, func(r kv) (bool, error) {
			if n++; n >= t.cfg.QueryLimit {
				return false, t.queryLimitErr(start)
			}
			return fn(r)
		})
		return err
	}
	bookmark := ""
	for {
		it, meta, err := t.stub.GetStateByRangeWithPagination(start, end, int32(t.cfg.PageSize), bookmark)
		if err != nil {
			return internal("scan %s: %v", start, err)
		}
		more, err := drain(start, it, fn)
		if err != nil || !more || meta == nil || meta.GetBookmark() == "" || int(meta.GetFetchedRecordsCount()) < t.cfg.PageSize {
			return err
		}
		bookmark = meta.GetBookmark()
	}
}

// queryLimitErr is the error of a writing transaction's scan from start that reaches the
// peer's query limit.
func (t *txn) queryLimitErr(start string) error {
	return internal("scan %s: %d keys or more, the peer's query limit; the range would be cut short", start, t.cfg.QueryLimit)
}

// drain calls fn for each result of it, the scan from start, until fn returns false (more is
// then false).
func drain(start string, it shim.StateQueryIteratorInterface, fn func(kv) (bool, error)) (more bool, err error) {
	for {
		if !it.HasNext() {
			// The peer dropped the iterator with its last page: closing it now would
			// only cost another round trip to the peer (one per scan of every Match).
			return true, nil
		}
		r, err := it.Next()
		if err != nil {
			_ = it.Close()
			return false, internal("scan %s: %v", start, err)
		}
		more, err := fn(kv{Key: r.Key, Value: r.Value})
		if err != nil || !more {
			_ = it.Close()
			return false, err
		}
	}
}

// GetBook returns the aggregated depth of a symbol's book, best levels first: up to depth
// levels per side ("" = 10, at most 1000). Orders still in intake are not in the book until
// the next Match; expired GTT orders count until the next Match removes them. Anyone, channel
// market.
func (e *Exchange) GetBook(ctx contractapi.TransactionContextInterface, symbol, depth string) (string, error) {
	t, err := e.beginQuery(ctx, onMarket)
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
	t, err := e.beginQuery(ctx, onMarket)
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
	t, err := e.beginQuery(ctx, onBoth)
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
