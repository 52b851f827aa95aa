package contract

import (
	"errors"
	"time"

	"github.com/fabmarket/fabmarket/chaincode/exchange/settle"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// Escrow references: the ref component of an esc~ key is the agreement or HTLC id with a
// kind prefix, so an agreement and an HTLC with the same id never share an escrow.
const (
	refAgreement = "A:"
	refHTLC      = "H:"
)

// applyMoves applies the movements of one settle operation atomically: debits of AVAILABLE
// come from the base balance of the caller's own account (INSUFFICIENT_FUNDS fails the whole
// transaction), credits of AVAILABLE are deltas (the receiving account's org may be
// submitting at the same time), escrow buckets are keyed by (account, asset, ref) and never go
// negative.
func (t *txn) applyMoves(ms []settle.Movement, refKind string) error {
	if err := settle.CheckMovements(ms); err != nil {
		return internal("movements: %v", err)
	}
	for _, m := range ms {
		ref := refKind + m.Ref
		switch m.From.Bucket {
		case settle.Available:
			if _, err := t.debit(m.From.Account, m.Asset, m.Amount); err != nil {
				return err
			}
		case settle.Escrow:
			e, err := t.escrow(m.From.Account, m.Asset, ref)
			if err != nil {
				return err
			}
			if e.Amount < m.Amount {
				return internal("escrow %s of %s %s holds %d, %d to move", ref, m.From.Account, m.Asset, e.Amount, m.Amount)
			}
			e.Amount -= m.Amount
		}
		switch m.To.Bucket {
		case settle.Available:
			if err := t.credit(m.To.Account, m.Asset, m.Amount, 0); err != nil {
				return err
			}
		case settle.Escrow:
			e, err := t.escrow(m.To.Account, m.Asset, ref)
			if err != nil {
				return err
			}
			s, ok := addI(e.Amount, m.Amount)
			if !ok {
				return invalidArg("quantity", "escrow overflows")
			}
			e.Amount = s
		}
	}
	return nil
}

// SettlementRequest is the argument of Propose (JSON, as POST /v1/settlements with integer
// units): accounts by id, quantity in lots, price in ticks, deadline RFC 3339. SettlementID is
// optional (default: the transaction id).
type SettlementRequest struct {
	SettlementID string `json:"settlementId"`
	Seller       string `json:"seller"`
	Buyer        string `json:"buyer"`
	Symbol       string `json:"symbol"`
	Quantity     int64  `json:"quantity"`
	Price        int64  `json:"price"`
	Currency     string `json:"currency"`
	Deadline     string `json:"deadline"`
	AllowPartial bool   `json:"allowPartial"`
	Notary       string `json:"notary"`
}

// SettlementEvent is the payload of the "Settlement" event.
type SettlementEvent struct {
	SettlementID string            `json:"settlementId"`
	Status       settle.Status     `json:"status"`
	Action       string            `json:"action"`
	SenderOrg    string            `json:"senderOrg"`
	Buyer        string            `json:"buyer"`
	Seller       string            `json:"seller"`
	Movements    []settle.Movement `json:"movements"`
	Time         time.Time         `json:"time"`
	TxID         string            `json:"txId"`
}

func parseTime(field, s string) (time.Time, error) {
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, invalidArg(field, "%q is not an RFC 3339 time", s)
	}
	return ts.UTC(), nil
}

