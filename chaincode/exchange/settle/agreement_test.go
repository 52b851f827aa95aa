package settle

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// op is one operation of an agreement scenario.
type op struct {
	kind    string // affirm, fund, approve, cancel, expire
	org     string
	at      time.Duration // offset from t0
	leg     Leg
	qty     int64
	reason  string
	wantErr error
}

func affirm(org string) op { return op{kind: "affirm", org: org, at: time.Minute} }
func fund(org string, leg Leg, q int64) op {
	return op{kind: "fund", org: org, at: 2 * time.Minute, leg: leg, qty: q}
}
func approve(org string) op { return op{kind: "approve", org: org, at: 3 * time.Minute} }
func cancel(org string) op  { return op{kind: "cancel", org: org, at: 4 * time.Minute} }
func expire(org string) op  { return op{kind: "expire", org: org, at: time.Hour} }

func (o op) fails(err error) op      { o.wantErr = err; return o }
func (o op) when(d time.Duration) op { o.at = d; return o }
func (o op) because(r string) op     { o.reason = r; return o }
func (o op) run(a Agreement) (Agreement, []Movement, error) {
	now := t0.Add(o.at)
	switch o.kind {
	case "affirm":
		return a.Affirm(o.org, now)
	case "fund":
		return a.Fund(o.org, now, o.leg, o.qty)
	case "approve":
		return a.Approve(o.org, now)
	case "cancel":
		return a.Cancel(o.org, now, o.reason)
	case "expire":
		return a.Expire(o.org, now)
	}
	return Agreement{}, nil, errors.New("unknown op " + o.kind)
}

// outcome is what a scenario must end with: status, settled quantity and the net change of
// the parties' available balances.
type outcome struct {
	status                   Status
	settled                  int64
	buyerShares, buyerCash   int64
	sellerShares, sellerCash int64
	msgs                     []string
}

const (
	initShares = 1000
	initCash   = 1_000_000
	fullCash   = 100 * 250 * 2 // quantity × price × cashPerLotTick of baseTerms
)

