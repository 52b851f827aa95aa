package settle

import (
	"fmt"
	"slices"
	"time"
)

// Bucket is where an account holds an asset.
type Bucket string

const (
	// Available is the account's freely usable balance.
	Available Bucket = "AVAILABLE"
	// Escrow is the balance the account has locked into the agreement or HTLC named by the
	// movement's Ref; only that agreement or HTLC moves it out again.
	Escrow Bucket = "ESCROW"
)

// Location is one balance: an account's bucket (escrow buckets are scoped by Movement.Ref).
type Location struct {
	Account string `json:"account"`
	Bucket  Bucket `json:"bucket"`
}

// Reason says why a movement happens.
type Reason string

const (
	// ReasonFund locks a party's asset into escrow (agreement funding, HTLC lock).
	ReasonFund Reason = "FUND"
	// ReasonDeliver moves escrowed shares (or the HTLC asset) to the counterparty.
	ReasonDeliver Reason = "DELIVER"
	// ReasonPay moves escrowed cash to the seller.
	ReasonPay Reason = "PAY"
	// ReasonRefund returns escrowed assets to the account that funded them.
	ReasonRefund Reason = "REFUND"
)

// Movement moves Amount (> 0) of Asset from one location to another. Shares are counted in
// lots and cash in minor units. The adapter applies it by debiting From and crediting To; it
// must fail the whole transaction if a debit would make a balance negative.
type Movement struct {
	// Ref is the id of the agreement or HTLC; it scopes the Escrow buckets of this movement.
	Ref    string   `json:"ref"`
	Reason Reason   `json:"reason"`
	Asset  string   `json:"asset"`
	Amount int64    `json:"amount"`
	From   Location `json:"from"`
	To     Location `json:"to"`
}

// Posting is one signed side of a movement: a debit (Delta < 0) or a credit (Delta > 0) of one
// balance. Ref is set only for escrow balances.
type Posting struct {
	Ref     string `json:"ref,omitempty"`
	Account string `json:"account"`
	Bucket  Bucket `json:"bucket"`
	Asset   string `json:"asset"`
	Delta   int64  `json:"delta"`
}

// Postings expands movements into their debits and credits, in order (debit then credit of
// each movement). The deltas of each asset sum to zero.
func Postings(ms []Movement) []Posting {
	out := make([]Posting, 0, 2*len(ms))
	for _, m := range ms {
		out = append(out,
			posting(m, m.From, -m.Amount),
			posting(m, m.To, m.Amount))
	}
	return out
}

func posting(m Movement, l Location, delta int64) Posting {
	p := Posting{Account: l.Account, Bucket: l.Bucket, Asset: m.Asset, Delta: delta}
	if l.Bucket == Escrow {
		p.Ref = m.Ref
	}
	return p
}

// CheckMovements verifies the shape of movements: positive amounts, known buckets, distinct
// endpoints and a non-empty ref and asset. Movements returned by this package always pass; the
// adapter may call it as a cheap guard before applying them.
func CheckMovements(ms []Movement) error {
	for i, m := range ms {
		switch {
		case m.Amount <= 0:
			return fmt.Errorf("%w: movement %d has amount %d", ErrInvalidArgument, i, m.Amount)
		case m.Ref == "" || m.Asset == "":
			return fmt.Errorf("%w: movement %d lacks ref or asset", ErrInvalidArgument, i)
		case !m.From.Bucket.valid() || !m.To.Bucket.valid():
			return fmt.Errorf("%w: movement %d has an unknown bucket", ErrInvalidArgument, i)
		case m.From == m.To:
			return fmt.Errorf("%w: movement %d goes nowhere", ErrInvalidArgument, i)
		}
	}
	return nil
}

func (b Bucket) valid() bool { return b == Available || b == Escrow }

// Message is one entry of the settlement thread of an agreement or HTLC: who did what, when.
type Message struct {
	Type      string    `json:"type"`
	SenderOrg string    `json:"senderOrg"`
	Time      time.Time `json:"time"`
	Details   string    `json:"details,omitempty"`
}

// Message types of the settlement threads.
const (
	MsgProposed  = "PROPOSED"
	MsgAffirmed  = "AFFIRMED"
	MsgFunded    = "FUNDED"
	MsgApproved  = "APPROVED"
	MsgSettled   = "SETTLED"
	MsgRefunded  = "REFUNDED"
	MsgCancelled = "CANCELLED"
	MsgExpired   = "EXPIRED"
	MsgLocked    = "LOCKED"
	MsgClaimed   = "CLAIMED"
)

// appendMsg returns a copy of thread with one more message; it never writes into the backing
// array of thread, so the value the caller passed in stays untouched.
func appendMsg(thread []Message, typ, org string, now time.Time, details string) []Message {
	out := slices.Grow(slices.Clone(thread), 1)
	return append(out, Message{Type: typ, SenderOrg: org, Time: stamp(now), Details: details})
}