// Propose proposes an escrow agreement (request: JSON [SettlementRequest]); the caller's org
// must own the buyer's or the seller's account; the currency must be the instrument's.
// Channel market. Returns the agreement {settlementId, status: PROPOSED, ...}; event
// "Settlement".
func (s *Settlement) Propose(ctx contractapi.TransactionContextInterface, request string) (string, error) {
	t, err := s.begin(ctx, onMarket)
	if err != nil {
		return "", err
	}
	var req SettlementRequest
	if err := decodeStrict("request", request, &req); err != nil {
		return "", err
	}
	id := req.SettlementID
	if id == "" {
		id = t.id
	}
	if err := checkIdent("settlementId", id, 128); err != nil {
		return "", err
	}
	buyer, err := t.account("buyer", req.Buyer)
	if err != nil {
		return "", err
	}
	seller, err := t.account("seller", req.Seller)
	if err != nil {
		return "", err
	}
	ins, err := t.instrument("symbol", req.Symbol)
	if err != nil {
		return "", err
	}
	if req.Currency != ins.Currency {
		return "", invalidArg("currency", "%q: %s trades in %s", req.Currency, ins.Symbol, ins.Currency)
	}
	if req.Quantity <= 0 {
		return "", invalidArg("quantity", "must be a positive number of lots")
	}
	if req.Price <= 0 {
		return "", invalidArg("price", "must be a positive number of ticks")
	}
	if req.Deadline == "" {
		return "", invalidArg("deadline", "required")
	}
	deadline, err := parseTime("deadline", req.Deadline)
	if err != nil {
		return "", err
	}
	if !deadline.After(t.now) {
		return "", invalidArg("deadline", "%s is not in the future", req.Deadline)
	}
	if req.Notary != "" {
		if err := checkIdent("notary", req.Notary, 64); err != nil {
			return "", err
		}
	}
	k := key(pAgreement, id)
	if old, err := t.get(k); err != nil {
		return "", err
	} else if old != nil {
		return "", conflict("settlement %s already exists", id)
	}
	a, err := settle.Propose(t.org, t.now, settle.Terms{
		ID: id, Buyer: settle.Party{Account: buyer.AccountID, Org: buyer.Org},
		Seller: settle.Party{Account: seller.AccountID, Org: seller.Org},
		Symbol: ins.Symbol, Quantity: req.Quantity, Price: req.Price, Currency: ins.Currency,
		CashPerLotTick: ins.CashPerLotTick, Deadline: deadline, AllowPartial: req.AllowPartial, Notary: req.Notary,
	})
	if err != nil {
		return "", settleErr(err)
	}
	if err := t.put(k, &a); err != nil {
		return "", err
	}
	t.pending[key(pAgrAccount, buyer.AccountID, id)] = []byte{'1'}
	t.pending[key(pAgrAccount, seller.AccountID, id)] = []byte{'1'}
	return t.finishAgreement(&a, settle.MsgProposed, nil)
}

func (t *txn) finishAgreement(a *settle.Agreement, action string, moves []settle.Movement) (string, error) {
	if moves == nil {
		moves = []settle.Movement{}
	}
	t.event("Settlement", &SettlementEvent{SettlementID: a.ID, Status: a.Status, Action: action, SenderOrg: t.org,
		Buyer: a.Buyer.Account, Seller: a.Seller.Account, Movements: moves, Time: t.now, TxID: t.id})
	if err := t.flush(); err != nil {
		return "", err
	}
	return jsonString(a)
}

// agreement loads an agreement (NOT_FOUND otherwise).
func (t *txn) agreement(id string) (*settle.Agreement, error) {
	if err := checkIdent("settlementId", id, 128); err != nil {
		return nil, err
	}
	a := &settle.Agreement{}
	ok, err := t.getJSON(key(pAgreement, id), a)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound("settlement %s does not exist", id)
	}
	return a, nil
}

// step runs one operation on a stored agreement and applies its movements.
func (s *Settlement) step(ctx contractapi.TransactionContextInterface, id, action string,
	op func(t *txn, a settle.Agreement) (settle.Agreement, []settle.Movement, error)) (string, error) {
	t, err := s.begin(ctx, onMarket)
	if err != nil {
		return "", err
	}
	a, err := t.agreement(id)
	if err != nil {
		return "", err
	}
	if !a.CanRead(t.org) {
		return "", forbidden("%s is not a party or the notary of settlement %s", t.org, id)
	}
	n, moves, err := op(t, *a)
	if err != nil {
		if ce := (*Error)(nil); errors.As(err, &ce) {
			return "", err
		}
		return "", settleErr(err)
	}
	if err := t.applyMoves(moves, refAgreement); err != nil {
		return "", err
	}
	if err := t.put(key(pAgreement, id), &n); err != nil {
		return "", err
	}
	return t.finishAgreement(&n, action, moves)
}

// Affirm accepts a proposed agreement: the org of the party that did not propose. Channel
// market; event "Settlement".
func (s *Settlement) Affirm(ctx contractapi.TransactionContextInterface, settlementID string) (string, error) {
	return s.step(ctx, settlementID, settle.MsgAffirmed, func(t *txn, a settle.Agreement) (settle.Agreement, []settle.Movement, error) {
		return a.Affirm(t.org, t.now)
	})
}