func TestAgreementScenarios(t *testing.T) {
	withNotary := func(tm *Terms) { tm.Notary = thirdOrg }
	partial := func(tm *Terms) { tm.AllowPartial = true }
	sameOrg := func(tm *Terms) { tm.Seller.Org = buyerOrg }
	settledAll := outcome{status: StatusSettled, settled: 100, buyerShares: 100, buyerCash: -fullCash, sellerShares: -100, sellerCash: fullCash}
	untouched := func(s Status) outcome { return outcome{status: s} }

	tests := []struct {
		name     string
		terms    func(*Terms)
		proposer string
		ops      []op
		want     outcome
	}{
		{
			name: "happy path seller funds first",
			ops:  []op{affirm(sellerOrg), fund(sellerOrg, LegAuto, 0), fund(buyerOrg, LegAuto, 0)},
			want: func() outcome {
				o := settledAll
				o.msgs = []string{MsgProposed, MsgAffirmed, MsgFunded, MsgFunded, MsgSettled}
				return o
			}(),
		},
		{
			name: "happy path buyer funds first with explicit legs and full quantities",
			ops:  []op{affirm(sellerOrg), fund(buyerOrg, LegBuyer, 100), fund(sellerOrg, LegSeller, 100)},
			want: settledAll,
		},
		{
			name:     "seller proposes, buyer affirms",
			proposer: sellerOrg,
			ops:      []op{affirm(buyerOrg), fund(sellerOrg, LegAuto, 0), fund(buyerOrg, LegAuto, 0)},
			want:     settledAll,
		},
		{
			name:     "seller proposes, seller cannot affirm",
			proposer: sellerOrg,
			ops:      []op{affirm(sellerOrg).fails(ErrForbidden)},
			want:     untouched(StatusProposed),
		},
		{
			name: "proposer cannot affirm",
			ops:  []op{affirm(buyerOrg).fails(ErrForbidden)},
			want: untouched(StatusProposed),
		},
		{
			name: "third org cannot affirm",
			ops:  []op{affirm(thirdOrg).fails(ErrForbidden)},
			want: untouched(StatusProposed),
		},
		{
			name: "regulator cannot affirm",
			ops:  []op{affirm(RegulatorOrg).fails(ErrForbidden)},
			want: untouched(StatusProposed),
		},
		{
			name: "affirm twice",
			ops:  []op{affirm(sellerOrg), affirm(sellerOrg).fails(ErrWrongState)},
			want: untouched(StatusAffirmed),
		},
		{
			name: "affirm at the deadline",
			ops:  []op{affirm(sellerOrg).when(time.Hour).fails(ErrDeadlinePassed)},
			want: untouched(StatusProposed),
		},
		{
			name: "affirm just before the deadline",
			ops:  []op{affirm(sellerOrg).when(time.Hour - time.Nanosecond)},
			want: untouched(StatusAffirmed),
		},
		{
			name: "fund before affirm",
			ops:  []op{fund(sellerOrg, LegAuto, 0).fails(ErrWrongState)},
			want: untouched(StatusProposed),
		},
		{
			name: "third org cannot fund",
			ops:  []op{affirm(sellerOrg), fund(thirdOrg, LegAuto, 0).fails(ErrForbidden), fund(thirdOrg, LegSeller, 0).fails(ErrForbidden)},
			want: untouched(StatusAffirmed),
		},
		{
			name: "buyer org cannot fund the seller leg",
			ops:  []op{affirm(sellerOrg), fund(buyerOrg, LegSeller, 0).fails(ErrForbidden)},
			want: untouched(StatusAffirmed),
		},
		{
			name: "seller org cannot fund the buyer leg",
			ops:  []op{affirm(sellerOrg), fund(sellerOrg, LegBuyer, 0).fails(ErrForbidden)},
			want: untouched(StatusAffirmed),
		},
		{
			name: "unknown leg",
			ops:  []op{affirm(sellerOrg), fund(sellerOrg, Leg("BOTH"), 0).fails(ErrInvalidArgument)},
			want: untouched(StatusAffirmed),
		},
		{
			name: "negative quantity",
			ops:  []op{affirm(sellerOrg), fund(sellerOrg, LegAuto, -1).fails(ErrInvalidArgument)},
			want: untouched(StatusAffirmed),
		},
		{
			name: "fund more than the leg",
			ops:  []op{affirm(sellerOrg), fund(sellerOrg, LegAuto, 101).fails(ErrExceedsLeg)},
			want: untouched(StatusAffirmed),
		},
		{
			name: "fund a funded leg",
			ops:  []op{affirm(sellerOrg), fund(sellerOrg, LegAuto, 0), fund(sellerOrg, LegAuto, 0).fails(ErrLegFunded)},
			want: outcome{status: StatusFunding, sellerShares: -100},
		},
		{
			name: "fund at the deadline",
			ops:  []op{affirm(sellerOrg), fund(sellerOrg, LegAuto, 0).when(time.Hour).fails(ErrDeadlinePassed)},
			want: untouched(StatusAffirmed),
		},
		{
			name:  "same org owns both accounts: affirms its own proposal, must name the leg",
			terms: sameOrg,
			ops: []op{
				affirm(buyerOrg), fund(buyerOrg, LegAuto, 0).fails(ErrAmbiguousLeg),
				fund(buyerOrg, LegSeller, 0), fund(buyerOrg, LegBuyer, 0),
			},
			want: settledAll,
		},
		{
			name: "buyer never funds: expire refunds the seller",
			ops:  []op{affirm(sellerOrg), fund(sellerOrg, LegAuto, 0), expire(buyerOrg)},
			want: outcome{status: StatusExpired, msgs: []string{MsgProposed, MsgAffirmed, MsgFunded, MsgExpired, MsgRefunded}},
		},
		{
			name: "seller never funds: anyone expires, buyer refunded",
			ops:  []op{affirm(sellerOrg), fund(buyerOrg, LegAuto, 0), expire(thirdOrg).when(2 * time.Hour)},
			want: untouched(StatusExpired),
		},
		{
			name: "expire a proposal nobody affirmed",
			ops:  []op{expire(sellerOrg)},
			want: outcome{status: StatusExpired, msgs: []string{MsgProposed, MsgExpired}},
		},
		{
			name: "expire before the deadline",
			ops:  []op{affirm(sellerOrg), expire(sellerOrg).when(time.Hour - time.Nanosecond).fails(ErrDeadlineNotReached)},
			want: untouched(StatusAffirmed),
		},
		{
			name: "double expire",
			ops:  []op{affirm(sellerOrg), fund(sellerOrg, LegAuto, 0), expire(buyerOrg), expire(sellerOrg).fails(ErrClosed)},
			want: untouched(StatusExpired),
		},
		{
			name: "partial funding without allowPartial",
			ops:  []op{affirm(sellerOrg), fund(sellerOrg, LegAuto, 60).fails(ErrPartialNotAllowed), fund(buyerOrg, LegBuyer, 1).fails(ErrPartialNotAllowed)},
			want: untouched(StatusAffirmed),
		},
		{
			name:  "partial funding allowed, completed in parts: settles on completion",
			terms: partial,
			ops: []op{
				affirm(sellerOrg), fund(sellerOrg, LegAuto, 30), fund(buyerOrg, LegAuto, 100),
				fund(sellerOrg, LegAuto, 71).fails(ErrExceedsLeg), fund(sellerOrg, LegAuto, 70),
			},
			want: settledAll,
		},
		{
			name:  "partial allowed, seller short: settle what both cover at the deadline",
			terms: partial,
			ops:   []op{affirm(sellerOrg), fund(sellerOrg, LegAuto, 60), fund(buyerOrg, LegAuto, 0), expire(thirdOrg)},
			want: outcome{
				status: StatusSettled, settled: 60, buyerShares: 60, buyerCash: -60 * 500, sellerShares: -60, sellerCash: 60 * 500,
				msgs: []string{MsgProposed, MsgAffirmed, MsgFunded, MsgFunded, MsgExpired, MsgSettled, MsgRefunded},
			},
		},
		{
			name:  "partial allowed, buyer short: the rest of the shares go back",
			terms: partial,
			ops:   []op{affirm(sellerOrg), fund(sellerOrg, LegAuto, 0), fund(buyerOrg, LegAuto, 25), fund(buyerOrg, LegAuto, 15), expire(sellerOrg)},
			want:  outcome{status: StatusSettled, settled: 40, buyerShares: 40, buyerCash: -40 * 500, sellerShares: -40, sellerCash: 40 * 500},
		},
		{
			name:  "partial allowed, exact cover: nothing to refund",
			terms: partial,
			ops:   []op{affirm(sellerOrg), fund(sellerOrg, LegAuto, 10), fund(buyerOrg, LegAuto, 10), expire(sellerOrg)},
			want: outcome{
				status: StatusSettled, settled: 10, buyerShares: 10, buyerCash: -5000, sellerShares: -10, sellerCash: 5000,
				msgs: []string{MsgProposed, MsgAffirmed, MsgFunded, MsgFunded, MsgExpired, MsgSettled},
			},
		},
		{
			name:  "partial allowed, only one leg funded: expired, refunded",
			terms: partial,
			ops:   []op{affirm(sellerOrg), fund(sellerOrg, LegAuto, 10), expire(sellerOrg)},
			want:  untouched(StatusExpired),
		},
		{
			name:  "notary approves after full funding: settles on approval",
			terms: withNotary,
			ops:   []op{affirm(sellerOrg), fund(sellerOrg, LegAuto, 0), fund(buyerOrg, LegAuto, 0), approve(thirdOrg)},
			want: func() outcome {
				o := settledAll
				o.msgs = []string{MsgProposed, MsgAffirmed, MsgFunded, MsgFunded, MsgApproved, MsgSettled}
				return o
			}(),
		},
		{
			name:  "notary approves first: settles when funding completes",
			terms: withNotary,
			ops:   []op{affirm(sellerOrg), approve(thirdOrg).when(time.Minute), fund(sellerOrg, LegAuto, 0), fund(buyerOrg, LegAuto, 0)},
			want:  settledAll,
		},
		{
			name:  "notary withholds approval: expiry refunds both legs",
			terms: withNotary,
			ops: []op{
				affirm(sellerOrg), fund(sellerOrg, LegAuto, 0), fund(buyerOrg, LegAuto, 0),
				cancel(buyerOrg).fails(ErrFullyFunded), cancel(sellerOrg).fails(ErrFullyFunded),
				expire(sellerOrg),
			},
			want: outcome{status: StatusExpired, msgs: []string{MsgProposed, MsgAffirmed, MsgFunded, MsgFunded, MsgExpired, MsgRefunded}},
		},
		{
			name:  "notary withholds approval with partial allowed: no partial settlement",
			terms: func(tm *Terms) { withNotary(tm); partial(tm) },
			ops:   []op{affirm(sellerOrg), fund(sellerOrg, LegAuto, 50), fund(buyerOrg, LegAuto, 50), expire(sellerOrg)},
			want:  untouched(StatusExpired),
		},
		{
			name:  "notary approved with partial allowed: partial settlement at the deadline",
			terms: func(tm *Terms) { withNotary(tm); partial(tm) },
			ops:   []op{affirm(sellerOrg), approve(thirdOrg), fund(sellerOrg, LegAuto, 50), fund(buyerOrg, LegAuto, 20), expire(sellerOrg)},
			want:  outcome{status: StatusSettled, settled: 20, buyerShares: 20, buyerCash: -20 * 500, sellerShares: -20, sellerCash: 20 * 500},
		},
		{
			name:  "party orgs cannot approve",
			terms: withNotary,
			ops:   []op{affirm(sellerOrg), approve(buyerOrg).fails(ErrForbidden), approve(sellerOrg).fails(ErrForbidden), approve(RegulatorOrg).fails(ErrForbidden)},
			want:  untouched(StatusAffirmed),
		},
		{
			name: "approve without a notary",
			ops:  []op{affirm(sellerOrg), approve(thirdOrg).fails(ErrNoNotary)},
			want: untouched(StatusAffirmed),
		},
		{
			name:  "approve twice",
			terms: withNotary,
			ops:   []op{affirm(sellerOrg), approve(thirdOrg), approve(thirdOrg).fails(ErrAlreadyApproved)},
			want:  untouched(StatusAffirmed),
		},
		{
			name:  "approve before affirm",
			terms: withNotary,
			ops:   []op{approve(thirdOrg).fails(ErrWrongState)},
			want:  untouched(StatusProposed),
		},
		{
			name:  "approve at the deadline",
			terms: withNotary,
			ops:   []op{affirm(sellerOrg), fund(sellerOrg, LegAuto, 0), fund(buyerOrg, LegAuto, 0), approve(thirdOrg).when(time.Hour).fails(ErrDeadlinePassed)},
			want:  outcome{status: StatusFunding, buyerCash: -fullCash, sellerShares: -100},
		},
		{
			name: "cancel a proposal by the counterparty",
			ops:  []op{cancel(sellerOrg).because("price moved")},
			want: outcome{status: StatusCancelled, msgs: []string{MsgProposed, MsgCancelled}},
		},
		{
			name: "cancel after one leg funded refunds it",
			ops:  []op{affirm(sellerOrg), fund(sellerOrg, LegAuto, 0), cancel(buyerOrg)},
			want: outcome{status: StatusCancelled, msgs: []string{MsgProposed, MsgAffirmed, MsgFunded, MsgCancelled, MsgRefunded}},
		},
		{
			name:  "cancel after partial funding of both legs refunds both",
			terms: partial,
			ops:   []op{affirm(sellerOrg), fund(sellerOrg, LegAuto, 99), fund(buyerOrg, LegAuto, 99), cancel(sellerOrg)},
			want:  untouched(StatusCancelled),
		},
		{
			name:  "notary and third orgs cannot cancel",
			terms: withNotary,
			ops:   []op{affirm(sellerOrg), cancel(thirdOrg).fails(ErrForbidden), cancel(RegulatorOrg).fails(ErrForbidden)},
			want:  untouched(StatusAffirmed),
		},
		{
			name: "cancel at the deadline: use expire",
			ops:  []op{affirm(sellerOrg), fund(sellerOrg, LegAuto, 0), cancel(buyerOrg).when(time.Hour).fails(ErrDeadlinePassed), expire(buyerOrg)},
			want: untouched(StatusExpired),
		},
		{
			name: "cancel reason with a control character",
			ops:  []op{cancel(buyerOrg).because("bad\x00reason").fails(ErrInvalidArgument)},
			want: untouched(StatusProposed),
		},
		{
			name: "cancel reason not UTF-8",
			ops:  []op{cancel(buyerOrg).because("bad\xffreason").fails(ErrInvalidArgument)},
			want: untouched(StatusProposed),
		},
		{
			name: "cancel reason too long",
			ops:  []op{cancel(buyerOrg).because(strings.Repeat("x", MaxTextLen+1)).fails(ErrInvalidArgument)},
			want: untouched(StatusProposed),
		},
		{
			name: "double refund: cancel twice, expire after cancel",
			ops: []op{
				affirm(sellerOrg), fund(sellerOrg, LegAuto, 0), cancel(buyerOrg),
				cancel(buyerOrg).fails(ErrClosed), expire(buyerOrg).fails(ErrClosed),
			},
			want: untouched(StatusCancelled),
		},
		{
			name: "double settle and fund after close are rejected",
			ops: []op{
				affirm(sellerOrg), fund(sellerOrg, LegAuto, 0), fund(buyerOrg, LegAuto, 0),
				fund(buyerOrg, LegAuto, 0).fails(ErrClosed), fund(sellerOrg, LegSeller, 1).fails(ErrClosed),
				affirm(sellerOrg).fails(ErrClosed), cancel(buyerOrg).fails(ErrClosed),
				expire(thirdOrg).fails(ErrClosed), approve(thirdOrg).fails(ErrClosed),
			},
			want: settledAll,
		},
		{
			name:  "double settle with a notary: second approval on a settled agreement",
			terms: withNotary,
			ops:   []op{affirm(sellerOrg), fund(sellerOrg, LegAuto, 0), fund(buyerOrg, LegAuto, 0), approve(thirdOrg), approve(thirdOrg).fails(ErrClosed)},
			want:  settledAll,
		},
		{
			name:  "fund after a partial settlement at the deadline",
			terms: partial,
			ops:   []op{affirm(sellerOrg), fund(sellerOrg, LegAuto, 5), fund(buyerOrg, LegAuto, 5), expire(sellerOrg), fund(sellerOrg, LegAuto, 5).when(2 * time.Hour).fails(ErrClosed)},
			want:  outcome{status: StatusSettled, settled: 5, buyerShares: 5, buyerCash: -2500, sellerShares: -5, sellerCash: 2500},
		},
		{
			name: "empty caller org",
			ops:  []op{affirm("").fails(ErrInvalidArgument), expire("").fails(ErrInvalidArgument)},
			want: untouched(StatusProposed),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tm := baseTerms()
			if tc.terms != nil {
				tc.terms(&tm)
			}
			proposer := tc.proposer
			if proposer == "" {
				proposer = buyerOrg
			}
			a, err := Propose(proposer, t0, tm)
			if err != nil {
				t.Fatalf("Propose: %v", err)
			}
			l := newLedger()
			l.set(tm.Seller.Account, sym, initShares)
			l.set(tm.Buyer.Account, ccy, initCash)
			for i, o := range tc.ops {
				before := cloneAgreement(a)
				got, moves, err := o.run(a)
				if !reflect.DeepEqual(a, before) {
					t.Fatalf("op %d (%s) modified its input", i, o.kind)
				}
				if o.wantErr != nil {
					if !errors.Is(err, o.wantErr) {
						t.Fatalf("op %d (%s by %s): error %v, want %v", i, o.kind, o.org, err, o.wantErr)
					}
					if moves != nil || !reflect.DeepEqual(got, Agreement{}) {
						t.Fatalf("op %d (%s): failed op returned a value or movements", i, o.kind)
					}
					continue
				}
				if err != nil {
					t.Fatalf("op %d (%s by %s): %v", i, o.kind, o.org, err)
				}
				if err := got.Validate(); err != nil {
					t.Fatalf("op %d (%s): result invalid: %v", i, o.kind, err)
				}
				if err := l.apply(moves); err != nil {
					t.Fatalf("op %d (%s): %v", i, o.kind, err)
				}
				if n := len(got.Messages); n <= len(a.Messages) || got.Messages[n-1].Time != t0.Add(o.at).UTC() {
					t.Fatalf("op %d (%s): no message appended at the operation time", i, o.kind)
				}
				a = got
			}
			w := tc.want
			if a.Status != w.status || a.SettledQuantity != w.settled {
				t.Fatalf("status %s settled %d, want %s %d", a.Status, a.SettledQuantity, w.status, w.settled)
			}
			if c, _ := a.Cash(a.SettledQuantity); a.SettledCash != c {
				t.Fatalf("settledCash %d, want %d", a.SettledCash, c)
			}
			gotNet := [4]int64{
				l.avail(tm.Buyer.Account, sym), l.avail(tm.Buyer.Account, ccy) - initCash,
				l.avail(tm.Seller.Account, sym) - initShares, l.avail(tm.Seller.Account, ccy),
			}
			wantNet := [4]int64{w.buyerShares, w.buyerCash, w.sellerShares, w.sellerCash}
			if a.Status.Closed() && gotNet != wantNet {
				t.Fatalf("available net changes (buyer shares, buyer cash, seller shares, seller cash) = %v, want %v", gotNet, wantNet)
			}
			if !a.Status.Closed() {
				// Open: what is not available is in this agreement's escrow.
				if l.escrow(a.ID, tm.Seller.Account, sym) != a.SellerFundedQuantity || l.escrow(a.ID, tm.Buyer.Account, ccy) != a.BuyerFundedCash {
					t.Fatalf("escrow does not match funded amounts")
				}
			} else if l.escrow(a.ID, tm.Seller.Account, sym) != 0 || l.escrow(a.ID, tm.Buyer.Account, ccy) != 0 {
				t.Fatalf("closed agreement left assets in escrow")
			}
			if l.total(sym) != initShares || l.total(ccy) != initCash {
				t.Fatalf("conservation broken: %d %s, %d %s", l.total(sym), sym, l.total(ccy), ccy)
			}
			if w.msgs != nil && !slices.Equal(msgTypes(a.Messages), w.msgs) {
				t.Fatalf("thread %v, want %v", msgTypes(a.Messages), w.msgs)
			}
		})
	}
}

