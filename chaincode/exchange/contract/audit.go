package contract

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/fabmarket/fabmarket/chaincode/exchange/settle"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// LedgerAudit is the Regulator's full reconciliation of one channel (AuditLedger): the
// per-asset conservation of [Audit], and that every recorded movement was applied exactly once:
//
//   - per account and asset: deposited − withdrawn + what trades, settled agreements and
//     claimed HTLCs moved in and out = available + reserved + escrowed + locked;
//   - per order: the trades that name it add up to its filled quantity and cash; a final order
//     holds no reservation; a clientOrderId maps to exactly one order of its account;
//   - per account and asset: the reserved balance = the reservations of its open orders plus
//     the extra reservations of pending replace requests;
//   - per agreement (HTLC): an open one holds exactly its funded legs (its amount) in escrow, a
//     closed one holds nothing; no escrow belongs to an unknown agreement or HTLC.
//
// Problems lists the first MaxAuditProblems findings in words; OK is true when there are none
// and every asset balances.
type LedgerAudit struct {
	Channel      string                 `json:"channel"`
	Assets       map[string]*AssetAudit `json:"assets"`
	Accounts     int                    `json:"accounts"`
	Orders       int                    `json:"orders"`
	OrderStatus  map[string]int         `json:"orderStatus"`
	ClientIDs    int                    `json:"clientOrderIds"`
	Trades       int                    `json:"trades"`
	Agreements   map[string]int         `json:"agreements"`   // by status
	OpenExpired  int                    `json:"openExpired"`  // open agreements past their deadline
	HTLCs        map[string]int         `json:"htlcs"`        // by status
	LockedExpiry int                    `json:"lockedExpiry"` // LOCKED HTLCs past their timelock
	// Mismatch counts by check: flow (account balance against its movements), fill (order
	// against its trades), reserved, clientOrderId, escrow, trade (trade naming an unknown or
	// different order), order (malformed or final with a reservation).
	Mismatches map[string]int `json:"mismatches"`
	Problems   []string       `json:"problems"`
	// Detail, only for accounts whose id starts with the requested prefix: per account and
	// asset, the ledger's figures and the expected holding.
	Detail map[string]map[string]*AccountAudit `json:"detail,omitempty"`
	OK     bool                                `json:"ok"`
}

// AccountAudit is one account's figures for one asset.
type AccountAudit struct {
	Deposited int64 `json:"deposited"`
	Withdrawn int64 `json:"withdrawn"`
	Traded    int64 `json:"traded"`  // net of trades
	Settled   int64 `json:"settled"` // net of settled agreements
	Swapped   int64 `json:"swapped"` // net of claimed HTLCs
	Held      int64 `json:"held"`    // available + reserved + escrowed + locked
	Reserved  int64 `json:"reserved"`
	Expected  int64 `json:"expected"` // deposited − withdrawn + traded + settled + swapped
}

// MaxAuditProblems bounds the findings AuditLedger lists (all are counted).
const MaxAuditProblems = 50