// Fund moves the caller org's leg (or part of it) from available into escrow: leg "seller",
// "buyer" or "" (the caller's leg; required when the org owns both accounts), quantity in lots
// ("" or "0": the rest of the leg; a part only when the agreement allows partial settlement).
// The funding that completes both legs settles in the same transaction unless a notary has yet
// to approve. Channel market; event "Settlement".
func (s *Settlement) Fund(ctx contractapi.TransactionContextInterface, settlementID, leg, quantity string) (string, error) {
	l, err := settle.ParseLeg(leg)
	if err != nil {
		return "", invalidArg("leg", "%q: must be seller, buyer or empty", leg)
	}
	q := int64(0)
	if quantity != "" && quantity != "0" {
		if q, err = parseAmount("quantity", quantity); err != nil {
			return "", err
		}
	}
	return s.step(ctx, settlementID, settle.MsgFunded, func(t *txn, a settle.Agreement) (settle.Agreement, []settle.Movement, error) {
		return a.Fund(t.org, t.now, l, q)
	})
}

// Approve records the notary's approval (the notary org only); settles if both legs are
// funded. Channel market; event "Settlement".
func (s *Settlement) Approve(ctx contractapi.TransactionContextInterface, settlementID string) (string, error) {
	return s.step(ctx, settlementID, settle.MsgApproved, func(t *txn, a settle.Agreement) (settle.Agreement, []settle.Movement, error) {
		return a.Approve(t.org, t.now)
	})
}

// Cancel cancels an open agreement before its deadline and refunds the funded legs; either
// party's org, until both legs are fully funded. reason is optional text. Channel market;
// event "Settlement".
func (s *Settlement) Cancel(ctx contractapi.TransactionContextInterface, settlementID, reason string) (string, error) {
	return s.step(ctx, settlementID, settle.MsgCancelled, func(t *txn, a settle.Agreement) (settle.Agreement, []settle.Movement, error) {
		return a.Cancel(t.org, t.now, reason)
	})
}

// Expire closes an agreement at or after its deadline: partial settlement when allowed, refund
// of the rest. The settle core lets any org expire; issue 5 says only the parties' orgs and the
// notary may act on an agreement, so this adapter refuses every other org (FORBIDDEN), the
// Regulator included (it reads, it does not act). Channel market; event "Settlement".
func (s *Settlement) Expire(ctx contractapi.TransactionContextInterface, settlementID string) (string, error) {
	return s.step(ctx, settlementID, settle.MsgExpired, func(t *txn, a settle.Agreement) (settle.Agreement, []settle.Movement, error) {
		if t.org != a.Buyer.Org && t.org != a.Seller.Org && (a.Notary == "" || t.org != a.Notary) {
			return settle.Agreement{}, nil, forbidden("only the parties' orgs and the notary may expire settlement %s", a.ID)
		}
		return a.Expire(t.org, t.now)
	})
}

// Get returns an agreement with its message thread. The parties' orgs, the notary and the
// Regulator; channel market.
func (s *Settlement) Get(ctx contractapi.TransactionContextInterface, settlementID string) (string, error) {
	t, err := s.beginQuery(ctx, onMarket)
	if err != nil {
		return "", err
	}
	a, err := t.agreement(settlementID)
	if err != nil {
		return "", err
	}
	if !a.CanRead(t.org) {
		return "", forbidden("%s may not read settlement %s", t.org, settlementID)
	}
	return jsonString(a)
}

// List returns the agreements of an account (its org or the Regulator), optionally only those
// in one status ("" = any), ordered by id. Channel market.
func (s *Settlement) List(ctx contractapi.TransactionContextInterface, accountID, status string) (string, error) {
	t, err := s.beginQuery(ctx, onMarket)
	if err != nil {
		return "", err
	}
	if _, err := t.readableAccount("account", accountID); err != nil {
		return "", err
	}
	if status != "" && !settle.Status(status).Valid() {
		return "", invalidArg("status", "%q is not PROPOSED, AFFIRMED, FUNDING, SETTLED, EXPIRED or CANCELLED", status)
	}
	rows, err := t.scanPrefix(prefix(pAgrAccount, accountID))
	if err != nil {
		return "", err
	}
	out := []*settle.Agreement{}
	for _, r := range rows {
		a, err := t.agreement(lastPart(r.Key))
		if err != nil {
			return "", err
		}
		if (status == "" || string(a.Status) == status) && a.CanRead(t.org) {
			out = append(out, a)
		}
	}
	return jsonString(out)
}