func TestPropose(t *testing.T) {
	tests := []struct {
		name    string
		org     string
		now     time.Time
		mod     func(*Terms)
		wantErr error
	}{
		{name: "buyer proposes", org: buyerOrg},
		{name: "seller proposes", org: sellerOrg},
		{name: "with notary and partial", org: buyerOrg, mod: func(tm *Terms) { tm.Notary = thirdOrg; tm.AllowPartial = true }},
		{name: "third org", org: thirdOrg, wantErr: ErrForbidden},
		{name: "regulator", org: RegulatorOrg, wantErr: ErrForbidden},
		{name: "empty caller", org: "", wantErr: ErrInvalidArgument},
		{name: "zero time", org: buyerOrg, now: time.Time{}, wantErr: ErrInvalidArgument},
		{name: "empty id", org: buyerOrg, mod: func(tm *Terms) { tm.ID = "" }, wantErr: ErrInvalidArgument},
		{name: "id with space", org: buyerOrg, mod: func(tm *Terms) { tm.ID = "a b" }, wantErr: ErrInvalidArgument},
		{name: "id with NUL", org: buyerOrg, mod: func(tm *Terms) { tm.ID = "a\x00b" }, wantErr: ErrInvalidArgument},
		{name: "id with U+10FFFF", org: buyerOrg, mod: func(tm *Terms) { tm.ID = "a\U0010FFFF" }, wantErr: ErrInvalidArgument},
		{name: "id invalid UTF-8", org: buyerOrg, mod: func(tm *Terms) { tm.ID = "a\xff" }, wantErr: ErrInvalidArgument},
		{name: "id too long", org: buyerOrg, mod: func(tm *Terms) { tm.ID = strings.Repeat("a", MaxIDLen+1) }, wantErr: ErrInvalidArgument},
		{name: "id at max length", org: buyerOrg, mod: func(tm *Terms) { tm.ID = strings.Repeat("a", MaxIDLen) }},
		{name: "empty buyer account", org: buyerOrg, mod: func(tm *Terms) { tm.Buyer.Account = "" }, wantErr: ErrInvalidArgument},
		{name: "empty seller org", org: buyerOrg, mod: func(tm *Terms) { tm.Seller.Org = "" }, wantErr: ErrInvalidArgument},
		{name: "same account", org: buyerOrg, mod: func(tm *Terms) { tm.Seller.Account = buyerAcc }, wantErr: ErrInvalidArgument},
		{name: "empty symbol", org: buyerOrg, mod: func(tm *Terms) { tm.Symbol = "" }, wantErr: ErrInvalidArgument},
		{name: "empty currency", org: buyerOrg, mod: func(tm *Terms) { tm.Currency = "" }, wantErr: ErrInvalidArgument},
		{name: "symbol equals currency", org: buyerOrg, mod: func(tm *Terms) { tm.Currency = sym }, wantErr: ErrInvalidArgument},
		{name: "zero quantity", org: buyerOrg, mod: func(tm *Terms) { tm.Quantity = 0 }, wantErr: ErrInvalidArgument},
		{name: "negative quantity", org: buyerOrg, mod: func(tm *Terms) { tm.Quantity = -1 }, wantErr: ErrInvalidArgument},
		{name: "zero price", org: buyerOrg, mod: func(tm *Terms) { tm.Price = 0 }, wantErr: ErrInvalidArgument},
		{name: "negative price", org: buyerOrg, mod: func(tm *Terms) { tm.Price = -5 }, wantErr: ErrInvalidArgument},
		{name: "zero multiplier", org: buyerOrg, mod: func(tm *Terms) { tm.CashPerLotTick = 0 }, wantErr: ErrInvalidArgument},
		{name: "cash overflows", org: buyerOrg, mod: func(tm *Terms) { tm.Quantity = math.MaxInt64 / 2; tm.Price = 3 }, wantErr: ErrOverflow},
		{name: "cash overflows in the multiplier", org: buyerOrg, mod: func(tm *Terms) { tm.Quantity = 1 << 31; tm.Price = 1 << 31; tm.CashPerLotTick = 2 }, wantErr: ErrOverflow},
		{name: "cash at the int64 limit", org: buyerOrg, mod: func(tm *Terms) { tm.Quantity = math.MaxInt64; tm.Price = 1; tm.CashPerLotTick = 1 }},
		{name: "deadline now", org: buyerOrg, mod: func(tm *Terms) { tm.Deadline = t0 }, wantErr: ErrInvalidArgument},
		{name: "deadline past", org: buyerOrg, mod: func(tm *Terms) { tm.Deadline = t0.Add(-time.Second) }, wantErr: ErrInvalidArgument},
		{name: "deadline missing", org: buyerOrg, mod: func(tm *Terms) { tm.Deadline = time.Time{} }, wantErr: ErrInvalidArgument},
		{name: "notary is the buyer org", org: buyerOrg, mod: func(tm *Terms) { tm.Notary = buyerOrg }, wantErr: ErrInvalidArgument},
		{name: "notary is the seller org", org: buyerOrg, mod: func(tm *Terms) { tm.Notary = sellerOrg }, wantErr: ErrInvalidArgument},
		{name: "notary with a space", org: buyerOrg, mod: func(tm *Terms) { tm.Notary = "Org 3" }, wantErr: ErrInvalidArgument},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tm := baseTerms()
			if tc.mod != nil {
				tc.mod(&tm)
			}
			now := t0
			if tc.name == "zero time" {
				now = tc.now
			}
			a, err := Propose(tc.org, now, tm)
			wantErrIs(t, err, tc.wantErr)
			if err != nil {
				if !reflect.DeepEqual(a, Agreement{}) {
					t.Fatalf("failed Propose returned %+v", a)
				}
				return
			}
			if err := a.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if a.Status != StatusProposed || a.ProposerOrg != tc.org || len(a.Messages) != 1 || a.Messages[0].SenderOrg != tc.org {
				t.Fatalf("unexpected proposal %+v", a)
			}
			if want, _ := cashFor(tm.Quantity, tm.Price, tm.CashPerLotTick); a.CashAmount != want {
				t.Fatalf("cashAmount %d, want %d", a.CashAmount, want)
			}
			if a.Deadline.Location() != time.UTC || a.Messages[0].Time.Location() != time.UTC {
				t.Fatalf("times not stored in UTC")
			}
		})
	}
}