// assetAudit computes the per-asset conservation of this channel (see Audit), the per-account
// holdings of every (account, asset) it read (when acct is not nil), and the amount of every
// escrow key (when escrows is not nil).
func (t *txn) assetAudit(acct func(a, asset string) *AccountAudit, escrows map[string]int64) (map[string]*AssetAudit, error) {
	out := map[string]*AssetAudit{}
	at := func(asset string) *AssetAudit {
		a := out[asset]
		if a == nil {
			a = &AssetAudit{}
			out[asset] = a
		}
		return a
	}
	overflow := false
	sum := func(dst *int64, v int64) {
		s, ok := addI(*dst, v)
		if !ok {
			overflow = true
		}
		*dst = s
	}
	for _, p := range []string{pBalance, pDelta, pEscrow} {
		rows, err := t.scanPrefix(prefix(p))
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			parts := strings.Split(r.Key, sep)
			if len(parts) < 3 {
				return nil, internal("malformed key %q", r.Key)
			}
			a := at(parts[2])
			var ac *AccountAudit
			if acct != nil {
				ac = acct(parts[1], parts[2])
			}
			if ac == nil {
				ac = &AccountAudit{}
			}
			switch p {
			case pBalance:
				var b baseBalance
				if err := json.Unmarshal(r.Value, &b); err != nil {
					return nil, internal("decode %s: %v", r.Key, err)
				}
				sum(&a.Deposited, b.Deposited)
				sum(&a.Withdrawn, b.Withdrawn)
				sum(&a.Available, b.Available)
				sum(&a.Reserved, b.Reserved)
				sum(&ac.Deposited, b.Deposited)
				sum(&ac.Withdrawn, b.Withdrawn)
				sum(&ac.Held, b.Available+b.Reserved)
				sum(&ac.Reserved, b.Reserved)
			case pDelta:
				var d delta
				if err := json.Unmarshal(r.Value, &d); err != nil {
					return nil, internal("decode %s: %v", r.Key, err)
				}
				sum(&a.Available, d.Available)
				sum(&a.Reserved, d.Reserved)
				sum(&ac.Held, d.Available+d.Reserved)
				sum(&ac.Reserved, d.Reserved)
			case pEscrow:
				var x escrowAmount
				if err := json.Unmarshal(r.Value, &x); err != nil {
					return nil, internal("decode %s: %v", r.Key, err)
				}
				if strings.HasPrefix(lastPart(r.Key), refHTLC) {
					sum(&a.Locked, x.Amount)
				} else {
					sum(&a.Escrowed, x.Amount)
				}
				sum(&ac.Held, x.Amount)
				if escrows != nil {
					escrows[r.Key] = x.Amount
				}
			}
		}
	}
	for _, a := range out {
		sum(&a.Held, a.Available)
		sum(&a.Held, a.Reserved)
		sum(&a.Held, a.Escrowed)
		sum(&a.Held, a.Locked)
		in, ok := addI(a.Deposited, -a.Withdrawn)
		a.OK = ok && !overflow && in == a.Held && a.Available >= 0 && a.Reserved >= 0
	}
	return out, nil
}

