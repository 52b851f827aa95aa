package contract

import (
	"encoding/json"
	"strings"
)

// baseBalance is the balance record of one (account, asset) that only the owner org's
// transactions write. The true balance is the base plus every pending delta.
type baseBalance struct {
	Available int64 `json:"available"`
	Reserved  int64 `json:"reserved"`
	Deposited int64 `json:"deposited"`
	Withdrawn int64 `json:"withdrawn"`
}

// delta is a change of one (account, asset) written by a transaction that must not touch the
// owner's base record (Match, settlement, HTLC). Match deltas never lower Available (they
// credit fills and release reservations), so an owner's transaction that finds enough in the
// base alone never needs to read them.
type delta struct {
	Available int64 `json:"available"`
	Reserved  int64 `json:"reserved"`
}

// escrowAmount is what an account holds in escrow for one agreement or HTLC.
type escrowAmount struct {
	Amount int64 `json:"amount"`
}

// Balance is the public view of one asset of an account.
type Balance struct {
	Available int64 `json:"available"`
	Reserved  int64 `json:"reserved"`
	Escrowed  int64 `json:"escrowed"`
}

// base loads the base balance of (acct, asset) once per transaction.
func (t *txn) base(acct, asset string) (*baseBalance, error) {
	k := key(pBalance, acct, asset)
	if b, ok := t.bases[k]; ok {
		return b, nil
	}
	b := &baseBalance{}
	if _, err := t.getJSON(k, b); err != nil {
		return nil, err
	}
	t.bases[k] = b
	return b, nil
}

// fold adds the committed deltas of (acct, asset) to its base and deletes them. Only
// the owner's transactions fold, and only when the base alone is not enough; a Match that
// commits a new delta meanwhile invalidates the folding transaction (phantom read), never the
// Match, and the owner retries.
func (t *txn) fold(acct, asset string) error {
	k := key(pBalance, acct, asset)
	if t.folded[k] {
		return nil
	}
	b, err := t.base(acct, asset)
	if err != nil {
		return err
	}
	// Deltas beyond the peer's query limit stay for a later fold.
	p := prefix(pDelta, acct, asset)
	ds, err := t.scanFirst(p, prefixEnd(p))
	if err != nil {
		return err
	}
	for _, r := range ds {
		var d delta
		if err := json.Unmarshal(r.Value, &d); err != nil {
			return internal("decode %s: %v", r.Key, err)
		}
		av, ok1 := addI(b.Available, d.Available)
		rs, ok2 := addI(b.Reserved, d.Reserved)
		if !ok1 || !ok2 || av < 0 || rs < 0 {
			return internal("balance %s %s: delta %s breaks the balance", acct, asset, r.Key)
		}
		b.Available, b.Reserved = av, rs
		t.del(r.Key)
	}
	t.folded[k] = true
	return nil
}

// debit takes amount (> 0) from the available balance of (acct, asset), folding deltas if the
// base is not enough; INSUFFICIENT_FUNDS if the balance is still too small.
func (t *txn) debit(acct, asset string, amount int64) (*baseBalance, error) {
	b, err := t.base(acct, asset)
	if err != nil {
		return nil, err
	}
	if b.Available < amount {
		if err := t.fold(acct, asset); err != nil {
			return nil, err
		}
	}
	if b.Available < amount {
		return nil, newErr(CodeInsufficientFunds, "account %s has %d %s available, %d needed", acct, b.Available, asset, amount)
	}
	b.Available -= amount
	return b, nil
}

// reserve moves amount from available to reserved in the base balance.
func (t *txn) reserve(acct, asset string, amount int64) error {
	b, err := t.debit(acct, asset, amount)
	if err != nil {
		return err
	}
	r, ok := addI(b.Reserved, amount)
	if !ok {
		return invalidArg("quantity", "reservation overflows")
	}
	b.Reserved = r
	return nil
}

// credit records a delta of (acct, asset) to be written under this transaction's id.
func (t *txn) credit(acct, asset string, available, reserved int64) error {
	k := key(acct, asset)
	d := t.credits[k]
	if d == nil {
		d = &delta{}
		t.credits[k] = d
	}
	av, ok1 := addI(d.Available, available)
	rs, ok2 := addI(d.Reserved, reserved)
	if !ok1 || !ok2 {
		return internal("delta of %s %s overflows", acct, asset)
	}
	d.Available, d.Reserved = av, rs
	return nil
}

// escrow loads the escrow of (acct, asset, ref) once per transaction.
func (t *txn) escrow(acct, asset, ref string) (*escrowAmount, error) {
	k := key(pEscrow, acct, asset, ref)
	if e, ok := t.escrows[k]; ok {
		return e, nil
	}
	e := &escrowAmount{}
	if _, err := t.getJSON(k, e); err != nil {
		return nil, err
	}
	t.escrows[k] = e
	return e, nil
}

// balances computes the public balances of an account: base + deltas, and escrows.
func (t *txn) balances(acct string) (map[string]*Balance, error) {
	out := map[string]*Balance{}
	at := func(asset string) *Balance {
		b := out[asset]
		if b == nil {
			b = &Balance{}
			out[asset] = b
		}
		return b
	}
	bases, err := t.scanPrefix(prefix(pBalance, acct))
	if err != nil {
		return nil, err
	}
	for _, r := range bases {
		var b baseBalance
		if err := json.Unmarshal(r.Value, &b); err != nil {
			return nil, internal("decode %s: %v", r.Key, err)
		}
		v := at(lastPart(r.Key))
		v.Available += b.Available
		v.Reserved += b.Reserved
	}
	ds, err := t.scanPrefix(prefix(pDelta, acct))
	if err != nil {
		return nil, err
	}
	for _, r := range ds {
		var d delta
		if err := json.Unmarshal(r.Value, &d); err != nil {
			return nil, internal("decode %s: %v", r.Key, err)
		}
		parts := strings.Split(r.Key, sep) // dl ACCT ASSET TXID
		v := at(parts[2])
		v.Available += d.Available
		v.Reserved += d.Reserved
	}
	es, err := t.scanPrefix(prefix(pEscrow, acct))
	if err != nil {
		return nil, err
	}
	for _, r := range es {
		var e escrowAmount
		if err := json.Unmarshal(r.Value, &e); err != nil {
			return nil, internal("decode %s: %v", r.Key, err)
		}
		parts := strings.Split(r.Key, sep) // esc ACCT ASSET REF
		at(parts[2]).Escrowed += e.Amount
	}
	return out, nil
}