// proposedFunded returns an agreement in FUNDING with the seller leg funded.
func proposedFunded(t *testing.T, mod func(*Terms)) Agreement {
	t.Helper()
	tm := baseTerms()
	if mod != nil {
		mod(&tm)
	}
	a, err := Propose(buyerOrg, t0, tm)
	if err != nil {
		t.Fatal(err)
	}
	if a, _, err = a.Affirm(sellerOrg, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if a, _, err = a.Fund(sellerOrg, t0.Add(2*time.Minute), LegAuto, 0); err != nil {
		t.Fatal(err)
	}
	return a
}

func TestCorruptAgreementRejected(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Agreement)
	}{
		{"unknown status", func(a *Agreement) { a.Status = "DONE" }},
		{"lowercase status", func(a *Agreement) { a.Status = "funding" }},
		{"funded above quantity", func(a *Agreement) { a.SellerFundedQuantity = 101 }},
		{"negative funding", func(a *Agreement) { a.BuyerFundedQuantity = -1 }},
		{"buyer cash mismatch", func(a *Agreement) { a.BuyerFundedCash = 1 }},
		{"cash amount mismatch", func(a *Agreement) { a.CashAmount++ }},
		{"partial funding without allowPartial", func(a *Agreement) { a.SellerFundedQuantity = 50 }},
		{"funded while affirmed", func(a *Agreement) { a.Status = StatusAffirmed }},
		{"funding with nothing funded", func(a *Agreement) { a.SellerFundedQuantity = 0 }},
		{"settled quantity while open", func(a *Agreement) { a.SettledQuantity = 1; a.SettledCash = 500 }},
		{"approved without notary", func(a *Agreement) { a.NotaryApproved = true }},
		{"proposer not a party", func(a *Agreement) { a.ProposerOrg = thirdOrg }},
		{"no thread", func(a *Agreement) { a.Messages = nil }},
		{"bad id", func(a *Agreement) { a.ID = "" }},
		{"same accounts", func(a *Agreement) { a.Buyer.Account = sellerAcc }},
		{"notary is party", func(a *Agreement) { a.Notary = buyerOrg }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := proposedFunded(t, nil)
			tc.mod(&a)
			if err := a.Validate(); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Validate = %v, want ErrCorrupt", err)
			}
			now := t0.Add(3 * time.Minute)
			ops := []func() (Agreement, []Movement, error){
				func() (Agreement, []Movement, error) { return a.Affirm(sellerOrg, now) },
				func() (Agreement, []Movement, error) { return a.Fund(buyerOrg, now, LegAuto, 0) },
				func() (Agreement, []Movement, error) { return a.Approve(thirdOrg, now) },
				func() (Agreement, []Movement, error) { return a.Cancel(buyerOrg, now, "") },
				func() (Agreement, []Movement, error) { return a.Expire(buyerOrg, t0.Add(2*time.Hour)) },
			}
			for i, f := range ops {
				if _, ms, err := f(); !errors.Is(err, ErrCorrupt) || ms != nil {
					t.Fatalf("op %d: error %v, movements %v; want ErrCorrupt and none", i, err, ms)
				}
			}
		})
	}
	t.Run("settled with nothing settled", func(t *testing.T) {
		a := proposedFunded(t, nil)
		a.Status = StatusSettled
		if err := a.Validate(); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Validate = %v", err)
		}
	})
}