// AuditLedger reconciles this channel (see [LedgerAudit]); detailPrefix, when not empty,
// adds the per-asset figures of every account whose id starts with it. Regulator only; both
// channels (payments has no orders, trades or agreements). Read-only: run it as an
// evaluation.
func (e *Exchange) AuditLedger(ctx contractapi.TransactionContextInterface, detailPrefix string) (string, error) {
	t, err := e.beginQuery(ctx, onBoth)
	if err != nil {
		return "", err
	}
	if !t.isRegulator() {
		return "", forbidden("only %s audits", t.cfg.RegulatorMSP)
	}
	rep := &LedgerAudit{Channel: t.channel, OrderStatus: map[string]int{}, Agreements: map[string]int{},
		HTLCs: map[string]int{}, Mismatches: map[string]int{}, Problems: []string{}}
	problem := func(kind, format string, args ...any) {
		rep.Mismatches[kind]++
		if len(rep.Problems) < MaxAuditProblems {
			rep.Problems = append(rep.Problems, kind+": "+fmt.Sprintf(format, args...))
		}
	}
	accts := map[string]map[string]*AccountAudit{}
	acct := func(a, asset string) *AccountAudit {
		m := accts[a]
		if m == nil {
			m = map[string]*AccountAudit{}
			accts[a] = m
		}
		x := m[asset]
		if x == nil {
			x = &AccountAudit{}
			m[asset] = x
		}
		return x
	}
	escrows := map[string]int64{} // esc~ key -> amount held
	if rep.Assets, err = t.assetAudit(acct, escrows); err != nil {
		return "", err
	}
	for _, asset := range sortedKeys(rep.Assets) {
		if a := rep.Assets[asset]; !a.OK {
			problem("asset", "%s: deposited %d − withdrawn %d ≠ held %d (available %d, reserved %d, escrowed %d, locked %d)",
				asset, a.Deposited, a.Withdrawn, a.Held, a.Available, a.Reserved, a.Escrowed, a.Locked)
		}
	}
	rows, err := t.scanPrefix(prefix(pAccount))
	if err != nil {
		return "", err
	}
	rep.Accounts = len(rows)

	// Trades: the movements they made, and the fills per order.
	type fill struct{ qty, cash int64 }
	fills := map[string]*fill{}
	tradeOrders := map[string]string{} // order id -> account named by a trade
	if rows, err = t.scanPrefix(prefix(pTrade)); err != nil {
		return "", err
	}
	for _, r := range rows {
		var tr Trade
		if err := json.Unmarshal(r.Value, &tr); err != nil {
			return "", internal("decode %s: %v", r.Key, err)
		}
		rep.Trades++
		acct(tr.BuyAccount, tr.Symbol).Traded += tr.Quantity
		acct(tr.BuyAccount, tr.Currency).Traded -= tr.Cash
		acct(tr.SellAccount, tr.Symbol).Traded -= tr.Quantity
		acct(tr.SellAccount, tr.Currency).Traded += tr.Cash
		for _, o := range []struct{ id, acct string }{{tr.BuyOrderID, tr.BuyAccount}, {tr.SellOrderID, tr.SellAccount}} {
			f := fills[o.id]
			if f == nil {
				f = &fill{}
				fills[o.id] = f
			}
			f.qty += tr.Quantity
			f.cash += tr.Cash
			if prev, ok := tradeOrders[o.id]; ok && prev != o.acct {
				problem("trade", "trade %s names order %s of account %s, another trade of %s", tr.TradeID, o.id, o.acct, prev)
			}
			tradeOrders[o.id] = o.acct
		}
	}

	// Orders: current state (Match's if any), fills, reservations, client order ids.
	states := map[string]*Order{}
	if rows, err = t.scanPrefix(prefix(pOrderState)); err != nil {
		return "", err
	}
	for _, r := range rows {
		o := &Order{}
		if err := json.Unmarshal(r.Value, o); err != nil {
			return "", internal("decode %s: %v", r.Key, err)
		}
		states[lastPart(r.Key)] = o
	}
	reserved := map[string]int64{} // ACCT~ASSET -> reservations of open orders and requests
	withCID := map[string]string{} // ACCT~CID -> order id
	if rows, err = t.scanPrefix(prefix(pOrder)); err != nil {
		return "", err
	}
	for _, r := range rows {
		id := lastPart(r.Key)
		o := states[id]
		if o == nil {
			o = &Order{}
			if err := json.Unmarshal(r.Value, o); err != nil {
				return "", internal("decode %s: %v", r.Key, err)
			}
		}
		delete(states, id)
		rep.Orders++
		rep.OrderStatus[o.Status]++
		switch o.Status {
		case StatusPending, "NEW", "PARTIALLY_FILLED", "FILLED", "CANCELED", "EXPIRED", "REJECTED":
		default:
			problem("order", "order %s has status %q", id, o.Status)
		}
		f := fills[id]
		if f == nil {
			f = &fill{}
		}
		delete(fills, id)
		if f.qty != o.FilledQuantity || f.cash != o.FilledCash {
			problem("fill", "order %s: filled %d lots for %d, its trades %d lots for %d", id, o.FilledQuantity, o.FilledCash, f.qty, f.cash)
		}
		if a, ok := tradeOrders[id]; ok && a != o.Account {
			problem("trade", "order %s of %s is named by a trade of %s", id, o.Account, a)
		}
		if o.final() {
			if o.Reserved != 0 {
				problem("order", "order %s is %s and still reserves %d %s", id, o.Status, o.Reserved, o.ReservedAsset)
			}
		} else {
			reserved[key(o.Account, o.ReservedAsset)] += o.Reserved
		}
		if o.ClientOrderID != "" {
			ck := key(o.Account, o.ClientOrderID)
			if prev, dup := withCID[ck]; dup {
				problem("clientOrderId", "clientOrderId %s of %s is used by orders %s and %s", o.ClientOrderID, o.Account, prev, id)
			}
			withCID[ck] = id
		}
	}
	for _, id := range sortedKeys(states) {
		problem("order", "order state %s has no submitted order", id)
	}
	for _, id := range sortedKeys(fills) {
		problem("trade", "trades name order %s, which does not exist", id)
	}
	if rows, err = t.scanPrefix(prefix(pClientID)); err != nil {
		return "", err
	}
	for _, r := range rows {
		rep.ClientIDs++
		ck := strings.TrimPrefix(r.Key, prefix(pClientID))
		if withCID[ck] != string(r.Value) {
			problem("clientOrderId", "%s maps to order %s, the order with that id is %q", r.Key, r.Value, withCID[ck])
		}
		delete(withCID, ck)
	}
	for _, ck := range sortedKeys(withCID) {
		problem("clientOrderId", "order %s (%s) has no clientOrderId record", withCID[ck], ck)
	}
	if rows, err = t.scanPrefix(prefix(pRequest)); err != nil {
		return "", err
	}
	for _, r := range rows {
		var q pendingRequest
		if err := json.Unmarshal(r.Value, &q); err != nil {
			return "", internal("decode %s: %v", r.Key, err)
		}
		if q.Extra > 0 {
			reserved[key(q.Account, q.Asset)] += q.Extra
		}
	}

	// Agreements and HTLCs: what their closing moved, and what they must hold in escrow.
	escrowWant := map[string]int64{} // esc~ key -> amount
	if rows, err = t.scanPrefix(prefix(pAgreement)); err != nil {
		return "", err
	}
	for _, r := range rows {
		var a settle.Agreement
		if err := json.Unmarshal(r.Value, &a); err != nil {
			return "", internal("decode %s: %v", r.Key, err)
		}
		rep.Agreements[string(a.Status)]++
		sk := key(pEscrow, a.Seller.Account, a.Symbol, refAgreement+a.ID)
		bk := key(pEscrow, a.Buyer.Account, a.Currency, refAgreement+a.ID)
		escrowWant[sk], escrowWant[bk] = 0, 0
		if a.Status.Closed() {
			acct(a.Seller.Account, a.Symbol).Settled -= a.SettledQuantity
			acct(a.Buyer.Account, a.Symbol).Settled += a.SettledQuantity
			acct(a.Buyer.Account, a.Currency).Settled -= a.SettledCash
			acct(a.Seller.Account, a.Currency).Settled += a.SettledCash
			continue
		}
		escrowWant[sk] += a.SellerFundedQuantity
		escrowWant[bk] += a.BuyerFundedCash
		if !t.now.Before(a.Deadline) {
			rep.OpenExpired++
		}
	}
	if rows, err = t.scanPrefix(prefix(pHTLC)); err != nil {
		return "", err
	}
	for _, r := range rows {
		var h settle.HTLC
		if err := json.Unmarshal(r.Value, &h); err != nil {
			return "", internal("decode %s: %v", r.Key, err)
		}
		rep.HTLCs[string(h.Status)]++
		k := key(pEscrow, h.Sender.Account, h.Asset, refHTLC+h.ID)
		escrowWant[k] += 0
		switch h.Status {
		case settle.HTLCLocked:
			escrowWant[k] += h.Amount
			if !t.now.Before(h.Timelock) {
				rep.LockedExpiry++
			}
		case settle.HTLCClaimed:
			acct(h.Sender.Account, h.Asset).Swapped -= h.Amount
			acct(h.Receiver.Account, h.Asset).Swapped += h.Amount
		}
	}
	for _, k := range sortedKeys(escrows) { // the scan's order
		held := escrows[k]
		want, known := escrowWant[k]
		if !known {
			problem("escrow", "%s holds %d for an unknown agreement or HTLC", k, held)
			continue
		}
		delete(escrowWant, k)
		if held != want {
			problem("escrow", "%s holds %d, its agreement or HTLC %d", k, held, want)
		}
	}
	for _, k := range sortedKeys(escrowWant) {
		if escrowWant[k] != 0 {
			problem("escrow", "%s holds nothing, its agreement or HTLC %d", k, escrowWant[k])
		}
	}

	// Per account and asset: the flow, and the reservations.
	detail := map[string]map[string]*AccountAudit{}
	for _, a := range sortedKeys(accts) {
		for _, asset := range sortedKeys(accts[a]) {
			x := accts[a][asset]
			x.Expected = x.Deposited - x.Withdrawn + x.Traded + x.Settled + x.Swapped
			if x.Expected != x.Held {
				problem("flow", "account %s %s: deposited %d − withdrawn %d + traded %d + settled %d + swapped %d = %d, holds %d",
					a, asset, x.Deposited, x.Withdrawn, x.Traded, x.Settled, x.Swapped, x.Expected, x.Held)
			}
			if want := reserved[key(a, asset)]; want != x.Reserved {
				problem("reserved", "account %s %s reserves %d, its open orders and requests %d", a, asset, x.Reserved, want)
			}
			delete(reserved, key(a, asset))
			if detailPrefix != "" && strings.HasPrefix(a, detailPrefix) {
				if detail[a] == nil {
					detail[a] = map[string]*AccountAudit{}
				}
				detail[a][asset] = x
			}
		}
	}
	for _, k := range sortedKeys(reserved) {
		if reserved[k] != 0 {
			problem("reserved", "%s: open orders reserve %d, the balance nothing", k, reserved[k])
		}
	}
	if len(detail) > 0 {
		rep.Detail = detail
	}
	rep.OK = len(rep.Mismatches) == 0
	return jsonString(rep)
}