func TestAgreementCanRead(t *testing.T) {
	a := proposedFunded(t, func(tm *Terms) { tm.Notary = thirdOrg })
	plain := proposedFunded(t, nil)
	tests := []struct {
		a    Agreement
		org  string
		want bool
	}{
		{a, buyerOrg, true}, {a, sellerOrg, true}, {a, thirdOrg, true}, {a, RegulatorOrg, true},
		{a, "Org4MSP", false}, {a, "", false},
		{plain, thirdOrg, false}, {plain, RegulatorOrg, true},
	}
	for _, tc := range tests {
		if got := tc.a.CanRead(tc.org); got != tc.want {
			t.Errorf("CanRead(%q) with notary %q = %t, want %t", tc.org, tc.a.Notary, got, tc.want)
		}
	}
}

func TestParseLeg(t *testing.T) {
	for in, want := range map[string]Leg{"": LegAuto, "seller": LegSeller, "SELLER": LegSeller, "Buyer": LegBuyer} {
		if got, err := ParseLeg(in); err != nil || got != want {
			t.Errorf("ParseLeg(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"both", " seller", "s"} {
		if _, err := ParseLeg(in); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("ParseLeg(%q) error %v", in, err)
		}
	}
}

func TestAgreementJSON(t *testing.T) {
	a := proposedFunded(t, func(tm *Terms) { tm.Notary = thirdOrg; tm.AllowPartial = true })
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{
		`"settlementId":"agr-1"`, `"status":"FUNDING"`, `"buyer":{"account":"acc-buyer","org":"Org1MSP"}`,
		`"proposerOrg":`, `"cashPerLotTick":2`, `"cashAmount":50000`, `"deadline":"2025-03-14T10:00:00Z"`,
		`"allowPartial":true`, `"notary":"Org3MSP"`, `"notaryApproved":false`, `"sellerFundedQuantity":100`,
		`"buyerFundedQuantity":0`, `"buyerFundedCash":0`, `"settledQuantity":0`, `"settledCash":0`,
		`"messages":[{"type":"PROPOSED","senderOrg":"Org1MSP","time":"2025-03-14T09:00:00Z"`,
	} {
		if !strings.Contains(string(b), key) {
			t.Errorf("JSON lacks %s:\n%s", key, b)
		}
	}
	var back Agreement
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, a) {
		t.Fatalf("round trip changed the agreement:\n%+v\n%+v", back, a)
	}
	// Same operation on the original and the reloaded value gives byte-identical results, as
	// endorsing peers must.
	x, mx, err1 := a.Fund(buyerOrg, t0.Add(5*time.Minute), LegAuto, 7)
	y, my, err2 := back.Fund(buyerOrg, t0.Add(5*time.Minute), LegAuto, 7)
	jx, _ := json.Marshal(x)
	jy, _ := json.Marshal(y)
	if err1 != nil || err2 != nil || string(jx) != string(jy) || !reflect.DeepEqual(mx, my) {
		t.Fatalf("non-deterministic result: %v %v", err1, err2)
	}
}

func TestArithmetic(t *testing.T) {
	if _, err := mul(math.MaxInt64, 2); !errors.Is(err, ErrOverflow) {
		t.Error("mul overflow not caught")
	}
	if v, err := mul(math.MaxInt64, 1); err != nil || v != math.MaxInt64 {
		t.Error("mul at limit")
	}
	if v, err := mul(0, math.MaxInt64); err != nil || v != 0 {
		t.Error("mul by zero")
	}
	if _, err := mul(-1, 2); !errors.Is(err, ErrInvalidArgument) {
		t.Error("mul negative")
	}
	if _, err := add(math.MaxInt64, 1); !errors.Is(err, ErrOverflow) {
		t.Error("add overflow not caught")
	}
	if v, err := add(math.MaxInt64-1, 1); err != nil || v != math.MaxInt64 {
		t.Error("add at limit")
	}
	if _, err := add(1, -1); !errors.Is(err, ErrInvalidArgument) {
		t.Error("add negative")
	}
}
